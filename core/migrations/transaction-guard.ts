// Whether a migration's section ended the transaction it runs in. node-pg-migrate runs each migration as
// `BEGIN;`, the section's SQL, the ledger row's INSERT (DELETE, reverting) and `COMMIT;`: all or nothing, as long
// as the SQL leaves that transaction open. A COMMIT or ROLLBACK in it (the lint refuses those it reads,
// core/lint/transaction-control.ts; a function that ends it, it cannot see) makes PostgreSQL run what follows
// outside it: the ledger would record a migration part of which was rolled back, or one that failed would leave
// what ran before its COMMIT applied with no ledger row. This client records the transaction's id after the
// BEGIN, in a session setting, and checks it is still the same transaction before the ledger row is written: if
// not, the migration fails there (TRANSACTION_ENDED) and nothing more runs. The setting is set in the
// transaction, so it outlives a rollback only if what set it was committed: after a failure, a transaction id
// still in it says the section committed part of the migration.
import type { ClientBase, QueryResult } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "../bookkeeping";

type Query = (config: unknown, values?: unknown) => Promise<QueryResult>;

/** The SQLSTATE of the check's error (a class of the engine's own; PostgreSQL's are digits and letters too). */
export const TRANSACTION_ENDED = "NHTX1";

const SETTING = "neonhub.migration_transaction";
/** The setting's value between migrations: no migration's transaction is open. */
const NONE = "none";

/**
 * Before the first migration, outside a transaction (a select-list item): no migration's transaction is open.
 * A setting first created in a transaction that rolls back reads '' after it, not its value before.
 */
export const GUARD_START = `set_config('${SETTING}', '${NONE}', false)`;

/** After the BEGIN: the transaction's id, kept past its end only if it commits. */
const RECORD = `SELECT set_config('${SETTING}', txid_current()::text, false);`;

/**
 * Before the ledger row: still the transaction the BEGIN opened, else an error. A setting emptied by RESET ALL
 * in the section says nothing either way: it passes.
 */
const CHECK = `DO $neonhub_transaction_guard$
DECLARE recorded text := coalesce(current_setting('${SETTING}', true), '${NONE}');
BEGIN
  IF recorded <> '' AND recorded IS DISTINCT FROM txid_current()::text THEN
    RAISE EXCEPTION 'the migration''s section ended the transaction it runs in' USING ERRCODE = '${TRANSACTION_ENDED}';
  END IF;
  PERFORM set_config('${SETTING}', '${NONE}', false);
END $neonhub_transaction_guard$;`;

const BEGIN = "BEGIN;";
const LEDGER_ROW = new RegExp(
  String.raw`^(?:INSERT INTO|DELETE FROM) "${BOOKKEEPING_SCHEMA}"\."${MIGRATIONS_TABLE}"[ (]`,
);

/** How many statements the guard sends with node-pg-migrate's BEGIN, before the section's SQL (its own RECORD). */
export const GUARD_STATEMENTS_AFTER_BEGIN = 1;

/**
 * A client for node-pg-migrate (it needs only `query`) that records the transaction's id after each `BEGIN;`
 * and checks it before each ledger row. Everything else goes out as it comes.
 */
export function withTransactionGuard(client: Pick<ClientBase, "query">): Pick<ClientBase, "query"> {
  const send = client.query.bind(client) as unknown as Query;
  const query: Query = async (config, values) => {
    const text = typeof config === "string" && values === undefined ? config : undefined;
    if (text === BEGIN) {
      const begun = await send(text);
      await send(RECORD);
      return begun;
    }
    if (text !== undefined && LEDGER_ROW.test(text)) await send(CHECK);
    return send(config, values);
  };
  return { query } as Pick<ClientBase, "query">;
}

/**
 * After a migration failed and was rolled back: whether its section ended its transaction, and whether it
 * committed part of it on the way (a transaction id the setting kept). Clears the setting.
 */
export async function endedTransaction(
  client: Pick<ClientBase, "query">,
  error: unknown,
): Promise<{ committed: boolean } | undefined> {
  const kept = await client
    .query<{ value: string | null }>(
      `SELECT current_setting('${SETTING}', true) AS value, set_config('${SETTING}', '${NONE}', false)`,
    )
    .then((result) => result.rows[0]?.value ?? null)
    .catch(() => null);
  const committed = kept !== null && /^\d+$/.test(kept);
  if (committed) return { committed };
  return (error as { code?: unknown } | null)?.code === TRANSACTION_ENDED ? { committed } : undefined;
}
