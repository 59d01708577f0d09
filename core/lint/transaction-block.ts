// Statements PostgreSQL refuses inside a transaction block ("... cannot run inside a transaction block").
// Every migration runs in one (node-pg-migrate's BEGIN ... COMMIT, core/migrations/run.ts), so such a statement
// fails every apply, whatever the table holds: plan names it instead. The list is PostgreSQL 14's and later's;
// ALTER TYPE ... ADD VALUE is not on it, since it runs in a transaction from PostgreSQL 12 on.
import { INDEX_BY_HAND } from "./rules";
import type { Statement } from "./statements";

export interface OutsideTransaction {
  /** The command as PostgreSQL's error names it, e.g. "CREATE INDEX CONCURRENTLY". */
  command: string;
  /** What to do instead. */
  instead: string;
}

const NOT_SCHEMA =
  "run it by hand, outside the release: it changes no schema, so no migration needs to carry it";

const STATEMENTS: readonly (OutsideTransaction & { pattern: RegExp })[] = [
  {
    pattern: /^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i,
    command: "CREATE INDEX CONCURRENTLY",
    instead:
      "build the index by hand (CREATE INDEX CONCURRENTLY IF NOT EXISTS, as the migrator), check it is valid, then release a migration with CREATE INDEX IF NOT EXISTS of the same name, which finds it built (" +
      `${INDEX_BY_HAND}); on a table the release creates or one without rows, drop CONCURRENTLY`,
  },
  {
    pattern: /^\s*DROP\s+INDEX\s+CONCURRENTLY\b/i,
    command: "DROP INDEX CONCURRENTLY",
    instead:
      "drop the index by hand (DROP INDEX CONCURRENTLY IF EXISTS, as the migrator), then release a migration with DROP INDEX IF EXISTS of the same name, which finds it gone (" +
      `${INDEX_BY_HAND})`,
  },
  {
    pattern: /^\s*REINDEX\s+(?:\([^)]*\)\s*)?(?:INDEX|TABLE|SCHEMA|DATABASE|SYSTEM)\s+CONCURRENTLY\b/i,
    command: "REINDEX CONCURRENTLY",
    instead: NOT_SCHEMA,
  },
  {
    pattern: /^\s*REINDEX\s+(?:\([^)]*\)\s*)?(?:SCHEMA|DATABASE|SYSTEM)\b/i,
    command: "REINDEX SCHEMA, DATABASE or SYSTEM",
    instead: NOT_SCHEMA,
  },
  { pattern: /^\s*VACUUM\b/i, command: "VACUUM", instead: `leave it to autovacuum, or ${NOT_SCHEMA}` },
  // Without a table, CLUSTER reclusters every table, each in a transaction of its own.
  {
    pattern: /^\s*CLUSTER\s*(?:VERBOSE\s*|\([^)]*\)\s*)?;?\s*$/i,
    command: "CLUSTER of every table",
    instead: `name the table (CLUSTER "Table" USING index), or ${NOT_SCHEMA}`,
  },
  {
    pattern: /^\s*ALTER\s+TABLE\b[\s\S]*\bDETACH\s+PARTITION\b[\s\S]*\bCONCURRENTLY\b/i,
    command: "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY",
    instead:
      "detach the partition by hand, outside the release, or without CONCURRENTLY in the migration (which locks the parent table for the detach)",
  },
  {
    pattern: /^\s*ALTER\s+SYSTEM\b/i,
    command: "ALTER SYSTEM",
    instead:
      "set server parameters in the stack's configuration (parameter group, postgresql.conf), not in a migration",
  },
  {
    pattern: /^\s*(?:CREATE|DROP)\s+DATABASE\b/i,
    command: "CREATE DATABASE or DROP DATABASE",
    instead: "create databases with the stack, not in a migration, which runs inside one",
  },
  {
    pattern: /^\s*ALTER\s+DATABASE\b[\s\S]*\bSET\s+TABLESPACE\b/i,
    command: "ALTER DATABASE ... SET TABLESPACE",
    instead: "move the database by hand, outside the release",
  },
  {
    pattern: /^\s*(?:CREATE|DROP)\s+TABLESPACE\b/i,
    command: "CREATE TABLESPACE or DROP TABLESPACE",
    instead: "manage tablespaces with the server, not in a migration",
  },
  {
    pattern: /^\s*DISCARD\s+ALL\b/i,
    command: "DISCARD ALL",
    instead: "leave it out: a migration's session settings end with its transaction",
  },
  {
    pattern: /^\s*(?:COMMIT|ROLLBACK)\s+PREPARED\b/i,
    command: "COMMIT PREPARED or ROLLBACK PREPARED",
    instead: "finish prepared transactions by hand, outside the release",
  },
];

/** The command of a statement PostgreSQL refuses inside a transaction block, or undefined. */
export function outsideTransaction(statement: Statement): OutsideTransaction | undefined {
  const found = STATEMENTS.find(({ pattern }) => pattern.test(statement.code));
  return found && { command: found.command, instead: found.instead };
}
