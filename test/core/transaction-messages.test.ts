// A migration's transaction (BEGIN, its SQL, its ledger row, COMMIT) sent as one message: the same statements
// with the same outcome as one by one, a failure anywhere in it leaves nothing committed and reaches the
// caller with its position relative to the statement it points into. A Down section's BEGIN and the statements
// after it sent as one message, its SQL on its own: a failure among them leaves the transaction aborted.
import type { ClientBase, QueryResult } from "pg";
import { describe, expect, it } from "vitest";
import { applyRelease, isReleaseError } from "../../core";
import {
  withOneMessagePerTransaction,
  type OneMessageHolds,
} from "../../core/migrations/transaction-messages";
import { withUtf16Positions } from "../../core/migrations/positions";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

/** The client node-pg-migrate gets during apply, and the messages that reach the server through it. */
function batching(
  client: ClientBase,
  afterBegin = 0,
  holds: OneMessageHolds = "transaction",
): { query: (text: string) => Promise<QueryResult>; sent: string[] } {
  const sent: string[] = [];
  const counting = {
    query: (config: unknown, values?: unknown) => {
      sent.push(typeof config === "string" ? config : String((config as { text: string }).text));
      return (client.query as (c: unknown, v?: unknown) => Promise<QueryResult>)(config, values);
    },
  } as unknown as ClientBase;
  const wrapped = withOneMessagePerTransaction(withUtf16Positions(counting), afterBegin, holds);
  return { query: (text) => wrapped.query(text), sent };
}

const exists = async (client: ClientBase, table: string) =>
  (await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [table])).rows[0]!.t !==
  null;

describe("a migration's transaction as one message", () => {
  const db = useTestDatabase();

  it("sends BEGIN, the SQL, the ledger row and COMMIT together, and commits them", async () => {
    await withClient(db.current.url, async (client) => {
      await client.query("CREATE TABLE ledger (name text NOT NULL)");
      const { query, sent } = batching(client);
      await query("BEGIN;");
      // A last statement with no semicolon and a trailing comment with no newline: both still end.
      await query('-- Up Migration\nCREATE TABLE "Made" (id int) -- no semicolon, no newline');
      await query("INSERT INTO ledger (name) VALUES ('made');");
      await query("COMMIT;");
      expect(sent).toHaveLength(1);
      expect(await exists(client, '"Made"')).toBe(true);
      const rows = await client.query<{ name: string }>("SELECT name FROM ledger");
      expect(rows.rows.map((r) => r.name)).toEqual(["made"]);
      // Outside a transaction, statements go out as they come.
      await query("SELECT 1");
      expect(sent).toHaveLength(2);
    });
  });

  it("a failing ledger row aborts its migration's transaction and reaches the caller at COMMIT", async () => {
    await withClient(db.current.url, async (client) => {
      await client.query("CREATE TABLE strict_ledger (name text NOT NULL CHECK (name <> 'refused'))");
      const { query } = batching(client);
      await query("BEGIN;");
      await query('CREATE TABLE "Refused" (id int);');
      await query("INSERT INTO strict_ledger (name) VALUES ('refused');");
      await expect(query("COMMIT;")).rejects.toThrow(/violates check constraint/);
      // As node-pg-migrate leaves it: the transaction open and aborted, ended by the engine.
      await client.query("ROLLBACK");
      expect(await exists(client, '"Refused"')).toBe(false);
      expect((await client.query("SELECT count(*)::int AS n FROM strict_ledger")).rows[0].n).toBe(0);
    });
  });

  it("an error's position is counted from the start of the statement it is in", async () => {
    await withClient(db.current.url, async (client) => {
      const { query } = batching(client);
      const sql = "-- Up Migration\nSELECT '😀😀' AS a;\nSELECT 1 FROM no_such_table;";
      await query("BEGIN;");
      await query(sql);
      await query("INSERT INTO nowhere VALUES (1);");
      const error = (await query("COMMIT;").catch((e: unknown) => e)) as { position?: string };
      await client.query("ROLLBACK");
      // In UTF-16 units of the SQL as node-pg-migrate sent it (each emoji counts two).
      expect(Number(error.position)).toBe(sql.indexOf("no_such_table") + 1);
    });
  });
});

