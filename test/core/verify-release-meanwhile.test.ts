// A release that starts and ends while verify reads: verify has read the ledger and the recorded snapshot,
// the release applies a migration and records its snapshot, and verify then reads the live catalog. No lock
// is held by then, yet the migration's column is in the catalog and not in the snapshot verify read: it was
// called drift, with a repair that would undo the release. verify compares the release's records as it read
// them with the same read after the catalog's (core/release-records-mark.ts) and reads again.
// The interleaving is forced, not timed: verify runs over a real connection whose query function runs the
// other release (a real apply or revert, through the CLI) to its end just before verify's read of the live
// catalog is sent.
import { Client, type QueryConfig } from "pg";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { renderVerify } from "../../cli/render";
import { verifyWith } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const db = useTestDatabase("verifymeanwhile");
const dir = fixtureMigrationsCopy();
const env = () => ({ DATABASE_URL: db.current.url });
const GADGETS = "20250101000300_gadgets";
const NOTE = "20991231000000_widget_note";

/** What only the live catalog's read (takeSnapshot) sends among verify's statements. */
const LIVE_CATALOG_READ = "pg_get_indexdef(i.indexrelid)";

async function cli(...args: string[]): Promise<void> {
  const run = await runCli([...args, "--migrations-dir", dir], env());
  expect(run.code, run.stderr).toBe(0);
}

/**
 * verify over a connection that runs `releases[n]` to its end just before its n-th read of the live catalog
 * (and nothing before later reads). Returns the report and how many releases ran.
 */
async function verifyWhile(releases: (() => Promise<void>)[]) {
  const client = new Client({ connectionString: db.current.url });
  await client.connect();
  const send = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let reads = 0;
  (client as { query: unknown }).query = async (...args: unknown[]) => {
    const first = args[0] as string | QueryConfig;
    const text = typeof first === "string" ? first : first.text;
    if (text.includes(LIVE_CATALOG_READ)) await releases[reads++]?.();
    return send(...args);
  };
  try {
    const report = await verifyWith(client, { databaseUrl: db.current.url, migrationsDir: dir });
    return { report, reads };
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await cli("apply");
  writeMigration(
    dir,
    `${NOTE}.sql`,
    'ALTER TABLE "Widget" ADD COLUMN note text;',
    'ALTER TABLE "Widget" DROP COLUMN note;',
  );
});

afterEach(async () => {
  // Each test starts with the note applied or not; put it back to not.
  const applied = await withClient(db.current.url, (c) =>
    c.query("SELECT 1 FROM neonhub_release.migrations WHERE name = $1", [NOTE]),
  );
  if (applied.rowCount) await cli("revert", "--to", GADGETS, "--confirm");
});

describe("verify while a release starts and ends between its reads", () => {
  it("an apply: not drift; verify reads again and is clean", async () => {
    const { report, reads } = await verifyWhile([() => cli("apply")]);
    expect(reads).toBe(2);
    expect(report).toMatchObject({ clean: true, drift: { added: [], removed: [], changed: [] } });
    expect(report.drift.note).toBeUndefined();
    // The second read is of the database after the apply: its snapshot, and the verify after agrees.
    expect((await runCli(["verify", "--migrations-dir", dir], env())).code).toBe(0);
  });

  it("a revert: not drift (the column it dropped is not called gone); verify reads again and is clean", async () => {
    await cli("apply");
    const { report, reads } = await verifyWhile([() => cli("revert", "--to", GADGETS, "--confirm")]);
    expect(reads).toBe(2);
    expect(report).toMatchObject({ clean: true, drift: { added: [], removed: [], changed: [] } });
  });

  it("a release ending in each of its reads: verify says it did not compare, and names no drift", async () => {
    const { report, reads } = await verifyWhile([
      () => cli("apply"),
      () => cli("revert", "--to", GADGETS, "--confirm"),
      () => cli("apply"),
    ]);
    expect(reads).toBe(3);
    expect(report.clean).toBe(false);
    expect(report.drift).toMatchObject({ added: [], removed: [], changed: [], repairs: {} });
    expect(report.drift.note).toMatch(
      /^releases ended while verify read, 3 times: the schema was not compared/,
    );
    expect(report.releasesEnded).toBe(3);
    expect(renderVerify(report).split("\n")[0]).toMatch(/: not verified$/);
  });
});
