// Building one vector index, with the memory and parallel workers it needs, without downtime.
//
// A rebuild builds the new index under a temporary name, then swaps: drops the old one and renames the
// new. Queries keep the old index until the swap, and the swap holds its exclusive lock only for a drop
// and a rename.
// - By default the build runs in one transaction (CREATE INDEX blocks writes to the table, not reads, while
//   it runs); everything rolls back on failure.
// - `concurrently` uses CREATE INDEX CONCURRENTLY: writes go on, but it cannot run in a transaction, and a
//   failure leaves an INVALID index behind, which is dropped before the error is reported.
//
// Parallel workers: PostgreSQL sizes a build's workers from the table's heap, and the heap of a table of
// embeddings can be tiny (vectors in TOAST: "BrandVoice", and rows of "Chunk" / "Message" written before
// 20261203100000_embeddings_stored_inline.sql), so it plans none while the heap is under
// min_parallel_table_scan_size (https://www.postgresql.org/docs/15/runtime-config-query.html). The build sets
// that to 0 for its own session only, so max_parallel_maintenance_workers decides. (Not the table's
// parallel_workers option: a CONCURRENTLY build runs outside a transaction, and an apply killed during it
// would leave the option set on the table for good.)
import type { ClientBase } from "pg";
import type { NoticeMessage } from "pg-protocol/dist/messages";
import { applyAgain, commandToRun, settingToChange, type CommandPrinter } from "../command-to-run";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import { rowsText } from "../count-format";
import { watchProgress, type MonitorConnector } from "./progress";
import { createIndexSql, quoteIdent, rebuildName, type IndexDefinition } from "./spec";
import { describeParams } from "./decide";
import { describeOutOfRange, findOutOfRangeRows, isHalfvecRangeError } from "./out-of-range";

export interface BuildRequest {
  definition: IndexDefinition;
  rows: number;
  /** An index of that name exists (valid or not) and is replaced by the swap. */
  replaces: boolean;
  /** maintenance_work_mem for the build in MB, or undefined to keep the session's. */
  memoryMb: number | undefined;
  workers: number;
  concurrently: boolean;
  progress: { connect: MonitorConnector; intervalMs: number };
}

export interface BuildOutcome {
  durationMs: number;
  /** pg_get_indexdef of the index under its final name. */
  definition: string;
  /** Parallel workers PostgreSQL launched, when it said (pgvector reports it at DEBUG1). */
  launchedWorkers?: number;
}

/** Builds `request`'s index; a failure's fix names the apply to run again as `print` prints it (ReleaseOptions.printCommand). */
export async function buildIndex(
  client: ClientBase,
  request: BuildRequest,
  log: Logger,
  print?: CommandPrinter,
): Promise<BuildOutcome> {
  const { definition } = request;
  const name = definition.name;
  const target = request.replaces ? rebuildName(name) : name;
  const label = `${name} (${describeParams(definition)}, ${rowsText(request.rows)})`;
  let launchedWorkers: number | undefined;
  // pgvector's NOTICEs (e.g. "hnsw graph no longer fits into maintenance_work_mem") are worth a warning.
  const onNotice = (notice: NoticeMessage) => {
    const launched = /using (\d+) parallel workers/.exec(notice.message ?? "");
    if (launched) launchedWorkers = Number(launched[1]);
    else if (notice.severity !== "DEBUG") log.warn(`${name}: ${notice.message}`);
  };
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  log.info(
    `${label}: building${request.concurrently ? " concurrently" : ""}` +
      `${request.memoryMb ? ` with maintenance_work_mem ${request.memoryMb} MB` : ""}` +
      `${request.workers > 0 ? ` and ${request.workers} parallel workers` : ""}`,
  );
  const started = Date.now();
  client.on("notice", onNotice);
  const stopWatching = await watchProgress({ ...request.progress, pid, label: name, log });
  try {
    if (request.concurrently) await buildConcurrently(client, request, target);
    else await buildInTransaction(client, request, target);
  } catch (error) {
    throw await buildFailure(client, request, target, label, error, print);
  } finally {
    await stopWatching();
    client.removeListener("notice", onNotice);
  }
  const durationMs = Date.now() - started;
  log.info(`${label}: built in ${(durationMs / 1000).toFixed(1)} s`);
  return { durationMs, definition: await indexDefinition(client, name), launchedWorkers };
}

async function sessionSettings(client: ClientBase, request: BuildRequest, scope: "LOCAL" | "SESSION") {
  const set = scope === "LOCAL" ? "SET LOCAL" : "SET";
  if (request.memoryMb) await client.query(`${set} maintenance_work_mem = '${request.memoryMb}MB'`);
  await client.query(`${set} max_parallel_maintenance_workers = ${request.workers}`);
  if (request.workers > 0) await client.query(`${set} min_parallel_table_scan_size = 0`);
  // At DEBUG1 pgvector says how many workers it launched; the notice handler keeps only that line.
  await client.query(`${set} client_min_messages = debug1`);
}

