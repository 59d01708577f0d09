// Transaction control in a migration's section. The engine runs each migration in one transaction: its section
// and its ledger row (node-pg-migrate's BEGIN ... COMMIT, core/migrations/run.ts), all or nothing. A COMMIT or
// ROLLBACK among the section's statements ends that transaction part way, and PostgreSQL goes on with the
// statements after it outside it: a COMMIT leaves what ran before it applied when a later statement fails, with
// no ledger row to say so; a ROLLBACK undoes what ran before it, and the ledger still records the migration.
// BEGIN inside the migration's transaction starts none (PostgreSQL warns and goes on), but says the section means
// to manage transactions of its own. In a DO block's body, COMMIT and ROLLBACK are refused inside a transaction
// block ("invalid transaction termination"): apply would stop at them, as it would at a CALL of a procedure the
// section defines whose body commits (called-functions.ts). The runner checks the same at run time
// (core/migrations/transaction-guard.ts), for what this reading cannot see, such as a function that ends it.
// ROLLBACK TO SAVEPOINT, SAVEPOINT and RELEASE SAVEPOINT stay inside the transaction, and are fine.
import { callsIn, definedFunctions, type DefinedFunction } from "./called-functions";
import { doBlockBody, withoutStrings } from "./do-blocks";
import { splitStatements, type Statement } from "./statements";

export interface TransactionControl {
  /** The command as written, e.g. "COMMIT", "START TRANSACTION", "COMMIT in a DO block". */
  command: string;
  /** Where it is, as an offset in the statement's code. */
  offset: number;
  problem: string;
}

/** Where the runbook says what to do with a backfill too long for one migration's transaction. */
export const BACKFILL_OUTSIDE_RELEASE =
  "docs/runbook.md#lock-timeouts-a-migration-never-waits-long-for-a-table";

const CHAIN = String.raw`(?:\s+(?:WORK|TRANSACTION))?(?:\s+AND\s+(?:NO\s+)?CHAIN)?\s*;?\s*$`;

const TOP_LEVEL: readonly { pattern: RegExp; does: (command: string, run: string) => string }[] = [
  {
    pattern: new RegExp(String.raw`^\s*(COMMIT|END)${CHAIN}`, "i"),
    does: (command, run) =>
      run === "apply"
        ? `${command} commits the migration's transaction part way: what ran before it stays applied even when a later statement fails, and apply records no ledger row for it, so the database is left with part of the migration.`
        : `${command} commits the migration's transaction part way: what ran before it stays reverted even when a later statement fails, and the ledger row stays, so the database is left with part of the migration reverted and the ledger saying it is applied.`,
  },
  {
    pattern: new RegExp(String.raw`^\s*(ROLLBACK|ABORT)${CHAIN}`, "i"),
    does: (command, run) =>
      `${command} rolls back what ran before it, and PostgreSQL runs the statements after it outside the migration's transaction: ${run} would go on and record the migration as ${run === "apply" ? "applied" : "reverted"}, though part of it did not run.`,
  },
  {
    pattern: /^\s*(BEGIN|START\s+TRANSACTION)\b/i,
    does: (command) =>
      `${command} inside the migration's transaction starts none (PostgreSQL warns and goes on): the section is written to manage transactions of its own, and a COMMIT or ROLLBACK after it would end the migration's transaction part way.`,
  },
  {
    pattern: /^\s*(PREPARE\s+TRANSACTION)\b/i,
    does: (command, run) =>
      `${command} ends the migration's transaction, leaving it prepared, with its locks held, until someone commits or rolls it back by hand; the statements after it run outside it, and ${run} would record the migration without its changes.`,
  },
];

/** A PL/pgSQL statement that is COMMIT or ROLLBACK, after what may start a block or branch before it. */
const PLPGSQL_END =
  /^((?:[\s\S]*\b(?:BEGIN|THEN|ELSE|LOOP)\s+|\s*(?:<<\s*\w+\s*>>\s*)?))(COMMIT|ROLLBACK)\b(?:\s+AND\s+(?:NO\s+)?CHAIN)?\s*;?\s*$/i;

