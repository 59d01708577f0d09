// baseline (and adopt, which proves the same way) stopped while its scratch database exists: Ctrl-C and
// SIGTERM drop it before the process ends by the signal; what SIGKILL leaves, the next proof for the same
// database drops, and says so. The moment is not guessed: a last migration sleeps, and the signal goes once
// the proof's session is seen sleeping in the scratch database.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../core";
import { runCli } from "../support/cli";
import { adminUrl, useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli, waitUntil, type ProcessResult } from "../support/kill-points";

const db = useTestDatabase("bsig");
const sleepy = fixtureMigrationsCopy();
writeMigration(sleepy, "20991231000000_sleep.sql", "SELECT pg_sleep(60);");
const plain = fixtureMigrationsCopy();

const admin = <T>(sql: string, params: unknown[] = []) =>
  withClient(adminUrl(), async (c) => (await c.query<T & object>(sql, params)).rows);

const exists = async (name: string) =>
  (await admin("SELECT 1 FROM pg_database WHERE datname = $1", [name])).length > 0;

const scratchOf = (stderr: string) =>
  /scratch database (neonhub_baseline_[0-9a-f]{8}) created/.exec(stderr)?.[1];

/** Starts `command` with the sleeping migration, waits until the proof sleeps in its scratch database, sends `signal`. */
async function stopDuringProof(
  signal: NodeJS.Signals,
  command: string[] = ["baseline"],
): Promise<{ scratch: string; result: ProcessResult }> {
  const run = startCli([...command, "--migrations-dir", sleepy], { DATABASE_URL: db.current.url });
  let scratch: string | undefined;
  await waitUntil(
    "the proof sleeping in its scratch database",
    async () => {
      scratch ??= scratchOf(run.stderr());
      if (!scratch) return false;
      const sleeping = await admin(
        "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'",
        [scratch],
      );
      return sleeping.length > 0;
    },
    { while: run.running },
  );
  run.child.kill(signal);
  return { scratch: scratch!, result: await run.done };
}

describe("a baseline stopped during its proof", () => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s drops the scratch database, then ends the process by the signal",
    async (signal) => {
      const { scratch, result } = await stopDuringProof(signal);
      expect(result.signal, result.stderr).toBe(signal);
      expect(result.stderr).toContain(`interrupted: dropping the scratch database ${scratch} before exiting`);
      expect(await exists(scratch)).toBe(false);
    },
  );

  // --json promises one document on stdout, errors too: the interruption is one, as apply's and revert's.
  it.each([
    ["baseline", "SIGINT"],
    ["adopt", "SIGTERM"],
  ] as const)(
    "%s --json (%s) prints the interrupted error document, then ends by the signal",
    async (command, signal) => {
      if (command === "adopt") {
        // The node-pg-migrate CLI's ledger, listing every file: adopt proves them all, the sleeping one last.
        await withClient(db.current.url, async (c) => {
          await c.query(
            "CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)",
          );
          for (const name of readdirSync(sleepy)
            .filter((f) => f.endsWith(".sql"))
            .sort())
            await c.query("INSERT INTO pgmigrations (name, run_on) VALUES ($1, now())", [
              name.replace(/\.sql$/, ""),
            ]);
        });
      }
      try {
        const { scratch, result } = await stopDuringProof(signal, [command, "--json"]);
        expect(result.signal, result.stderr).toBe(signal);
        const { error } = JSON.parse(result.stdout) as {
          error: { code: string; message: string; fix: string };
        };
        expect(error.code).toBe("interrupted");
        expect(error.message).toContain(`${command} stopped`);
        expect(error.message).toContain("its scratch database is dropped before the process exits");
        expect(error.fix).toContain(`Run \`neonhub-db ${command} --json`);
        expect(await exists(scratch)).toBe(false);
      } finally {
        await withClient(db.current.url, (c) => c.query("DROP TABLE IF EXISTS pgmigrations"));
      }
    },
  );

  it("what SIGKILL leaves, the next baseline of the database drops and reports", async () => {
    const { scratch, result } = await stopDuringProof("SIGKILL");
    expect(result.signal).toBe("SIGKILL");
    expect(await exists(scratch)).toBe(true);
    const next = await runCli(["baseline", "--migrations-dir", plain], { DATABASE_URL: db.current.url });
    expect(next.stderr).toContain(`dropped the scratch database ${scratch}, left by an interrupted baseline`);
    expect(await exists(scratch)).toBe(false);
    // The database has none of the tables: the rerun's own proof ran, and it refused, as on any empty database.
    expect(next.stderr).toContain("there is no schema to baseline");
  });

  it("a database with the scratch name but no marker, or another database's leftover, is named and kept", async () => {
    const unmarked = `neonhub_baseline_${randomBytes(4).toString("hex")}`;
    const elsewhere = `neonhub_baseline_${randomBytes(4).toString("hex")}`;
    // Another database's abandoned proof: its creator is a session that has ended.
    const ended = await withClient(
      adminUrl(),
      async (c) =>
        (
          await c.query<{ pid: number; started: string }>(
            "SELECT pid, extract(epoch FROM backend_start)::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()",
          )
        ).rows[0]!,
    );
    const marker = `neonhub-db scratch database for a baseline/adopt proof, made by: ${JSON.stringify({ ...ended, database: "elsewhere" })}`;
    await admin(`CREATE DATABASE ${quoteIdentifier(unmarked)}`);
    await admin(`CREATE DATABASE ${quoteIdentifier(elsewhere)}`);
    await admin(`COMMENT ON DATABASE ${quoteIdentifier(elsewhere)} IS '${marker}'`);
    try {
      const next = await runCli(["baseline", "--migrations-dir", plain], { DATABASE_URL: db.current.url });
      expect(next.stderr).toContain(
        `database ${unmarked} looks like a scratch database an earlier baseline or adopt left, but carries no neonhub-db marker`,
      );
      expect(next.stderr).toContain(`DROP DATABASE "${unmarked}"`);
      expect(next.stderr).toContain(
        `the scratch database ${elsewhere}, left by an interrupted baseline or adopt of database elsewhere, is left for its next proof to drop`,
      );
      expect(await exists(unmarked)).toBe(true);
      expect(await exists(elsewhere)).toBe(true);
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(unmarked)}`);
      await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(elsewhere)}`);
    }
  });
});
