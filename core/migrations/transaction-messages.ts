// node-pg-migrate runs each migration as four statements, each sent and awaited on its own: `BEGIN;`, the
// file's SQL, the ledger row's INSERT (DELETE, reverting) and `COMMIT;`, and the engine's clients add their own
// statements after the BEGIN (the transaction guard's, the time zone's, the created-objects mark) and before
// the ledger row. Apply's clients send an Up section's transaction as one simple-query message instead, when
// the COMMIT comes: the same statements, in the same order, in the same transaction, one round trip instead of
// four. Revert's send a Down section's BEGIN and the statements after it as one message, before its SQL,
// which still goes out on its own. The server runs a message's statements in order and stops at the first
// error, so a failing statement (the SQL, the INSERT its ledger trigger refuses, a statement after the BEGIN)
// still leaves the transaction aborted with nothing of it committed, as one by one, and the error reaches
// node-pg-migrate from the statement it awaited (it awaits each step in turn and uses no step's result; see
// Migration._apply in node-pg-migrate), which then rolls it back (lock-safe-runner.ts).
// The error's position is made relative to the statement it points into again, so carets stay right, and its
// count of completed statements (statement-counts.ts) relative to the migration's SQL, which follows the BEGIN
// (and the statements after it).
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
 * How much of a migration's transaction goes in the message of its `BEGIN;`: all of it, sent with the
 * `COMMIT;` (Up sections), or the BEGIN and the `afterBegin` statements that follow it, sent with the last of
 * those (Down sections, whose SQL and ledger row then go out one by one).
 */
export type OneMessageHolds = "transaction" | "begin";

/**
 * A client for node-pg-migrate (it needs only `query`) that holds a migration's statements from `BEGIN;` and
 * sends them as one message, as `holds` says. Anything else (a query with parameters, node-pg-migrate's own
 * reads) goes out as it comes, after whatever is held. `afterBegin`: how many statements come between the
 * `BEGIN;` and the migration's SQL (the transaction guard's, transaction-guard.ts, the time zone's,
 * time-zone.ts, and the created-objects mark, created-objects.ts).
 */
export function withOneMessagePerTransaction(
  client: Pick<ClientBase, "query">,
  afterBegin = 0,
  holds: OneMessageHolds = "transaction",
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
    // A BEGIN with nothing after it to hold it for goes out as it comes.
    if (text === BEGIN && !holding && (holds === "transaction" || afterBegin > 0)) {
      holding = [text];
      return held();
    }
    if (holding && text !== undefined) {
      if (holds === "transaction" && text === COMMIT) return (await flush(text))!;
      if (holds === "begin" && holding.length === afterBegin) return (await flush(text))!;
      holding.push(text);
      return held();
    }
    await flush();
    return send(config, values);
  };
  return { query } as Pick<ClientBase, "query">;
}
