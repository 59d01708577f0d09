// Crash during the migrations: `neonhub-db apply` killed with SIGKILL inside a migration, at the boundary
// between two, and while it waits for the release lock. Afterwards the database holds exactly the migrations
// before the one that was stopped (same schema, byte for byte, as a database that only ever had those),
// `verify` and `status` say so, and the next apply completes the release.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR } from "../../core";
import { RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import { adminUrl, createTestDatabase, dropTestDatabase, type TestDatabase } from "../support/database";
import { fingerprint } from "../support/db-fingerprint";
import {
  killAt,
  pausableMigrationsCopy,
  setPause,
  sleeping,
  startCli,
  waitForBackendsGone,
} from "../support/kill-points";
import { dumpSchema } from "../support/migrations";
import { cliJson, ledgerNames, migrationNames } from "./support/release-state";

const dir = pausableMigrationsCopy(DEFAULT_MIGRATIONS_DIR);
const names = migrationNames(dir);
const folders = [dir];
/** A folder of the first `count` pausable migrations: release N of an upgrade. */
function prefixFolder(count: number): string {
  const folder = pausableMigrationsCopy(
    DEFAULT_MIGRATIONS_DIR,
    names.slice(0, count).map((n) => `${n}.sql`),
  );
  folders.push(folder);
  return folder;
}
afterAll(() => folders.forEach((f) => rmSync(f, { recursive: true, force: true })));

const find = (prefix: string) => {
  const name = names.find((n) => n.startsWith(prefix));
  if (!name) throw new Error(`no migration ${prefix}`);
  return name;
};

interface MigrationKillPoint {
  label: string;
  /** The pause the killed apply stops at (see pausableMigrationsCopy). */
  tag: string;
  /** Migrations a finished release applied before (an upgrade); 0 for a first release. */
  releasedBefore: number;
}

const during = (prefix: string, releasedBefore = 0): MigrationKillPoint => ({
  label: `inside migration ${find(prefix)} (all its statements run, not committed)${releasedBefore ? ", in an upgrade" : ""}`,
  tag: `after:${find(prefix)}`,
  releasedBefore,
});
const between = (prefix: string): MigrationKillPoint => {
  const next = find(prefix);
  return {
    label: `between ${names[names.indexOf(next) - 1] ?? "the ledger set-up"} (committed) and ${next} (begun, nothing run)`,
    tag: `before:${next}`,
    releasedBefore: 0,
  };
};

const POINTS: MigrationKillPoint[] = [
  between("20250126000100"),
  during("20250126000100"),
  during("20250126000200"),
  between("20250126000400"),
  during("20250126000500"),
  during("20250126000900"),
  between("20250126001100"),
  during("20250126001300"),
  during("20250126001400"),
  between("20250126001500"),
  during(names.at(-1)!),
  during("20250126001300", 12),
  during("20250126001400", 12),
];

/** The migrations a kill at `tag` leaves applied: those before the migration it stopped in. */
const appliedAfterKill = (tag: string) => names.indexOf(tag.replace(/^(before|after):/, ""));

/**
 * A schema dump without the tables' count indexes. The references were made by whole applies, whose
 * vector-index step builds them (core/vector-indexes/count-index.ts) once the tables exist; an apply killed
 * during its migrations never reaches the step, and the apply after it builds them.
 */
function withoutCountIndexes(dump: string): string {
  return dump.replace(
    /--\n-- Name: idx_\w+_embedded_rows; Type: INDEX;[^\n]*\n--\n\nCREATE INDEX [^\n]*\n\n\n/g,
    "",
  );
}

describe(`apply killed with SIGKILL at ${POINTS.length} moments of the migrations`, () => {
  let admin: Client;
  /** pg_dump --schema-only of a database that ever only had the first n migrations applied, by n. */
  const reference = new Map<number, string>();

  beforeAll(async () => {
    admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    const wanted = new Set([...POINTS.map((p) => appliedAfterKill(p.tag)), names.length]);
    const db = await createTestDatabase("reference");
    try {
      for (const count of [...wanted].sort((a, b) => a - b)) {
        const run = await runCli(["apply", "--migrations-dir", prefixFolder(count)], {
          DATABASE_URL: db.url,
        });
        expect(run.code, run.stderr).toBe(0);
        reference.set(count, await dumpSchema(db.url));
      }
    } finally {
      await dropTestDatabase(db);
    }
  });
  afterAll(async () => admin?.end());

  async function killedApply(db: TestDatabase, tag: string): Promise<void> {
    await setPause(admin, db.name, tag);
    const run = startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.url });
    const killed = await killAt(run, `the apply to stop at ${tag}`, () => sleeping(admin, db.name));
    expect(killed.signal).toBe("SIGKILL");
    await waitForBackendsGone(admin, db.name);
    await setPause(admin, db.name, undefined);
  }

  it.each(POINTS)("$label", async ({ tag, releasedBefore }) => {
    const db = await createTestDatabase("crash");
    try {
      await setPause(admin, db.name, undefined);
      if (releasedBefore > 0) {
        const first = await runCli(["apply", "--migrations-dir", prefixFolder(releasedBefore)], {
          DATABASE_URL: db.url,
        });
        expect(first.code, first.stderr).toBe(0);
      }
      await killedApply(db, tag);

      // No half-applied migration: the ledger and the schema are those of the migrations before the kill.
      const applied = appliedAfterKill(tag);
      expect(await ledgerNames(db.url)).toEqual(names.slice(0, applied));
      expect(withoutCountIndexes(await dumpSchema(db.url))).toBe(
        withoutCountIndexes(reference.get(applied)!),
      );

      const status = await cliJson("status", db.url, ["--migrations-dir", dir]);
      expect(status.value.pendingMigrations).toEqual(names.slice(applied));
      const verify = await cliJson("verify", db.url, ["--migrations-dir", dir]);
      expect(verify.value.problems).toEqual([]);
      if (applied === releasedBefore) {
        // Nothing of the interrupted release was committed: the schema is the last release's, exactly.
        expect(verify.code).toBe(releasedBefore > 0 ? 0 : 2);
        if (releasedBefore === 0) expect(verify.value.drift.note).toBe("no release applied yet");
      } else {
        expect(verify.code).toBe(2);
        expect(verify.value.clean).toBe(false);
        // The apply to run names the migrations folder this verify was given (core/command-to-run.ts).
        expect(verify.value.drift.note).toMatch(
          /an apply was interrupted; run `neonhub-db apply --migrations-dir [^`]+` to complete it/,
        );
        expect(verify.value.drift.note).toContain(names[applied - 1]);
        // The committed migrations' objects are the interrupted release's, not drift: nothing to repair.
        expect(verify.value.drift).toMatchObject({ added: [], removed: [], changed: [], repairs: {} });
      }

      const apply = await cliJson("apply", db.url, ["--migrations-dir", dir]);
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.value.migrations.map((m) => m.name)).toEqual(names.slice(applied));
      const after = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: db.url });
      expect(after.code, after.stdout).toBe(0);
      expect(await ledgerNames(db.url)).toEqual(names);
      expect(await dumpSchema(db.url)).toBe(reference.get(names.length));
    } finally {
      await dropTestDatabase(db);
    }
  });

  it("while waiting for the release lock: nothing changes, and the next apply completes", async () => {
    const db = await createTestDatabase("crash");
    const holder = new Client({ connectionString: db.url });
    try {
      await setPause(admin, db.name, undefined);
      const first = await runCli(["apply", "--migrations-dir", prefixFolder(12)], { DATABASE_URL: db.url });
      expect(first.code, first.stderr).toBe(0);
      await holder.connect();
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
      const before = await fingerprint(db.url);

      const run = startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.url });
      const killed = await killAt(run, "the apply to wait for the lock", async () =>
        run.stderr().includes("waiting for the release lock"),
      );
      expect(killed.signal).toBe("SIGKILL");
      await waitForBackendsGone(admin, db.name);
      expect(await fingerprint(db.url)).toEqual(before);

      await holder.end();
      const apply = await cliJson("apply", db.url, ["--migrations-dir", dir]);
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.value.migrations.map((m) => m.name)).toEqual(names.slice(12));
    } finally {
      await holder.end().catch(() => {});
      await dropTestDatabase(db);
    }
  });
});
