// Which statement of a migration's SQL failed, when the server's error has no position: an error raised while
// a statement runs (a missing column in ALTER TABLE ... DROP COLUMN, a statement timeout, a constraint) points
// at no character of it. node-pg-migrate sends a whole section as one simple query, and the server answers each
// statement of it that completes with a CommandComplete message before the error; so the count of those is
// the index of the statement that failed. pg's Query keeps that count to itself: its handler is wrapped to
// count them.
import { Query, type ClientBase, type QueryResult } from "pg";

/** An error of a query sent through withStatementCounts: how many of its statements completed before it. */
export interface CountedError {
  completedStatements?: number;
}

/** Query's handler for each CommandComplete message (pg calls it on the active query; @types/pg omits it). */
interface CommandCompleteHandler {
  handleCommandComplete(message: unknown, connection: unknown): void;
}

/**
 * A client for node-pg-migrate (it needs only `query`) whose plain-text queries' errors carry
 * `completedStatements`. Queries with parameters or a config object go out unchanged.
 */
export function withStatementCounts(client: Pick<ClientBase, "query">): Pick<ClientBase, "query"> {
  const send = client.query.bind(client) as unknown as (config: unknown, values?: unknown) => unknown;
  const query = (config: unknown, values?: unknown): Promise<QueryResult> => {
    if (typeof config !== "string" || values !== undefined) {
      return send(config, values) as Promise<QueryResult>;
    }
    return new Promise((resolve, reject) => {
      let completed = 0;
      const counting = new Query(config, undefined, (error, result) => {
        if (!error) return resolve(result as unknown as QueryResult);
        (error as CountedError).completedStatements = completed;
        reject(error);
      }) as Query & CommandCompleteHandler;
      const handle = counting.handleCommandComplete.bind(counting);
      counting.handleCommandComplete = (message, connection) => {
        completed += 1;
        handle(message, connection);
      };
      send(counting);
    });
  };
  return { query } as Pick<ClientBase, "query">;
}
