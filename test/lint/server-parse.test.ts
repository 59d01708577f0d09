// The server's parser, asked through a PL/pgSQL block that compiles a statement and never runs it
// (core/lint/server-parse.ts), on real PostgreSQL: it answers as the server's parser does, for every command
// PL/pgSQL hands over, says it cannot tell for those PL/pgSQL would read itself, runs nothing, and works for a
// read-only login, in a read-only transaction and whatever check_function_bodies says.
import { describe, expect, it } from "vitest";
import type { Client } from "pg";
import { serverParse } from "../../core";
import { useTestDatabase, withClient } from "../support/database";

/** What running the statement itself says, in a transaction rolled back: its error's message, or "ran". */
async function runItself(c: Client, sql: string): Promise<string> {
  await c.query("BEGIN");
  try {
    await c.query(sql);
    return "ran";
  } catch (error) {
    return (error as Error).message;
  } finally {
    await c.query("ROLLBACK");
  }
}

// One statement for each command word PL/pgSQL hands to the server's parser, valid as written, and a broken
// form of it (a stray `2`, squawk's and PostgreSQL's favourite: `syntax error at or near "2"`).
const VALID: readonly string[] = [
  "ABORT",
  'ALTER TABLE "Widget" ADD COLUMN note text',
  'ANALYSE "Widget"',
  'ANALYZE "Widget"',
  "CALL widget_proc()",
  "CHECKPOINT",
  'CLUSTER "Widget"',
  "COMMENT ON TABLE \"Widget\" IS 'widgets'",
  'COPY "Widget" FROM STDIN',
  "CREATE TABLE sequence (id int)",
  "DEALLOCATE ALL",
  'DELETE FROM "Widget"',
  "DISCARD TEMP",
  "DO $$BEGIN NULL; END$$",
  'DROP TABLE "Widget"',
  'EXPLAIN SELECT * FROM "Widget"',
  'GRANT SELECT ON "Widget" TO PUBLIC',
  "IMPORT FOREIGN SCHEMA s FROM SERVER x INTO public",
  "INSERT INTO \"Widget\" (id, name) VALUES ('w', 'w')",
  "LISTEN widgets",
  "LOAD 'plpgsql'",
  'LOCK TABLE "Widget"',
  'MERGE INTO "Widget" w USING "Widget" s ON w.id = s.id WHEN MATCHED THEN DO NOTHING',
  "NOTIFY widgets",
  "PREPARE widgets AS SELECT 1",
  "REASSIGN OWNED BY CURRENT_USER TO CURRENT_USER",
  "REFRESH MATERIALIZED VIEW widget_names",
  'REINDEX TABLE "Widget"',
  "RELEASE SAVEPOINT s",
  "RESET work_mem",
  'REVOKE SELECT ON "Widget" FROM PUBLIC',
  "SAVEPOINT s",
  "SECURITY LABEL ON TABLE \"Widget\" IS 'x'",
  "SELECT 1 escape",
  "SET work_mem = '8MB'",
  "SHOW work_mem",
  "START TRANSACTION",
  'TRUNCATE "Widget"',
  "UNLISTEN *",
  "UPDATE \"Widget\" SET name = 'x'",
  'VACUUM "Widget"',
  "VALUES (1)",
  "WITH w AS (SELECT 1) SELECT * FROM w",
];

