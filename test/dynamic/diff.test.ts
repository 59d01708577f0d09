// The offline diff on its own: what `pulumi preview` reports for each kind of change, and what it refuses.
import { describe, expect, it } from "vitest";
import { diffRelease, sameChecksum } from "../../infra/dynamic/diff";
import { parseInputs } from "../../infra/dynamic/inputs";
import { UNKNOWN, type ResolvedInputs, type ResolvedOutputs } from "../../infra/dynamic/types";

const sum = (c: string) => c.repeat(64);
const URL = "postgresql://neonhub_migrator:S3cretPw@127.0.0.1:54329/neonhub?sslmode=disable";
const SETTINGS = {
  database: "neonhub",
  ownerRole: "neonhub_owner",
  migrationsDir: "migrations",
  steps: { seedSets: ["demo"] },
  lockTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  dropOnDelete: false,
  stack: "dev",
};

function migrationsInputs(
  migrations: Record<string, string>,
  extra: Partial<ResolvedInputs> = {},
): ResolvedInputs {
  return { ...SETTINGS, part: "migrations", databaseUrl: URL, migrations, rowLevelSecurity: {}, ...extra };
}

function recorded(extra: Partial<ResolvedOutputs>): Partial<ResolvedOutputs> {
  return {
    ...SETTINGS,
    part: "migrations",
    target: "127.0.0.1:54329/neonhub",
    connection: "postgresql://neonhub_migrator@127.0.0.1:54329/neonhub?sslmode=disable",
    migrations: {},
    rowLevelSecurity: {},
    ...extra,
  };
}

/** The engine's reading of a ledger row deleted by hand, as check or the last read recorded it. */
const lost = (migration: string) => ({
  kind: "missing-from-ledger" as const,
  migration,
  message: `Migration ${migration}.sql is missing from the ledger (neonhub_release.migrations): its row was deleted.`,
  fix: "Put its row back only if its changes are in the database: INSERT ...",
});

