// load-chunks stopped part-way: its session ended by pg_terminate_backend (as a server restart or a dropped
// network ends it), or the process stopped by Ctrl-C (SIGINT) or a kill (SIGTERM). Each says what the load
// left (nothing: one transaction) and what to run, as an error of its own code, never as a bug with a stack
// trace, and what it says holds: the dataset keeps its chunks. The moment is not guessed: the test holds a
// lock on "Chunk" and stops the load once it is seen waiting for it.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, defaultReleaseSteps, loadChunkFile } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import {
  holdTableLock,
  killAt,
  startCli,
  waitingForLockOn,
  waitUntil,
  type ProcessResult,
} from "../support/kill-points";
import { chunkFileDir, writeChunkFile } from "./chunk-files";

const DIMENSION = 3072;

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
}

describe("load-chunks stopped while it waits for a lock", () => {
  const db = useTestDatabase("stopload");
  const dir = chunkFileDir();
  const datasetId = "stopped-dataset";
  let probe: Client;

  const chunkCount = () =>
    withClient(db.current.url, async (c) => {
      const r = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "Chunk" WHERE "datasetId" = $1',
        [datasetId],
      );
      return r.rows[0]!.n;
    });

  const loadSessionsGone = () =>
    waitUntil(
      "the load's sessions to end",
      async () =>
        (
          await probe.query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND starts_with(application_name, 'neonhub-db:')",
          )
        ).rowCount === 0,
    );

  /**
   * Starts `load-chunks --append` of a new file behind a lock on "Chunk" held by the test (its DELETE of the
   * file's documents' chunks waits there), then does `stop` once the load waits, and releases the lock.
   */
  async function stopWhileWaiting(
    name: string,
    stop: (run: ReturnType<typeof startCli>) => Promise<ProcessResult>,
  ): Promise<ProcessResult> {
    const file = writeChunkFile(dir, name, {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 3,
      prefix: name,
    });
    const lock = await holdTableLock(db.current.url, '"Chunk"', "SHARE");
    try {
      const run = startCli(
        [
          "load-chunks",
          "--append",
          "--file",
          file.file,
          "--dataset",
          datasetId,
          "--lock-timeout",
          "120",
          "--json",
        ],
        { DATABASE_URL: db.current.url },
      );
      return await stop(run);
    } finally {
      await lock.release();
      await loadSessionsGone();
    }
  }

  const waiting = () => waitingForLockOn(probe, '"Chunk"');

  beforeAll(async () => {
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', $1, $1, 'documents')`,
        [datasetId],
      ),
    );
    const first = writeChunkFile(dir, "first.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 4,
      prefix: "first",
    });
    await loadChunkFile({ databaseUrl: db.current.url, file: first.file, datasetId });
    probe = new Client({ connectionString: db.current.url });
    await probe.connect();
  });

  afterAll(async () => {
    await probe?.end();
  });

  it("its session ended (pg_terminate_backend): a `connection` error saying nothing was loaded and to run the same load again, no stack trace; the dataset keeps its chunks", async () => {
    const result = await stopWhileWaiting("terminated.ndjson", async (run) => {
      await waitUntil("the load to wait for its lock on Chunk", waiting, { while: run.running });
      await probe.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'neonhub-db:load-chunks'",
      );
      return run.done;
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain("unexpected error");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).toContain("neonhub-db: error: ");
    expect(result.stderr).toContain("Lost the connection to PostgreSQL");
    const { error } = JSON.parse(result.stdout) as ErrorDocument;
    expect(error.code).toBe("connection");
    expect(error.message).toContain("Lost the connection to PostgreSQL");
    expect(error.fix).toMatch(/^Nothing was loaded: the load is one transaction, rolled back/);
    // The load as it was run, to run again as printed.
    expect(error.fix).toMatch(
      /Check the server, then run `neonhub-db load-chunks --append --file \S+ --dataset /,
    );
    // No release command's fix: a load has no migrations to continue.
    expect(error.fix).not.toContain("apply");
    expect(await chunkCount()).toBe(8);
  });

  it.each(["SIGINT", "SIGTERM"] as const)(
    "stopped by %s: the `interrupted` error (text and one --json document) says nothing was loaded and to run the same load again; the dataset keeps its chunks",
    async (signal) => {
      const result = await stopWhileWaiting(`${signal}.ndjson`, (run) =>
        killAt(run, "the load to wait for its lock on Chunk", waiting, 30_000, signal),
      );
      expect(result.signal, result.stderr).toBe(signal);
      expect(result.stderr).toContain(
        "neonhub-db: error: interrupted: load-chunks stopped: nothing was loaded",
      );
      const { error } = JSON.parse(result.stdout) as ErrorDocument;
      expect(error.code).toBe("interrupted");
      expect(error.message).toContain("load-chunks stopped: nothing was loaded");
      expect(error.message).toContain("the dataset keeps the chunks and documents it had");
      // The load as it was run, to run again.
      expect(error.fix).toMatch(/^Run `neonhub-db load-chunks [^`]*` (\([^)]*\) )?again\.$/);
      expect(await chunkCount()).toBe(8);
    },
  );
});