/**
 * The transaction control in each of `statements` (a section's, in order), at the top level or in a DO block's
 * body. `run`: the command that runs the section ("apply" for an Up section, "revert" for a Down one).
 */
export function transactionControls(
  statements: readonly Statement[],
  run: "apply" | "revert",
): Map<Statement, TransactionControl> {
  const found = new Map<Statement, TransactionControl>();
  const defined = definedFunctions(statements);
  // A SQL-standard function body (BEGIN ATOMIC ... END) holds `;`s, so the statement reader ends the CREATE
  // FUNCTION at the first of them: its END is the body's, not a transaction's.
  let atomic = 0;
  for (const statement of statements) {
    const code = withoutStrings(statement.code);
    if (atomic > 0) {
      if (/^\s*END\s*;?\s*$/i.test(code)) atomic -= 1;
      continue;
    }
    if (/\bBEGIN\s+ATOMIC\b/i.test(code) && !/\bBEGIN\s+ATOMIC\s+END\s*;?\s*$/i.test(code)) {
      atomic += 1;
      continue;
    }
    const top = TOP_LEVEL.map(({ pattern, does }) => ({ match: pattern.exec(code), does })).find(
      (t) => t.match,
    );
    if (top?.match) {
      const command = top.match[1]!.toUpperCase().replace(/\s+/g, " ");
      found.set(statement, {
        command,
        offset: top.match.index + top.match[0].search(/\S/),
        problem: top.does(command, run),
      });
      continue;
    }
    const inBody = doBlockEnd(statement) ?? calledEnd(statement, defined);
    if (inBody) found.set(statement, inBody);
  }
  return found;
}

/**
 * A COMMIT or ROLLBACK in the body of a function or procedure the section defines that `statement` calls, or
 * one it calls in turn: refused inside the migration's transaction, as in a DO block. Said at the call, where
 * the migration stops (two calls of one procedure are two places to change), naming the procedure.
 */
function calledEnd(
  statement: Statement,
  defined: ReadonlyMap<string, DefinedFunction>,
): TransactionControl | undefined {
  const seen = new Set<DefinedFunction>();
  const visit = (called: readonly DefinedFunction[]): TransactionControl | undefined => {
    for (const fn of called) {
      if (seen.has(fn)) continue;
      seen.add(fn);
      for (const piece of fn.body.pieces) {
        const match = PLPGSQL_END.exec(withoutStrings(piece.code));
        if (!match) continue;
        const command = match[2]!.toUpperCase();
        return {
          command: `${command} in ${fn.kind} ${fn.name}`,
          offset: statement.code.search(/\S/),
          problem: `${command} in the body of ${fn.kind} ${fn.name}, which this statement calls, ends a transaction, which PostgreSQL refuses inside the migration's transaction (invalid transaction termination): the engine runs each migration in one, so PostgreSQL stops the migration at the call.`,
        };
      }
      for (const piece of fn.body.pieces) {
        const inner = visit(callsIn(piece, defined));
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return visit(callsIn(statement, defined));
}

/** A COMMIT or ROLLBACK among a PL/pgSQL DO block's statements: refused inside the migration's transaction. */
function doBlockEnd(statement: Statement): TransactionControl | undefined {
  const block = doBlockBody(statement);
  if (!block || block.language !== "plpgsql") return undefined;
  for (const inner of splitStatements(block.body)) {
    const match = PLPGSQL_END.exec(withoutStrings(inner.code));
    if (!match) continue;
    const command = match[2]!.toUpperCase();
    return {
      command: `${command} in a DO block`,
      offset: block.at + inner.start + match[1]!.length,
      problem: `${command} in a DO block's body ends a transaction, which PostgreSQL refuses inside the migration's transaction (invalid transaction termination): the engine runs each migration in one, and ending it inside would leave part of the migration applied, so PostgreSQL stops the migration at it.`,
    };
  }
  return undefined;
}

/** What to do about transaction control in a migration. */
export const TRANSACTION_CONTROL_FIX = `remove it: the engine runs each migration in one transaction and commits it, with its ledger row, once the section ends. If the intent was two transactions, split it into two migrations; a backfill in batches belongs in a migration of its own or in batches outside the release (${BACKFILL_OUTSIDE_RELEASE})`;