async function buildInTransaction(client: ClientBase, request: BuildRequest, target: string): Promise<void> {
  const { definition } = request;
  await client.query("BEGIN");
  try {
    await sessionSettings(client, request, "LOCAL");
    await client.query(createIndexSql(definition, { name: target, concurrently: false }));
    if (request.replaces) {
      await client.query(`DROP INDEX ${quoteIdent(definition.name)}`);
      await client.query(`ALTER INDEX ${quoteIdent(target)} RENAME TO ${quoteIdent(definition.name)}`);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

async function buildConcurrently(client: ClientBase, request: BuildRequest, target: string): Promise<void> {
  const { definition } = request;
  await sessionSettings(client, request, "SESSION");
  try {
    await client.query(createIndexSql(definition, { name: target, concurrently: true }));
  } finally {
    await client.query("RESET maintenance_work_mem");
    await client.query("RESET max_parallel_maintenance_workers");
    await client.query("RESET min_parallel_table_scan_size");
    await client.query("RESET client_min_messages");
  }
  if (request.replaces) {
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(definition.name)}`);
    await client.query(`ALTER INDEX ${quoteIdent(target)} RENAME TO ${quoteIdent(definition.name)}`);
  }
}

/**
 * A ReleaseError naming the index, the cause and the fix; drops what a failed concurrent build left. A component
 * that does not fit the halfvec expression is traced to its rows (out-of-range.ts), after the failure only.
 */
async function buildFailure(
  client: ClientBase,
  request: BuildRequest,
  target: string,
  label: string,
  error: unknown,
  print: CommandPrinter | undefined,
): Promise<ReleaseError> {
  const message = (error as Error).message ?? String(error);
  let left = "Nothing changed for this index (the build rolled back).";
  if (request.concurrently) left = await dropInvalid(client, target);
  if (isHalfvecRangeError(request.definition, error)) {
    const { cause, fix } = describeOutOfRange(
      request.definition,
      await findOutOfRangeRows(client, request.definition),
      print,
    );
    return new ReleaseError("index-failed", `Building ${label} failed: ${message}\n${cause}\n${left}`, fix, {
      cause: error,
    });
  }
  const code = (error as { code?: string }).code;
  const fix =
    code === "57014"
      ? `The build was cancelled (statement_timeout or an operator). Run ${commandToRun(print, ["apply"], "apply")} again.`
      : /memory required/.test(message)
        ? `Raise ${settingToChange(print, "vectorIndexes.maxMaintenanceWorkMem")} (and the server's free memory) and ${applyAgain(print)}.`
        : `Fix the cause and ${applyAgain(print)}.`;
  return new ReleaseError("index-failed", `Building ${label} failed: ${message}\n${left}`, fix, {
    cause: error,
  });
}

/**
 * After a failed concurrent build of `target` (a vector index, or a table's count index): drops what it left
 * if INVALID, and says what became of it.
 */
export async function dropInvalid(client: ClientBase, target: string): Promise<string> {
  try {
    const left = await client.query<{ valid: boolean }>(
      "SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
      [quoteIdent(target)],
    );
    const valid = left.rows[0]?.valid;
    if (valid === undefined) return "The build left no index behind.";
    // Built, then the swap failed: the old index is still there; the next apply drops this one and rebuilds.
    if (valid) return `The new index was built as ${target} but not swapped in; the next apply replaces it.`;
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(target)}`);
    return `The INVALID index ${target} the build left was dropped.`;
  } catch (dropError) {
    return (
      `The INVALID index ${target} it left could not be dropped (${(dropError as Error).message}): ` +
      `drop it with DROP INDEX CONCURRENTLY ${quoteIdent(target)} (the next apply also does).`
    );
  }
}

async function indexDefinition(client: ClientBase, name: string): Promise<string> {
  const result = await client.query<{ definition: string }>(
    "SELECT pg_get_indexdef(to_regclass($1)) AS definition",
    [quoteIdent(name)],
  );
  return result.rows[0]!.definition;
}

/** Drops indexes a rebuild left under its temporary name (an apply that stopped between build and swap). */
export async function dropLeftovers(
  client: ClientBase,
  names: readonly string[],
  concurrently: boolean,
  log: Logger,
): Promise<void> {
  for (const name of names) {
    log.info(`${name}: dropping what an interrupted rebuild left`);
    await client.query(`DROP INDEX${concurrently ? " CONCURRENTLY" : ""} IF EXISTS ${quoteIdent(name)}`);
  }
}
