// A ledger row deleted by hand, through the dynamic-provider host: after `pulumi refresh` (read) the state's
// ledger lacks the row, and the offline diff must give the engine's reading (`missing-from-ledger`, with its
// fix) rather than call the file a migration to apply (a lost last row) or a new one out of order (a lost
// middle row); `up` refuses with the engine's message and runs nothing. Once the fix's statements put the row
// back, a preview whose check reaches the database shows no change without a refresh (check carries its
// reading to the diff); one whose check cannot reach it still refuses with the recorded reading, until a refresh
// records the row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { HostCallError, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const CASES = [
  {
    where: "last",
    lost: "20250101000300_gadgets",
    engine:
      "it is after the ledger's last row, but the schema snapshot was recorded after 20250101000300_gadgets",
  },
  {
    where: "middle",
    lost: "20250101000200_widget_color",
    engine: "the ledger's row ids skip where its row stood, so its row was deleted",
  },
] as const;

async function ledgerNames(db: ReleaseDatabase): Promise<string[]> {
  return withClient(db.superuserUrl, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      "SELECT name FROM neonhub_release.migrations ORDER BY id",
    );
    return rows.map((row) => row.name);
  });
}

/** The statements of the engine's fix that put the row back (a set_config and an INSERT). */
function restoreStatements(fix: string): string {
  const match = /(SELECT set_config\(.*?\);) (INSERT INTO .*?;)/.exec(fix);
  if (!match) throw new Error(`no restore statements in: ${fix}`);
  return `${match[1]} ${match[2]}`;
}

describe.each(CASES)("a $where ledger row deleted by hand, after a refresh", ({ where, lost, engine }) => {
  const URN = urnOf("migrations", `lost-${where}-migrations`);
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Props;
  let id: string;
  let state: Props;
  let applied: string[];

  beforeAll(async () => {
    db = await createReleaseDatabase();
    inputs = (await releaseInputsFor(`lost-${where}`, db, { migrationsDir: fixtureMigrationsCopy() }))
      .migrations;
    host = await hostReaching(db);
    const created = await host.create(URN, inputs);
    id = created.id;
    applied = await ledgerNames(db);
    await withClient(db.superuserUrl, (client) =>
      client.query("DELETE FROM neonhub_release.migrations WHERE name = $1", [lost]),
    );
    state = (await host.read(URN, id, created.properties)).properties;
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("records the ledger as it is and the engine's reading of the lost row", () => {
    expect(Object.keys(state.migrations as Props)).toEqual(applied.filter((name) => name !== lost));
    const rows = state.lostLedgerRows as { kind: string; migration: string; message: string; fix: string }[];
    expect(rows.map((row) => [row.kind, row.migration])).toEqual([["missing-from-ledger", lost]]);
    expect(rows[0]!.message).toContain(engine);
  });

  it("diff refuses the file as missing from the ledger with the engine's fix, as check does with the database", async () => {
    const checked = await host.check(URN, inputs, inputs);
    expect(checked.failures).toHaveLength(1);
    const engineReading = checked.failures[0]!.reason;
    expect(engineReading).toContain(`Migration ${lost}.sql is missing from the ledger`);

    const refused = await host.diff(URN, id, state, inputs).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(HostCallError);
    const message = (refused as HostCallError).message;
    expect(message).toContain(`Migration ${lost}.sql is missing from the ledger`);
    expect(message).toContain(engine);
    expect(message).not.toMatch(/is new but ordered before|migration to apply/);
    // The same message and fix as the engine's plan (check joins them with "fix:").
    expect(message).toContain(engineReading.replace(" fix: ", " "));
    expect(message).toContain("this preview did not read it");
    // The refresh of the stack the program runs for (the mock runtime's `test`): the selected one may be another.
    expect(message).toContain(
      "a preview that reaches the database sees it, and `pulumi refresh --stack test` records it",
    );

    // Check's own reading, carried in the inputs, refuses the same: the engine's, not the recorded one.
    const fresh = await host.diff(URN, id, state, checked.inputs).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(checked.inputs.ledgerReading).toEqual({ lostRows: state.lostLedgerRows, pending: [] });
    expect((fresh as HostCallError).message).toContain(engineReading.replace(" fix: ", " "));
    expect((fresh as HostCallError).message).not.toContain("this preview did not read it");
  });

  it("up refuses with the engine's message, runs nothing, and records the reading", async () => {
    const failure = await host.update(URN, id, state, inputs).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HostCallError);
    const { message, initFailure } = failure as HostCallError;
    expect(message).toContain(`Migration ${lost}.sql is missing from the ledger`);
    expect(message).toContain("fix: Put its row back only if its changes are in the database");
    expect(await ledgerNames(db)).toEqual(applied.filter((name) => name !== lost));
    expect(initFailure?.properties.lostLedgerRows).toEqual(state.lostLedgerRows);
    expect(host.output()).not.toContain(db.password);
  });

  it("shows no change once the fix's statements put the row back, without a refresh, when check reads the ledger", async () => {
    const [row] = state.lostLedgerRows as { fix: string }[];
    await withClient(db.migratorUrl, (client) => client.query(restoreStatements(row!.fix)));
    expect(await ledgerNames(db)).toEqual(applied);
    const checked = await host.check(URN, inputs, inputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.ledgerReading).toEqual({ lostRows: [], pending: [] });
    // The state still records the row as lost: check's reading is what tells the diff it is back.
    expect(state.lostLedgerRows).toHaveLength(1);
    expect(await host.diff(URN, id, state, checked.inputs)).toEqual({ changes: "none", replaces: [] });
  });

  it("still refuses with the recorded reading when check cannot reach the database, and drops a stale reading", async () => {
    const url = new URL(String(inputs.databaseUrl));
    url.password = "not-the-password";
    const stale = { lostRows: [], pending: [] };
    const news = { ...inputs, databaseUrl: url.toString(), ledgerReading: stale };
    const checked = await host.check(URN, inputs, news);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).not.toHaveProperty("ledgerReading");
    await host.waitFor(/schema migrations on \S+: warning: ledger not checked/);
    const refused = await host.diff(URN, id, state, checked.inputs).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(HostCallError);
    expect((refused as HostCallError).message).toContain(`Migration ${lost}.sql is missing from the ledger`);
    expect((refused as HostCallError).message).toContain("this preview did not read it");
    expect(host.output()).not.toContain(db.password);
    expect(host.output()).not.toContain("not-the-password");
  });

  it("records the row at the next refresh, and the diff shows no change without check's reading", async () => {
    const refreshed = (await host.read(URN, id, state)).properties;
    expect(refreshed.lostLedgerRows).toEqual([]);
    expect(refreshed.drift).toEqual([]);
    expect(await host.diff(URN, id, refreshed, inputs)).toEqual({ changes: "none", replaces: [] });
  });
});
