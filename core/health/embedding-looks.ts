// Health's looks for embedded rows the dimension trigger refuses today and that an existing database may
// still hold: the zero vector (zero-embeddings.ts), an embedding of another dimension than its space
// (wrong-dimension-embeddings.ts), an embedding a halfvec index holds as the zero vector
// (below-halfvec-embeddings.ts). Rows stored before the trigger refused them, or with it disabled, are never checked
// again, so health looks for them: the first few ids and how many in all, with the fix.
//
// No index holds a vector's norm or dimension, so a look reads every embedded row of the table. The looks
// share that read: one scan of each table (with its space) tests each row for every look, and keeps only the
// rows one of them finds (refused-embeddings.ts composes them). Measured on 50,000 chunks of 1,536 dimensions
// (391 MB, in the page cache), median of 21 runs: 103 ms for the one scan, against 152 ms for the two it
// replaced (96 ms for the zero vectors', 55 ms for the dimensions'): each heap page is read once, not twice.
//
// Each table's scan runs under a time limit of its own (HealthLimits.embeddingScanMs), inside a savepoint of
// health's read-only transaction: one that runs out is reported as not finished, with the query to run
// off-peak, and the rest of the report is read as usual. It takes its tables' locks one by one first, so that
// a lock another session holds is named on the table it is on: the embedded table, or "EmbeddingSpace". (In
// health's report, the vector-index readings before it already hold "Chunk" and "Message", and a lock there
// holds up the report itself, which past --lock-timeout fails naming its holder; a lock on "EmbeddingSpace"
// that outlasted the vector readings' wait leaves them unread (core/health/vector.ts), and the scans are then
// not made to wait for it again: each table's reading is `locked` on it at once. The scan can still meet a
// lock on "BrandVoice".)
import type { ClientBase } from "pg";
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { formatCount } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { EMBEDDING_TABLES } from "../vector-indexes/spec";
import type { SpacedEmbeddingTable } from "../vector-indexes/wrong-dimension";
import type { EmbeddingRowsHealth, HealthFinding } from "./report";
import { SPACES_TABLE } from "./vector";

/** How many offending rows a finding lists by id (it also says how many there are in all). */
export const LISTED_ROWS = 5;

/** A table whose embedding column the dimension trigger guards. */
export type EmbeddedTable = SpacedEmbeddingTable;

/** Every table the dimension trigger guards: the vector-indexed ones and "BrandVoice". */
export const GUARDED_TABLES: readonly EmbeddedTable[] = [
  ...EMBEDDING_TABLES.map(({ table, idColumn, column, spaceColumn }) => ({
    table,
    idColumn,
    column,
    spaceColumn,
  })),
  { table: "BrandVoice", idColumn: "id", column: "embedding", spaceColumn: "embeddingSpaceId" },
];

/** The table each row's space is read from, joined by the scan (as by the vector readings). */
const SPACES = SPACES_TABLE;

/** One kind of row looked for. */
export interface EmbeddingLook {
  /** What the look is for, in the findings' words: `zero-vector embeddings`. */
  what: string;
  /** The column that says whether a row is one, in the query a note gives to run: `zeroVector`. */
  flag: string;
  /**
   * Whether the embedded row `x` of `table` is one, as SQL; `s` is its embedding space, joined by the scan
   * (all NULL when the row's space is missing: a condition on it is then not true).
   */
  where(table: EmbeddedTable): string;
  /** What the rows found in `table` are and what to do about them; `one`: a single row. */
  found(
    table: EmbeddedTable,
    reading: EmbeddingRowsHealth,
    one: boolean,
  ): { problem: string; action: string };
}

/**
 * The rows of `table` that any of `looks` finds, each with its id and a column per look (its `flag`) that
 * says which: the scan's query and, ordered by id, the query a note gives to run off-peak.
 */
export function embeddingLooksRowsSql(
  table: EmbeddedTable,
  looks: readonly EmbeddingLook[],
  id = `x.${quoteIdent(table.idColumn)}`,
): string {
  const flags = looks.map((look) => `${look.where(table)} AS ${quoteIdent(look.flag)}`);
  const found = looks.map((look) => `(${look.where(table)})`).join(" OR ");
  return (
    `SELECT ${id}, ${flags.join(", ")} FROM ${quoteIdent(table.table)} x ` +
    `LEFT JOIN ${quoteIdent(SPACES)} s ON s."id" = x.${quoteIdent(table.spaceColumn)} ` +
    `WHERE x.${quoteIdent(table.column)} IS NOT NULL AND (${found})`
  );
}

