// node-pg-migrate runs each migration as four statements, each sent and awaited on its own: `BEGIN;`, the
// file's SQL, the ledger row's INSERT and `COMMIT;`. This client sends them as one simple-query message
// instead, when the COMMIT comes: the same statements, in the same order, in the same transaction, one round
// trip instead of four. The server runs a message's statements in order and stops at the first error, so
// a failing statement (the SQL, or the INSERT its ledger trigger refuses) still leaves the transaction
// aborted with nothing of it committed, and the error reaches node-pg-migrate from the COMMIT it awaited
// (it awaits each step in turn and uses no step's result; see Migration._apply in node-pg-migrate).
// The error's position is made relative to the statement it points into again, so carets stay right, and its
// count of completed statements (statement-counts.ts) relative to the migration's SQL, which follows the BEGIN
// (and the transaction guard's statement after it, transaction-guard.ts).
import type { ClientBase, QueryResult } from "pg";
import type { CountedError } from "./statement-counts";

type Query = (config: unknown, values?: unknown) => Promise<QueryResult>;

const BEGIN = "BEGIN;";
const COMMIT = "COMMIT;";

/** What a held statement answers at once: node-pg-migrate awaits it but reads nothing from it. */
const held = (): QueryResult => ({ command: "", rowCount: null, oid: 0, rows: [], fields: [] });

/** The held statements as one message, and where each starts in it (UTF-16 offsets, as JavaScript counts). */
function joinStatements(statements: readonly string[]): { text: string; starts: number[] } {
  const starts: number[] = [];
  let text = "";
  for (const statement of statements) {
    if (text) {
      // A newline ends a trailing `--` comment; a semicolon ends a last statement written without one.
      text += /;\s*$/.test(text) ? "\n" : "\n;\n";
    }
    starts.push(text.length);
    text += statement;
  }
  return { text, starts };
}

/** The error's 1-based position made relative to the statement of the message it points into. */
function positionInStatement(error: unknown, starts: readonly number[]): void {
  const positioned = error as { position?: string } | null;
  const position = Number(positioned?.position);
  if (!positioned || !Number.isInteger(position) || position < 1) return;
  const start = starts.filter((s) => s < position).at(-1) ?? 0;
  positioned.position = String(position - start);
}

/** The error's count of completed statements without the `leading` ones the message sends before the SQL. */
function countFromSql(error: unknown, leading: number): void {
  const counted = error as CountedError | null;
  if (counted && typeof counted.completedStatements === "number") {
    counted.completedStatements = Math.max(0, counted.completedStatements - leading);
  }
}

/**
 * A client for node-pg-migrate (it needs only `query`) that holds a migration's statements from `BEGIN;` and
 * sends them with the `COMMIT;`. Anything else (a query with parameters, node-pg-migrate's own reads) goes
 * out as it comes, after whatever is held. `afterBegin`: how many statements come between the `BEGIN;` and the
 * migration's SQL (the time zone's, time-zone.ts, and the transaction guard's, transaction-guard.ts).
 */
export function withOneMessagePerTransaction(
  client: Pick<ClientBase, "query">,
  afterBegin = 0,
): Pick<ClientBase, "query"> {
  const send = client.query.bind(client) as unknown as Query;
  let holding: string[] | undefined;

  const flush = async (last?: string): Promise<QueryResult | undefined> => {
    if (!holding) return undefined;
    const statements = last ? [...holding, last] : holding;
    holding = undefined;
    const { text, starts } = joinStatements(statements);
    try {
      const results = (await send(text)) as QueryResult | QueryResult[];
      return Array.isArray(results) ? results.at(-1) : results;
    } catch (error) {
      positionInStatement(error, starts);
      countFromSql(error, 1 + afterBegin);
      throw error;
    }
  };

  const query: Query = async (config, values) => {
    const text = typeof config === "string" && values === undefined ? config : undefined;
    if (text === BEGIN && !holding) {
      holding = [text];
      return held();
    }
    if (holding && text !== undefined) {
      if (text === COMMIT) return (await flush(text))!;
      holding.push(text);
      return held();
    }
    await flush();
    return send(config, values);
  };
  return { query } as Pick<ClientBase, "query">;
}