describe("the server's parser, asked through PL/pgSQL", () => {
  const db = useTestDatabase("serverparse");
  const on = <T>(fn: (c: Client) => Promise<T>) => withClient(db.current.url, fn);

  it("parses what PostgreSQL parses and refuses what it refuses, in its words, for every command handed over", async () => {
    await on(async (c) => {
      for (const sql of VALID) expect(await serverParse(c, sql), sql).toEqual({ verdict: "parses" });
      for (const sql of VALID) {
        const broken = `${sql} 2`;
        expect(await runItself(c, broken), broken).toBe('syntax error at or near "2"');
        expect(await serverParse(c, broken), broken).toEqual({
          verdict: "refuses",
          message: 'syntax error at or near "2"',
          offset: broken.length - 1,
        });
      }
    });
  });

  it("says it cannot tell for statements PL/pgSQL reads itself, which it would misjudge", async () => {
    await on(async (c) => {
      const cannotTell = [
        "BEGIN",
        "COMMIT PREPARED 'x'",
        "ROLLBACK TO SAVEPOINT s",
        "END",
        "DECLARE c CURSOR FOR SELECT 1",
        "EXECUTE widgets (1)",
        "FETCH 1 FROM c",
        "MOVE c",
        "CLOSE c",
        'TABLE "Widget"',
        "(SELECT 1)",
        "NULL",
        "SELECT 1 INTO widget_copy",
        "CREATE RULE r AS ON INSERT TO t DO INSTEAD SELECT 1 INTO t2",
        'CREATE INDEX "Tag_name_idx" ON "Tag" (name',
        // A function body split at its first `;` (the lint's statements end at every `;` outside quotes).
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1",
      ];
      for (const sql of cannotTell) {
        expect((await serverParse(c, sql)).verdict, sql).toBe("unknown");
      }
      expect(await serverParse(c, "FETCH 1 FROM c")).toEqual({
        verdict: "unknown",
        reason:
          "a statement that begins with FETCH is not one PL/pgSQL, which the check compiles it in, hands to the server's parser as written",
      });
      // A word that begins no SQL command is named as such, with the command it is closest to.
      expect(await serverParse(c, 'CREAT INDEX "Tag_name_idx" ON "Tag" (name)')).toEqual({
        verdict: "unknown",
        reason: "CREAT begins no SQL command (CREATE, misspelt?)",
      });
      expect(await serverParse(c, "NULL")).toEqual({
        verdict: "unknown",
        reason: "NULL begins no SQL command",
      });
      expect(await serverParse(c, "SELECT 1 INTO widget_copy")).toEqual({
        verdict: "unknown",
        reason: "PL/pgSQL, which the check compiles it in, takes its INTO for a variable of its own",
      });
      expect(await serverParse(c, 'CREATE INDEX "Tag_name_idx" ON "Tag" (name')).toEqual({
        verdict: "unknown",
        reason:
          "its parentheses do not pair up, and PL/pgSQL, which the check compiles it in, cannot find its end",
      });
      // An error PL/pgSQL raises is not the server's parser's verdict.
      expect(
        await serverParse(c, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1"),
      ).toEqual({
        verdict: "unknown",
        reason:
          "PL/pgSQL, which the check compiles it in, answered: unexpected end of function definition at end of input",
      });
      // Why: compiled in a block, valid SQL fails (PL/pgSQL's own COMMIT takes no PREPARED, its INTO wants a
      // variable) and a statement PostgreSQL refuses passes (NULL is PL/pgSQL's empty statement).
      const compiled = (statement: string) => runItself(c, `DO $q$BEGIN RETURN; ${statement}\n; END$q$`);
      expect(await runItself(c, "COMMIT PREPARED 'x'")).toMatch(/cannot run inside a transaction block/);
      expect(await compiled("COMMIT PREPARED 'x'")).toBe('syntax error at or near "PREPARED"');
      expect(await compiled("SELECT 1 INTO widget_copy")).toBe('"widget_copy" is not a known variable');
      expect(await runItself(c, "NULL")).toBe('syntax error at or near "NULL"');
      expect(await compiled("NULL")).toBe("ran");
    });
  });

  it("refuses what the server's grammar refuses beyond syntax errors, in its words", async () => {
    await on(async (c) => {
      for (const [sql, message] of [
        [
          'SELECT * FROM "Widget" FETCH FIRST 3 ROWS WITH TIES',
          "WITH TIES cannot be specified without ORDER BY clause",
        ],
        ["SELECT U&'\\wxyz'", "invalid Unicode escape"],
        ["SELECT 1 FROM a.b.c.d.e", "improper qualified name (too many dotted names): a.b.c.d.e"],
      ] as const) {
        expect(await runItself(c, sql), sql).toBe(message);
        const answer = await serverParse(c, sql);
        expect(answer.verdict === "refuses" && answer.message, sql).toBe(message);
      }
    });
  });

  it("runs nothing, and works for a read-only login and in a read-only transaction", async () => {
    const readerUrl = await on(async (c) => {
      await c.query(`CREATE TABLE "Widget" (id text PRIMARY KEY, name text);
                     INSERT INTO "Widget" VALUES ('w1', 'one');
                     DROP ROLE IF EXISTS parse_reader;
                     CREATE ROLE parse_reader LOGIN PASSWORD 'reader-pw' IN ROLE pg_read_all_data;
                     ALTER ROLE parse_reader SET default_transaction_read_only = on;`);
      const url = new URL(db.current.url);
      url.username = "parse_reader";
      url.password = "reader-pw";
      return url.toString();
    });
    const writes = [
      "CREATE TABLE side_effect (id int)",
      "INSERT INTO \"Widget\" (id, name) VALUES ('w2', 'two')",
      'DROP TABLE "Widget"',
      'CREATE INDEX CONCURRENTLY widget_name ON "Widget" (name)',
    ];
    try {
      await withClient(readerUrl, async (c) => {
        for (const sql of writes) expect(await serverParse(c, sql), sql).toEqual({ verdict: "parses" });
        expect((await serverParse(c, 'DROP TABLE "Widget" 2')).verdict).toBe("refuses");
        // In a read-only transaction: it parses, and the transaction has written nothing (no transaction id).
        await c.query("BEGIN TRANSACTION READ ONLY");
        expect(await serverParse(c, writes[0]!)).toEqual({ verdict: "parses" });
        const xid = await c.query("SELECT txid_current_if_assigned() AS xid");
        expect(xid.rows[0].xid).toBeNull();
        await c.query("COMMIT");
      });
      await on(async (c) => {
        const after = await c.query(
          `SELECT to_regclass('side_effect') AS side, to_regclass('widget_name') AS index,
                  (SELECT array_agg(id ORDER BY id) FROM "Widget") AS ids`,
        );
        expect(after.rows[0]).toEqual({ side: null, index: null, ids: ["w1"] });
      });
    } finally {
      await on((c) => c.query("DROP OWNED BY parse_reader; DROP ROLE parse_reader"));
    }
  });

  it("checks with check_function_bodies off for the session, and leaves the setting as it was", async () => {
    await on(async (c) => {
      await c.query("SET check_function_bodies = off");
      expect(await serverParse(c, 'ALTER TABLE "Widget" ADD COLUMN other text NOT NUL')).toEqual({
        verdict: "refuses",
        message: 'syntax error at or near "NUL"',
        offset: 'ALTER TABLE "Widget" ADD COLUMN other text NOT '.length,
      });
      expect((await c.query("SHOW check_function_bodies")).rows[0].check_function_bodies).toBe("off");
    });
  });

  it("carries a statement holding its dollar tag or ending in a comment", async () => {
    await on(async (c) => {
      const body = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $neonhub_parse$ SELECT 1 $neonhub_parse$";
      expect(await serverParse(c, body)).toEqual({ verdict: "parses" });
      expect((await serverParse(c, `${body} 2`)).verdict).toBe("refuses");
      expect(await serverParse(c, "SELECT 1 -- done")).toEqual({ verdict: "parses" });
      expect(await serverParse(c, "SELECT 1 /* done */")).toEqual({ verdict: "parses" });
    });
  });

  it("points where PostgreSQL points, past characters outside the BMP, with its message for the statement alone", async () => {
    await on(async (c) => {
      const emoji = "SELECT '🙂🙂', 1 2";
      expect(await serverParse(c, emoji)).toEqual({
        verdict: "refuses",
        message: 'syntax error at or near "2"',
        offset: emoji.length - 1,
      });
      // A statement cut short: PostgreSQL names its `;`, as it does running the statement itself.
      const short = 'ALTER TABLE "Widget" ADD COLUMN;';
      expect(await runItself(c, short)).toBe('syntax error at or near ";"');
      expect(await serverParse(c, short)).toEqual({
        verdict: "refuses",
        message: 'syntax error at or near ";"',
        offset: short.length - 1,
      });
      expect(await serverParse(c, 'ALTER TABLE "Widget" ADD COLUMN')).toEqual({
        verdict: "refuses",
        message: "syntax error at end of input",
        offset: 'ALTER TABLE "Widget" ADD COLUMN'.length,
      });
      // An unterminated string runs to the end of the statement: PostgreSQL quotes it, not the block around it.
      const unterminated = 'ALTER TABLE "Widget" ADD COLUMN note text DEFAULT \'x;\n';
      expect(await runItself(c, unterminated)).toBe(`unterminated quoted string at or near "'x;\n"`);
      expect(await serverParse(c, unterminated)).toEqual({
        verdict: "refuses",
        message: `unterminated quoted string at or near "'x;"`,
        offset: unterminated.indexOf("'"),
      });
    });
  });

  it("says it cannot tell when the login may not use PL/pgSQL", async () => {
    await on((c) =>
      c.query(`REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;
               DROP ROLE IF EXISTS parse_nopl;
               CREATE ROLE parse_nopl LOGIN PASSWORD 'nopl-pw';`),
    );
    try {
      const url = new URL(db.current.url);
      url.username = "parse_nopl";
      url.password = "nopl-pw";
      await withClient(url.toString(), async (c) => {
        expect(await serverParse(c, "SELECT 1 2")).toEqual({
          verdict: "unknown",
          reason: "the server answered: permission denied for language plpgsql",
        });
      });
    } finally {
      await on((c) => c.query("GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC; DROP ROLE parse_nopl"));
    }
  });
});