/**
 * One scan of `table` for every look: each look's count and first ids by id. The found rows are kept once
 * (MATERIALIZED), and each look's are counted and listed from them.
 */
function scanSql(table: EmbeddedTable, looks: readonly EmbeddingLook[]): string {
  const perLook = looks.map((look, i) => {
    const flag = quoteIdent(look.flag);
    return (
      `(SELECT count(*) FROM found WHERE ${flag}) AS rows${i}, ` +
      `ARRAY(SELECT id FROM found WHERE ${flag} ORDER BY id LIMIT ${LISTED_ROWS}) AS ids${i}`
    );
  });
  return (
    `WITH found AS MATERIALIZED (${embeddingLooksRowsSql(table, looks, `x.${quoteIdent(table.idColumn)}::text AS id`)}) ` +
    `SELECT ${perLook.join(", ")}`
  );
}

/**
 * Looks in each table that exists, one scan of it for all `looks`, within `timeoutMs` each: each look's
 * readings, in the order of `looks`. Runs inside the caller's transaction: each scan in a savepoint, rolled
 * back after it, so that neither its timeout nor its error ends the transaction.
 */
export async function readEmbeddingLooks(
  client: ClientBase,
  looks: readonly EmbeddingLook[],
  timeoutMs: number,
  tables: readonly EmbeddedTable[],
  lockedTables: readonly string[] = [],
): Promise<EmbeddingRowsHealth[][]> {
  const present = await client.query<{ table: string; hidden: boolean }>(
    `SELECT t.name AS table, row_security_active(to_regclass(quote_ident(t.name))) AS hidden
       FROM unnest($1::text[], $2::text[]) AS t(name, col)
      WHERE EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = to_regclass(quote_ident(t.name)) AND a.attname = t.col AND NOT a.attisdropped)`,
    [tables.map((t) => t.table), tables.map((t) => t.column)],
  );
  const readings: EmbeddingRowsHealth[][] = looks.map(() => []);
  for (const { table: name, hidden } of present.rows) {
    const table = tables.find((t) => t.table === name)!;
    const scanned: EmbeddingRowsHealth[] = hidden
      ? looks.map(() => ({ table: name, state: "hidden", rows: null, ids: [] }))
      : await scan(client, table, looks, timeoutMs, lockedTables);
    scanned.forEach((reading, i) => readings[i]!.push(reading));
  }
  return readings;
}

