// Killing a release at a chosen moment, deterministically. The moment is never guessed from elapsed time: the
// release is made to stop there (a migration that sleeps, a lock the test holds, a phase of an index build)
// and the test sees it stopped there in pg_stat_activity, pg_locks or pg_stat_progress_create_index, then
// sends SIGKILL. Nothing in the engine knows it is being tested.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Client, type ClientBase } from "pg";
import { CLI } from "./cli";
import { quoteIdentifier } from "../../core";
import { scratchDir } from "./scratch";

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child process whose output is collected as it comes. */
export interface RunningProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Settles when the process has exited and its output is closed. */
  readonly done: Promise<ProcessResult>;
  /** Whether it is still running. */
  readonly running: () => boolean;
}

export function startProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): RunningProcess {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done, running: () => !exited };
}

/** The real CLI (bin/neonhub-db.js), started and not awaited. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return startProcess(process.execPath, [CLI, ...args], env);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true; fails after `timeoutMs` naming `what` it waited for. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; while?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await probe()) return;
    if (options.while && !options.while()) throw new Error(`stopped waiting for ${what}: the process ended`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(options.intervalMs ?? 25);
  }
}

/**
 * Waits until `moment` is true while `run` is alive, then SIGKILLs it and waits for it to exit. Fails (with
 * the process's output) if the process ends before the moment comes: the kill point was never reached.
 */
export async function killAt(
  run: RunningProcess,
  what: string,
  moment: () => Promise<boolean>,
  timeoutMs = 30_000,
  signal: NodeJS.Signals = "SIGKILL",
): Promise<ProcessResult> {
  try {
    await waitUntil(what, moment, { timeoutMs, while: run.running });
  } catch (error) {
    run.child.kill("SIGKILL");
    const result = await run.done;
    throw new Error(`${(error as Error).message}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  run.child.kill(signal);
  return run.done;
}

/** A backend of `database` whose application_name starts with `application`, as pg_stat_activity shows it. */
export interface Backend {
  pid: number;
  state: string | null;
  waitEventType: string | null;
  waitEvent: string | null;
  query: string;
}

export async function backends(
  client: ClientBase,
  database: string,
  application = "neonhub-db",
): Promise<Backend[]> {
  const result = await client.query<Backend>(
    `SELECT pid, state, wait_event_type AS "waitEventType", wait_event AS "waitEvent", query
       FROM pg_stat_activity
      WHERE datname = $1 AND starts_with(application_name, $2) AND pid <> pg_backend_pid()`,
    [database, application],
  );
  return result.rows;
}

/** True while some release backend of `database` sits in pg_sleep(). */
export async function sleeping(client: ClientBase, database: string): Promise<boolean> {
  return (await backends(client, database)).some((b) => b.waitEvent === "PgSleep");
}

/**
 * True while a release backend waits for a lock on `relation` (a regclass text, e.g. '"Chunk"'). `client` must
 * be connected to the release's database, where the name resolves, and not be inside a transaction (which
 * would see one frozen pg_stat_activity).
 */
export async function waitingForLockOn(client: ClientBase, relation: string): Promise<boolean> {
  const result = await client.query<{ waiting: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = current_database() AND starts_with(a.application_name, 'neonhub-db')
          AND l.locktype = 'relation' AND l.relation = to_regclass($1)::oid) AS waiting`,
    [relation],
  );
  return result.rows[0]!.waiting;
}

/**
 * Takes a table lock in a transaction of its own and keeps it until `release()` (which rolls back): a release
 * that needs a conflicting lock stops there, visibly (waitingForLockOn), for as long as the test wants.
 */
export async function holdTableLock(
  url: string,
  relation: string,
  mode: "SHARE" | "ROW EXCLUSIVE" | "ACCESS EXCLUSIVE",
): Promise<{ release: () => Promise<void> }> {
  const client = new Client({ connectionString: url, application_name: "reliability-lock-holder" });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE ${relation} IN ${mode} MODE`);
  return {
    release: async () => {
      await client.query("ROLLBACK").catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

/** The phase of an index build a release backend of `database` is in, if any. */
export async function indexBuildPhase(client: ClientBase, database: string): Promise<string | undefined> {
  const result = await client.query<{ phase: string }>(
    `SELECT p.phase FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
      WHERE p.datname = $1 AND starts_with(a.application_name, 'neonhub-db')`,
    [database],
  );
  return result.rows[0]?.phase;
}

/**
 * Waits until `database` has no release backend left. A killed client's backend lives on until the server
 * notices the socket is gone (see pauseHooks: the tests' databases set client_connection_check_interval).
 */
export async function waitForBackendsGone(
  client: ClientBase,
  database: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitUntil(
    `the release backends of ${database} to end`,
    async () => (await backends(client, database)).length === 0,
    {
      timeoutMs,
      intervalMs: 50,
    },
  );
}

/** The session setting a pausable migration reads; set per database with ALTER DATABASE. */
export const PAUSE_SETTING = "reliability.pause";

const UP_MARKER = /^\s*--[\s-]*up\s+migration.*$/im;
const DOWN_MARKER = /^\s*--[\s-]*down\s+migration/im;

const pauseStatement = (tag: string) =>
  `SELECT pg_sleep(CASE WHEN current_setting('${PAUSE_SETTING}', true) = '${tag}' THEN 120 ELSE 0 END);`;

/**
 * A copy of the migrations in `source` in which every migration can be made to stop: at its start (its
 * transaction open, nothing of it done yet: "before:<name>") and at its end (all its statements run, its
 * ledger row and COMMIT not yet: "after:<name>"). Which pause is live is a per-database setting (see
 * setPause), read inside the migration, so the files stay the same from run to run (same checksums).
 */
export function pausableMigrationsCopy(source: string, files?: readonly string[]): string {
  const dir = scratchDir("neonhub-pausable-");
  const names = files ?? readdirSync(source).filter((f) => f.endsWith(".sql"));
  for (const file of names) {
    const name = file.slice(0, -".sql".length);
    const sql = readFileSync(path.join(source, file), "utf8");
    const down = sql.search(DOWN_MARKER);
    if (!UP_MARKER.test(sql) || down < 0) throw new Error(`${file} has no up/down markers`);
    const withPauses =
      `${sql.slice(0, down)}\n${pauseStatement(`after:${name}`)}\n\n${sql.slice(down)}`.replace(
        UP_MARKER,
        (marker) => `${marker}\n${pauseStatement(`before:${name}`)}`,
      );
    writeFileSync(path.join(dir, file), withPauses);
  }
  return dir;
}

/** A plain copy of a migrations folder (to add files to). */
export function migrationsCopy(source: string): string {
  const dir = scratchDir("neonhub-migrations-");
  cpSync(source, dir, { recursive: true });
  return dir;
}

/**
 * Makes the next sessions of `database` stop at `tag` (or nowhere, with undefined). Also makes the server
 * notice a vanished client within 100 ms even mid-statement, as a server with client_connection_check_interval
 * set does: otherwise a killed client's backend sleeps on, holding the release lock, until the pause ends.
 */
export async function setPause(admin: ClientBase, database: string, tag: string | undefined): Promise<void> {
  const db = quoteIdentifier(database);
  await admin.query(`ALTER DATABASE ${db} SET client_connection_check_interval = '100ms'`);
  if (tag === undefined) await admin.query(`ALTER DATABASE ${db} RESET ${PAUSE_SETTING}`);
  else await admin.query(`ALTER DATABASE ${db} SET ${PAUSE_SETTING} = '${tag.replace(/'/g, "''")}'`);
}
