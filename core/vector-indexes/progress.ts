// Progress of a long index build, read from pg_stat_progress_create_index on a second connection (the
// building one is busy) and written to the Logger. pgvector reports its phases there: for IVFFlat
// "performing k-means", "assigning tuples", "loading tuples"; for HNSW "loading tuples"
// (https://github.com/pgvector/pgvector#indexing-progress). Watching never fails a build: if the second
// connection cannot be had, the build goes on without progress lines.
import { Client, type ClientBase } from "pg";
import type { Logger } from "../logger";
import { formatCount } from "../count-format";
import { COMMAND_SESSION_SETTINGS_SQL } from "../session-settings";

/** Opens the connection that watches; undefined when there is none to be had. */
export type MonitorConnector = () => Promise<Client | undefined>;

/** A second connection with the same parameters as the release's own (when it is a pg Client). */
export function sameTargetConnector(client: ClientBase): MonitorConnector {
  return async () => {
    if (!(client instanceof Client)) return undefined;
    const monitor = new Client({
      host: client.host,
      port: client.port,
      user: client.user,
      database: client.database,
      password: client.password,
      ssl: client.ssl,
      application_name: "neonhub-db:index-progress",
      connectionTimeoutMillis: 10_000,
    });
    monitor.on("error", () => {});
    await monitor.connect();
    // As every session starts (an idle_session_timeout for apps ended this one between its polls).
    await monitor.query(COMMAND_SESSION_SETTINGS_SQL).catch(async (error: unknown) => {
      await monitor.end().catch(() => {});
      throw error;
    });
    return monitor;
  };
}

interface ProgressRow {
  phase: string;
  tuples_total: string;
  tuples_done: string;
  blocks_total: string;
  blocks_done: string;
}

/** "building index: loading tuples 45,000/100,000 (45%)" */
export function describeProgress(row: ProgressRow): string {
  const [done, total, unit] =
    Number(row.tuples_total) > 0
      ? [Number(row.tuples_done), Number(row.tuples_total), "tuples"]
      : [Number(row.blocks_done), Number(row.blocks_total), "blocks"];
  if (total <= 0) return row.phase;
  const percent = Math.floor((100 * done) / total);
  return `${row.phase} ${formatCount(done)}/${formatCount(total)} ${unit} (${percent}%)`;
}

/**
 * Polls the build of backend `pid` every `intervalMs` and logs each change of phase or percentage.
 * Returns the function that stops watching.
 */
export async function watchProgress(options: {
  connect: MonitorConnector;
  pid: number;
  label: string;
  intervalMs: number;
  log: Logger;
}): Promise<() => Promise<void>> {
  const { log, label } = options;
  let monitor: Client | undefined;
  try {
    monitor = await options.connect();
  } catch (error) {
    log.warn(`${label}: no progress reports (${(error as Error).message})`);
  }
  if (!monitor) return async () => {};
  const watching = monitor;
  let last = "";
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    const result = await watching.query<ProgressRow>(
      `SELECT phase, tuples_total, tuples_done, blocks_total, blocks_done
         FROM pg_stat_progress_create_index WHERE pid = $1`,
      [options.pid],
    );
    const row = result.rows[0];
    if (!row) return;
    const line = describeProgress(row);
    if (line !== last) log.info(`${label}: ${line}`);
    last = line;
  };
  const timer = setInterval(() => {
    polling = polling.then(poll).catch(() => {});
  }, options.intervalMs);
  return async () => {
    clearInterval(timer);
    await polling;
    await watching.end().catch(() => {});
  };
}