async function scan(
  client: ClientBase,
  table: EmbeddedTable,
  looks: readonly EmbeddingLook[],
  timeoutMs: number,
  lockedTables: readonly string[],
): Promise<EmbeddingRowsHealth[]> {
  const unfinished = (state: EmbeddingRowsHealth["state"], lockedTable?: string) =>
    looks.map(
      (): EmbeddingRowsHealth => ({
        table: table.table,
        state,
        rows: null,
        ids: [],
        ...(lockedTable ? { lockedTable } : {}),
      }),
    );
  // A table the report already waited for past --lock-timeout (health's vector readings, on "EmbeddingSpace")
  // is not waited for again, once per table: the report says the scan met the same lock.
  const known = [table.table, SPACES].find((relation) => lockedTables.includes(relation));
  if (known) return unfinished("locked", known);
  // One time limit for the scan and its lock waits: each statement gets what is left of it. SET LOCAL ends
  // with the savepoint's rollback below: the rest of the report runs as before.
  const deadline = Date.now() + timeoutMs;
  const limitNext = () =>
    client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(deadline - Date.now()))}`);
  let locking: string | undefined;
  await client.query("SAVEPOINT embedding_look");
  try {
    // The scan's own locks, one table at a time: a wait that ends is then known to be on that table (the
    // lock timeout's error names none). ACCESS SHARE is what the scan takes anyway, and is open to a
    // read-only transaction and a standby.
    for (const relation of [table.table, SPACES]) {
      locking = relation;
      await limitNext();
      await client.query(`LOCK TABLE ${quoteIdent(relation)} IN ACCESS SHARE MODE`);
    }
    locking = undefined;
    await limitNext();
    const { rows } = await client.query<Record<string, unknown>>(scanSql(table, looks));
    const row = rows[0]!;
    return looks.map((_, i) => ({
      table: table.table,
      state: "checked",
      rows: Number(row[`rows${i}`]),
      ids: row[`ids${i}`] as string[],
    }));
  } catch (error) {
    // A lock held past --lock-timeout (health's session bound), or past the time limit while the scan waited
    // for it, stops only this scan: health is run when something is slow. Once both tables' locks are held,
    // the scan waits only for its tables' indexes (the planner locks them all).
    const code = (error as { code?: string }).code;
    if (code === "55P03" || (code === "57014" && locking)) return unfinished("locked", locking);
    if (code !== "57014") throw error;
    return unfinished("timed-out");
  } finally {
    await client.query("ROLLBACK TO SAVEPOINT embedding_look");
    await client.query("RELEASE SAVEPOINT embedding_look");
  }
}

/**
 * An action per table and look with such rows (their count, the first ids, the fix); a note per table whose
 * scan did not finish. `readings`: each look's, as readEmbeddingLooks returns them. `print`: how a note prints
 * the health to run again (HealthOptions.printCommand).
 */
export function embeddingLookFindings(
  looks: readonly EmbeddingLook[],
  readings: readonly (readonly EmbeddingRowsHealth[])[],
  timeoutMs: number,
  tables: readonly EmbeddedTable[],
  print?: CommandPrinter,
): HealthFinding[] {
  const tableOf = (reading: EmbeddingRowsHealth) => tables.find((t) => t.table === reading.table)!;
  // The looks share each table's scan, so their readings of a table are finished or not alike.
  const notes = (readings[0] ?? []).flatMap((reading) => {
    const note = unfinishedScanFinding(reading, looks, tableOf(reading), timeoutMs, print);
    return note ? [note] : [];
  });
  const actions = looks.flatMap((look, i) =>
    (readings[i] ?? []).flatMap((reading): HealthFinding[] =>
      reading.state === "checked" && reading.rows
        ? [
            {
              severity: "action",
              subject: reading.table,
              subjectKind: "table",
              ...look.found(tableOf(reading), reading, reading.rows === 1),
            },
          ]
        : [],
    ),
  );
  return [...actions, ...notes];
}

/**
 * The note of a table whose scan did not finish (hidden rows, a lock, its time limit), with the query to run
 * instead; undefined for one that did (its findings are the looks' own).
 */
function unfinishedScanFinding(
  reading: EmbeddingRowsHealth,
  looks: readonly EmbeddingLook[],
  table: EmbeddedTable,
  timeoutMs: number,
  print: CommandPrinter | undefined,
): HealthFinding | undefined {
  const query = `${embeddingLooksRowsSql(table, looks)} ORDER BY 1`;
  const whats = looks.map((look) => look.what);
  const what = whats.length > 1 ? `${whats.slice(0, -1).join(", ")} and ${whats.at(-1)!}` : (whats[0] ?? "");
  const limit = `${formatCount(timeoutMs / 1000)} s`;
  if (reading.state === "hidden") {
    return {
      severity: "info",
      subject: reading.table,
      subjectKind: "table",
      problem: `not checked for ${what}: row-level security hides its rows from this role`,
      action: `run health as the migrator (DIRECT_URL), or this query as a role that sees every row: ${query}`,
    };
  }
  if (reading.state === "locked") {
    const locked = reading.lockedTable;
    const on = !locked
      ? `an index of ${quoteIdent(reading.table)} or of ${quoteIdent(SPACES)} (the look reads both tables)`
      : locked === SPACES
        ? `${quoteIdent(SPACES)} (the look reads each row's space there)`
        : quoteIdent(locked);
    return {
      severity: "info",
      subject: reading.table,
      subjectKind: "table",
      problem: `not checked for ${what}: another session held a lock on ${on} longer than the look waits (--lock-timeout, or its own ${limit} when shorter)`,
      // The health to run again as the other actions name it: with the operator's options (--lock-timeout).
      action: `run ${commandToRun(print, ["health"])} again once the lock is released (the cluster section lists sessions waiting on locks), or this query: ${query}`,
    };
  }
  if (reading.state === "timed-out") {
    return {
      severity: "info",
      subject: reading.table,
      subjectKind: "table",
      problem: `looking for ${what} took over ${limit} and was stopped (it reads every embedded row)`,
      action: `run it off-peak: ${query}`,
    };
  }
  return undefined;
}

/** The ids a finding lists, and how many more there are: `"a", "b" and 2 more`. */
export function listedIds(reading: EmbeddingRowsHealth): string {
  const ids = reading.ids.map((id) => `"${id}"`).join(", ");
  const more = (reading.rows ?? 0) - reading.ids.length;
  return `${ids}${more > 0 ? ` and ${formatCount(more)} more` : ""}`;
}