describe("diffRelease", () => {
  const applied = { "20250101000100_a": sum("a"), "20250101000200_b": sum("b") };

  it("reports nothing when the files are what the ledger records", () => {
    expect(diffRelease(recorded({ migrations: applied }), migrationsInputs(applied))).toEqual({
      changes: false,
      replaces: [],
      lines: [],
      refusals: [],
    });
  });

  it("lists pending migrations by name", () => {
    const news = { ...applied, "20250101000300_c": sum("c"), "20250101000400_d": sum("d") };
    const diff = diffRelease(recorded({ migrations: applied }), migrationsInputs(news));
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual([]);
    expect(diff.lines).toEqual(["2 migrations to apply: 20250101000300_c, 20250101000400_d"]);
  });

  it("refuses a changed, a deleted or an out-of-order migration, naming each", () => {
    const news = { "20250101000100_a": sum("e"), "20250101000150_late": sum("f") };
    const { refusals } = diffRelease(recorded({ migrations: applied }), migrationsInputs(news));
    expect(refusals).toHaveLength(3);
    expect(refusals[0]).toMatch(/20250101000100_a\.sql was changed after it was applied/);
    expect(refusals[1]).toMatch(/20250101000200_b\.sql was applied but its file is gone/);
    expect(refusals[2]).toMatch(/20250101000150_late\.sql is new but ordered before .*20250101000200_b/);
  });

  it("refuses a migration whose row the last read found deleted with the engine's reading, not as pending or out of order", () => {
    const files = { ...applied, "20250101000300_c": sum("c") };
    // The last row lost: without the recorded reading, it would read as a migration to apply.
    const lastLost = diffRelease(
      recorded({ migrations: { "20250101000100_a": sum("a") }, lostLedgerRows: [lost("20250101000200_b")] }),
      migrationsInputs(applied),
    );
    expect(lastLost.lines).toEqual([]);
    expect(lastLost.refusals).toEqual([
      "Migration 20250101000200_b.sql is missing from the ledger (neonhub_release.migrations): its row was deleted. " +
        "Put its row back only if its changes are in the database: INSERT ... " +
        "(As the last `pulumi up` or `pulumi refresh` read the ledger; this preview did not read it. Once the row is back, " +
        "a preview that reaches the database sees it, and `pulumi refresh --stack dev` records it.)",
    ]);
    // Inputs of a program older than the stack's name in them: the refresh names `<stack>`, and which it is.
    const { stack: _stack, ...unnamed } = migrationsInputs(applied);
    const placeholder = diffRelease(
      recorded({ migrations: { "20250101000100_a": sum("a") }, lostLedgerRows: [lost("20250101000200_b")] }),
      unnamed,
    );
    expect(placeholder.refusals[0]).toContain(
      "and `pulumi refresh --stack <stack>` (<stack> is the stack `pulumi preview` (or `pulumi up`) runs for: ",
    );
    // A middle row lost: without it, it would read as out of order.
    const ledger = { "20250101000100_a": sum("a"), "20250101000300_c": sum("c") };
    const middle = diffRelease(
      recorded({ migrations: ledger, lostLedgerRows: [lost("20250101000200_b")] }),
      migrationsInputs(files),
    );
    expect(middle.refusals).toHaveLength(1);
    expect(middle.refusals[0]).toMatch(/^Migration 20250101000200_b\.sql is missing from the ledger/);
    // Renamed after the fix's other branch (a new migration after all): it is pending, the reading is moot.
    const renamed = { ...ledger, "20250101000400_b": sum("b") };
    const after = diffRelease(
      recorded({ migrations: ledger, lostLedgerRows: [lost("20250101000200_b")] }),
      migrationsInputs(renamed),
    );
    expect(after).toMatchObject({ refusals: [], lines: ["1 migration to apply: 20250101000400_b"] });
  });

  describe("with the ledger as check read it", () => {
    const files = { ...applied, "20250101000300_c": sum("c") };
    const lastLost = recorded({
      migrations: { "20250101000100_a": sum("a") },
      lostLedgerRows: [lost("20250101000200_b")],
    });
    const middleLost = recorded({
      migrations: { "20250101000100_a": sum("a"), "20250101000300_c": sum("c") },
      lostLedgerRows: [lost("20250101000200_b")],
    });

    it("shows no change for a row the state recorded as lost that check found back, last or in the middle", () => {
      const healthy = { lostRows: [], pending: [] };
      expect(diffRelease(lastLost, migrationsInputs(applied, { ledgerReading: healthy }))).toMatchObject({
        changes: false,
        refusals: [],
      });
      expect(diffRelease(middleLost, migrationsInputs(files, { ledgerReading: healthy }))).toMatchObject({
        changes: false,
        refusals: [],
      });
    });

    it("shows a migration to apply when check found the lost row's migration pending, not back", () => {
      const diff = diffRelease(
        lastLost,
        migrationsInputs(applied, { ledgerReading: { lostRows: [], pending: ["20250101000200_b"] } }),
      );
      expect(diff).toMatchObject({ refusals: [], lines: ["1 migration to apply: 20250101000200_b"] });
    });

    it("refuses with check's reading of a row still lost, without calling it the recorded one", () => {
      const diff = diffRelease(
        lastLost,
        migrationsInputs(applied, { ledgerReading: { lostRows: [lost("20250101000200_b")], pending: [] } }),
      );
      expect(diff.refusals).toEqual([
        "Migration 20250101000200_b.sql is missing from the ledger (neonhub_release.migrations): its row was deleted. " +
          "Put its row back only if its changes are in the database: INSERT ...",
      ]);
    });

    it("leaves a migration applied outside Pulumi to apply, so that up records it", () => {
      const diff = diffRelease(
        recorded({ migrations: { "20250101000100_a": sum("a") } }),
        migrationsInputs(applied, { ledgerReading: { lostRows: [], pending: [] } }),
      );
      expect(diff.lines).toEqual(["1 migration to apply: 20250101000200_b"]);
    });

    it("refuses a ledgerReading that is not check's", () => {
      const malformed = [
        { lostRows: "none", pending: [] },
        { lostRows: [{ kind: "changed" }], pending: [] },
        [],
      ];
      for (const ledgerReading of malformed) {
        const { failures } = parseInputs(
          { ...migrationsInputs(applied), ledgerReading },
          { allowUnknown: true },
        );
        expect(failures.map((f) => f.property)).toEqual(["ledgerReading"]);
      }
    });
  });

  it("replaces only for another database or server, never for new credentials", () => {
    const state = recorded({ migrations: applied });
    const otherDb = migrationsInputs(applied, {
      database: "neonhub2",
      databaseUrl: URL.replace("/neonhub?", "/neonhub2?"),
    });
    expect(diffRelease(state, otherDb).replaces).toEqual(["database"]);
    const otherHost = migrationsInputs(applied, { databaseUrl: URL.replace("127.0.0.1", "127.0.0.2") });
    expect(diffRelease(state, otherHost).replaces).toEqual(["databaseUrl"]);
    const rotated = migrationsInputs(applied, { databaseUrl: URL.replace("S3cretPw", "N3wPassword") });
    expect(diffRelease(state, rotated).changes).toBe(false);
  });

  it("says the target is checked during the update when the connection string is not known yet", () => {
    const diff = diffRelease(
      recorded({ migrations: applied }),
      migrationsInputs(applied, { databaseUrl: UNKNOWN }),
    );
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    expect(diff.lines[0]).toMatch(/known after the access layer's update/);
  });

  it("reports changed settings, but not step options that leave the part's manifests as they are", () => {
    const state = recorded({ migrations: applied });
    const diff = diffRelease(
      state,
      migrationsInputs(applied, { ownerRole: "other_owner", dropOnDelete: true }),
    );
    expect(diff.lines).toEqual(['ownerRole: "neonhub_owner" → "other_owner"', "dropOnDelete: false → true"]);
    const seedsOnly = migrationsInputs(applied, { steps: { seedSets: [] } });
    expect(diffRelease(state, seedsOnly).changes).toBe(false);
  });

  it("shows a new or changed seed set, and rows a refresh found changed by hand", () => {
    const state: Partial<ResolvedOutputs> = {
      ...recorded({}),
      part: "seedSets",
      seedSets: { demo: sum("1").slice(0, 12) },
      pending: [
        { step: "seedSets", name: "demo", action: "update", reason: "rows were changed in the database" },
      ],
    };
    const base = { ...SETTINGS, part: "seedSets" as const, databaseUrl: URL };
    expect(diffRelease(state, { ...base, seedSets: { demo: sum("1") } }).lines).toEqual([
      "seed set demo: update (rows were changed in the database)",
    ]);
    expect(diffRelease(state, { ...base, seedSets: { demo: sum("2"), extra: sum("3") } }).lines).toEqual([
      `seed set demo: update (definition changed: ${sum("1").slice(0, 12)} → ${sum("2").slice(0, 12)})`,
      "seed set extra: create",
    ]);
  });
});

describe("diffRelease with the vector-index plan check put in the inputs", () => {
  const name = "idx_chunk_embedding_cosine";
  const state: Partial<ResolvedOutputs> = {
    ...recorded({}),
    part: "vectorIndexes",
    vectorIndexes: { [name]: sum("1") },
    pending: [{ step: "vectorIndexes", name, action: "update", reason: "what the last refresh found" }],
  };
  const base = {
    ...SETTINGS,
    part: "vectorIndexes" as const,
    databaseUrl: URL,
    vectorIndexes: { [name]: sum("1") },
  };

  it("reports each pending decision, in place of what the last refresh found", () => {
    const work = [`${name}: rebuild (table grew from 5 to 20,005 rows: lists 1 is below the target)`];
    expect(diffRelease(state, { ...base, pendingIndexWork: work })).toMatchObject({
      changes: true,
      lines: [`vector index ${work[0]}`],
    });
  });

  it("reports the database's search default set again under its own name, not as an index", () => {
    const work = [
      "database default ivfflat.probes: update (not set for database neonhub (a pg_dump restore or a CREATE DATABASE ... TEMPLATE copy leaves the database's settings behind): set to …)",
    ];
    expect(diffRelease(state, { ...base, pendingIndexWork: work })).toMatchObject({
      changes: true,
      lines: [work[0]],
    });
  });

  it("reports nothing when the plan has nothing pending, whatever an older refresh recorded", () => {
    expect(diffRelease(state, { ...base, pendingIndexWork: [] }).changes).toBe(false);
  });

  it("falls back to what the last refresh found when check could not ask the database", () => {
    expect(diffRelease(state, base).lines).toEqual([
      `vector index ${name}: update (what the last refresh found)`,
    ]);
  });

  it("names a changed definition once, even when the plan also rebuilds it", () => {
    const work = [`${name}: rebuild (method ivfflat -> hnsw: …)`];
    expect(
      diffRelease(state, { ...base, vectorIndexes: { [name]: sum("2") }, pendingIndexWork: work }).lines,
    ).toEqual([
      `vector index ${name}: update (definition changed: ${sum("1").slice(0, 12)} → ${sum("2").slice(0, 12)})`,
    ]);
  });

  it("refuses a pendingIndexWork that is not a list of lines", () => {
    const { failures } = parseInputs({ ...base, pendingIndexWork: "rebuild" }, { allowUnknown: true });
    expect(failures.map((f) => f.property)).toEqual(["pendingIndexWork"]);
  });
});

describe("sameChecksum", () => {
  const full = "0123456789abcdef".repeat(4);
  const oneCharOff = `${full.slice(0, 63)}0`;

  it("compares full checksums whole: one character changed anywhere is a change", () => {
    expect(sameChecksum(full, full)).toBe(true);
    expect(sameChecksum(full, oneCharOff)).toBe(false);
    expect(sameChecksum(`1${full.slice(1)}`, full)).toBe(false);
    expect(sameChecksum(sum("a"), sum("b"))).toBe(false);
    expect(sameChecksum(undefined, sum("b"))).toBe(false);
  });

  it("matches a legacy 12-character value the state recorded with the full one's start, and nothing else", () => {
    expect(sameChecksum(full.slice(0, 12), full)).toBe(true);
    expect(sameChecksum(full.slice(0, 12), oneCharOff)).toBe(true);
    expect(sameChecksum(oneCharOff.slice(0, 12), sum("b"))).toBe(false);
    // Only the recorded side may be legacy, and only 12 hex characters: no other prefix passes.
    expect(sameChecksum(full, full.slice(0, 12))).toBe(false);
    expect(sameChecksum(full.slice(0, 8), full)).toBe(false);
    expect(sameChecksum(full.slice(0, 20), full)).toBe(false);
  });
});

describe("diffRelease on full checksums", () => {
  const full = "0123456789abcdef".repeat(4);
  const state = (seedSets: Record<string, string>): Partial<ResolvedOutputs> => ({
    ...SETTINGS,
    part: "seedSets",
    target: "127.0.0.1:54329/neonhub",
    connection: "postgresql://neonhub_migrator@127.0.0.1:54329/neonhub?sslmode=disable",
    seedSets,
  });
  const inputs = (seedSets: Record<string, string>): ResolvedInputs => ({
    ...SETTINGS,
    part: "seedSets",
    databaseUrl: URL,
    seedSets,
  });

  it("shows a seed set whose checksum changed in its last character, shortened only in the line", () => {
    const changed = `${full.slice(0, 63)}0`;
    const diff = diffRelease(state({ demo: full }), inputs({ demo: changed }));
    expect(diff.changes).toBe(true);
    // Both start alike: the display is as long as it takes to tell them apart, the comparison was whole.
    expect(diff.lines).toEqual([`seed set demo: update (definition changed: ${full} → ${changed})`]);
  });

  it("refuses a migration whose checksum changed in its last character, naming both checksums", () => {
    const name = "20250101000100_a";
    const diff = diffRelease(
      { ...state({}), part: "migrations", migrations: { [name]: full }, rowLevelSecurity: {} },
      {
        ...inputs({}),
        part: "migrations",
        migrations: { [name]: `${full.slice(0, 63)}0` },
        rowLevelSecurity: {},
      },
    );
    expect(diff.refusals).toHaveLength(1);
    expect(diff.refusals[0]).toContain(`${name}.sql was changed after it was applied.`);
    expect(diff.refusals[0]).toContain(`Checksum applied ${full}, file now ${full.slice(0, 63)}0.`);
  });

  it("keeps a legacy 12-character seed-set checksum in the state quiet until the next update records the full one", () => {
    expect(diffRelease(state({ demo: full.slice(0, 12) }), inputs({ demo: full })).changes).toBe(false);
    expect(diffRelease(state({ demo: full.slice(0, 12) }), inputs({ demo: sum("b") })).lines).toEqual([
      `seed set demo: update (definition changed: ${full.slice(0, 12)} → ${sum("b").slice(0, 12)})`,
    ]);
  });
});

describe("parseInputs", () => {
  it("names each invalid property and lets preview's unknown values through", () => {
    const { failures } = parseInputs(
      { part: "migrations", databaseUrl: "mysql://u:s3cret@x", migrations: { a: "nope" }, lockTimeoutMs: -1 },
      { allowUnknown: true },
    );
    expect(failures.map((f) => f.property)).toEqual([
      // The secret connection string is named in the reason: Pulumi prints a named property's value.
      "",
      "database",
      "ownerRole",
      "migrationsDir",
      "steps",
      "lockTimeoutMs",
      "connectTimeoutMs",
      "dropOnDelete",
      "migrations",
      "rowLevelSecurity",
    ]);
    expect(failures[0]?.reason).toBe(
      "databaseUrl must be a postgresql:// connection string (the migrator's, from the access layer)",
    );
    expect(JSON.stringify(failures)).not.toContain("s3cret");
    const unknown = parseInputs(
      { ...migrationsInputs({}), databaseUrl: UNKNOWN, database: UNKNOWN, ownerRole: UNKNOWN },
      { allowUnknown: true },
    );
    expect(unknown.failures).toEqual([]);
  });
});
