// Upgrades keep data: release N (the project's migrations and the demo seed set) applied by the migrator as
// the owner, realistic data written by the app login (organizations, documents and chunks with embeddings,
// conversations, campaigns and metrics), then release N+1, which adds columns (one backfilled and made NOT
// NULL) and widens one. Every table keeps every row, and each row's old columns read exactly as before; the
// new columns hold what the migrations say; the app finds the same nearest chunks and can write the new
// columns.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { tableSum, userTables, type TableSum } from "../support/db-fingerprint";
import { writeMigration } from "../support/fixtures";
import { migrationsCopy } from "../support/kill-points";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { APP_SPACE, embedding, nearestChunks, writeAppData } from "./support/app-data";
import { cliJson } from "./support/release-state";

const SHAPE = {
  organizations: 3,
  chunksPerOrganization: 40,
  messagesPerOrganization: 12,
  metricsPerOrganization: 24,
};

/** Release N+1: the project's migrations and three more. */
const NEXT_RELEASE: [string, string][] = [
  [
    "20990101000100_organization_billing.sql",
    `ALTER TABLE "Organization" ADD COLUMN "billingEmail" text;
ALTER TABLE "Organization" ADD COLUMN "seats" integer NOT NULL DEFAULT 5;`,
  ],
  [
    "20990101000200_chunk_token_count.sql",
    `ALTER TABLE "Chunk" ADD COLUMN "tokenCount" integer;
UPDATE "Chunk" SET "tokenCount" = ceil(length("text") / 4.0)::integer;
ALTER TABLE "Chunk" ALTER COLUMN "tokenCount" SET NOT NULL;`,
  ],
  ["20990101000300_chunk_idx_bigint.sql", `ALTER TABLE "Chunk" ALTER COLUMN "idx" TYPE bigint;`],
];

interface TableState {
  columns: string[];
  sum: TableSum;
}

/** Every public table's columns and the checksum of its rows over them. */
async function tableStates(client: Client): Promise<Map<string, TableState>> {
  const states = new Map<string, TableState>();
  for (const [schema, table] of await userTables(client)) {
    if (schema !== "public") continue;
    const columns = await client.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [`"${table}"`],
    );
    const names = columns.rows.map((r) => r.name);
    states.set(table, { columns: names, sum: await tableSum(client, schema, table, names) });
  }
  return states;
}

describe("release N to N+1 with the app's data in between", () => {
  let db: TestDatabase;
  let roles: AccessRoles;
  let app: Client | undefined;
  const next = migrationsCopy(DEFAULT_MIGRATIONS_DIR);
  for (const [file, sql] of NEXT_RELEASE) writeMigration(next, file, sql);

  beforeAll(async () => {
    db = await createTestDatabase("upgrade");
    roles = await createAccessRoles(db);
  });
  afterAll(async () => {
    await app?.end();
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
    rmSync(next, { recursive: true, force: true });
  });

  const release = (dir: string) =>
    cliJson("apply", roles.url("migrator"), [
      "--owner-role",
      roles.names.owner,
      "--seed",
      "demo",
      "--migrations-dir",
      dir,
    ]);

  it("keeps every row and every old value, and fills the new columns as the migrations say", async () => {
    const n = await release(DEFAULT_MIGRATIONS_DIR);
    expect(n.code, n.stderr).toBe(0);
    app = await roles.connect("app");
    const organizations = await withClient(roles.url("migrator"), (migrator) =>
      writeAppData(app!, SHAPE, migrator),
    );
    const query = embedding("the query", "rel-org-0-topic-1");
    const nearestBefore = await nearestChunks(app, organizations[0]!, query);
    expect(nearestBefore).toHaveLength(5);
    const before = await withClient(db.url, (c) => tableStates(c as Client));
    expect(before.get("Chunk")!.sum.rows).toBeGreaterThanOrEqual(
      SHAPE.organizations * SHAPE.chunksPerOrganization,
    );
    expect(before.get("Message")!.sum.rows).toBeGreaterThanOrEqual(
      SHAPE.organizations * SHAPE.messagesPerOrganization,
    );

    const upgrade = await release(next);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(upgrade.value.migrations.map((m) => `${m.name}.sql`)).toEqual(NEXT_RELEASE.map(([file]) => file));

    await withClient(db.url, async (c) => {
      // No table lost, no row lost or added, no old value changed (idx reads the same as a bigint).
      const tables = (await userTables(c)).filter(([schema]) => schema === "public").map(([, t]) => t);
      expect(tables.sort()).toEqual([...before.keys()].sort());
      for (const [table, state] of before) {
        expect(await tableSum(c, "public", table, state.columns), table).toEqual(state.sum);
      }
      // The new columns, exactly as intended.
      const org = await c.query(
        `SELECT count(*)::int AS n FROM "Organization" WHERE "seats" = 5 AND "billingEmail" IS NULL`,
      );
      expect(org.rows[0].n).toBe(before.get("Organization")!.sum.rows);
      const tokens = await c.query(
        `SELECT count(*) FILTER (WHERE "tokenCount" = ceil(length("text") / 4.0))::int AS right, count(*)::int AS n FROM "Chunk"`,
      );
      expect(tokens.rows[0]).toEqual({
        right: before.get("Chunk")!.sum.rows,
        n: before.get("Chunk")!.sum.rows,
      });
      const type = await c.query(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '"Chunk"'::regclass AND attname = 'idx'`,
      );
      expect(type.rows[0].t).toBe("bigint");
    });

    // The app, on the same connection it had before the upgrade, finds the same chunks and writes the new columns.
    expect(await nearestChunks(app, organizations[0]!, query)).toEqual(nearestBefore);
    await app.query("BEGIN");
    await app.query("SELECT set_config('app.current_organization_id', $1, true)", [organizations[0]]);
    await app.query(
      `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding", "tokenCount")
       VALUES ('rel-after-upgrade', $1, $2, $3, 5000000000, 'written after the upgrade', $4, 5)`,
      [`${organizations[0]}-dataset`, APP_SPACE.id, `${organizations[0]}-doc`, embedding("after", "after")],
    );
    await app.query(`UPDATE "Organization" SET "seats" = 12 WHERE "id" = $1`, [organizations[0]]);
    await app.query("COMMIT");

    const verify = await runCli(["verify", "--migrations-dir", next], {
      DATABASE_URL: roles.url("migrator"),
    });
    expect(verify.code, verify.stdout).toBe(0);
    const plan = await cliJson("plan", roles.url("migrator"), ["--seed", "demo", "--migrations-dir", next]);
    expect(plan.value.migrations.pending).toEqual([]);
    expect(plan.value.seedSets).toEqual([expect.objectContaining({ name: "demo", action: "unchanged" })]);
  });
});