describe("a Down section's BEGIN and the statements after it as one message", () => {
  const db = useTestDatabase();

  it("sends the BEGIN with the statements after it, then the SQL, the ledger row and COMMIT one by one", async () => {
    await withClient(db.current.url, async (client) => {
      await client.query(
        "CREATE TABLE down_ledger (name text NOT NULL); INSERT INTO down_ledger VALUES ('gone')",
      );
      const { query, sent } = batching(client, 2, "begin");
      await query("BEGIN;");
      await query("SET LOCAL TimeZone = 'UTC';");
      await query("SELECT set_config('neonhub.test_mark', 'marked', true);");
      expect(sent).toEqual([
        "BEGIN;\nSET LOCAL TimeZone = 'UTC';\nSELECT set_config('neonhub.test_mark', 'marked', true);",
      ]);
      // The statements after the BEGIN ran in its transaction.
      await query("CREATE TABLE \"DownMade\" AS SELECT current_setting('neonhub.test_mark') AS mark;");
      await query("DELETE FROM down_ledger WHERE name = 'gone';");
      await query("COMMIT;");
      expect(sent).toHaveLength(4);
      expect((await client.query('SELECT mark FROM "DownMade"')).rows).toEqual([{ mark: "marked" }]);
      expect((await client.query("SELECT count(*)::int AS n FROM down_ledger")).rows[0].n).toBe(0);
      expect((await client.query("SELECT current_setting('neonhub.test_mark', true) AS m")).rows[0].m).toBe(
        "",
      );
    });
  });

  it("a statement after the BEGIN that fails aborts the transaction: nothing before it stays, nothing after it runs", async () => {
    await withClient(db.current.url, async (client) => {
      const { query, sent } = batching(client, 2, "begin");
      await query("BEGIN;");
      await query('CREATE TABLE "BeforeFailure" (id int);');
      await expect(query("SELECT 1 / 0;")).rejects.toThrow(/division by zero/);
      expect(sent).toHaveLength(1);
      // As node-pg-migrate leaves it: the transaction open and aborted, the section's SQL refused, ended by the engine.
      await expect(query('CREATE TABLE "AfterFailure" (id int);')).rejects.toThrow(
        /current transaction is aborted/,
      );
      await client.query("ROLLBACK");
      expect(await exists(client, '"BeforeFailure"')).toBe(false);
      expect(await exists(client, '"AfterFailure"')).toBe(false);
    });
  });
});

describe("an apply whose ledger row is refused", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("reports the refusal and commits nothing of that migration; the ones before stay applied", async () => {
    // The migration clears the checksums the ledger trigger completes its row from, so its INSERT fails.
    writeMigration(
      dir,
      "20250101000400_unrecordable.sql",
      [
        'CREATE TABLE "Unrecorded" (id int);',
        "SELECT set_config('neonhub_release.checksums', '{}', true);",
      ].join("\n"),
    );
    const error = await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }).catch(
      (e: unknown) => e,
    );
    expect(isReleaseError(error)).toBe(true);
    expect((error as Error).message).toContain("Migration 20250101000400_unrecordable.sql failed");
    expect((error as Error).message).toContain("has no checksum");
    await withClient(db.current.url, async (client) => {
      expect(await exists(client, '"Unrecorded"')).toBe(false);
      const names = await client.query<{ name: string }>(
        "SELECT name FROM neonhub_release.migrations ORDER BY id",
      );
      expect(names.rows.map((r) => r.name)).toHaveLength(3);
      expect(names.rows.map((r) => r.name)).not.toContain("20250101000400_unrecordable");
    });
  });
});
