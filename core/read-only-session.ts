// A write refused because the session is read-only (SQLSTATE 25006): a hot standby, or
// default_transaction_read_only set for the database, the login's role or in the URL's options. Neither the
// migration file nor the command is at fault, so the fix names where the setting comes from instead.

/** PostgreSQL's read_only_sql_transaction. */
export const READ_ONLY_TRANSACTION = "25006";

export function isReadOnlyRefusal(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === READ_ONLY_TRANSACTION;
}

/** The fix of a write a read-only session refused, naming the login and database (quoted) where known. */
export function readOnlySessionFix({ user = "<login>", database = "<database>" } = {}): string {
  return (
    "The session is read-only: the server is a standby (connect to the primary instead), or default_transaction_read_only is on " +
    `for the database, the role or the URL's options (SHOW default_transaction_read_only says so; ALTER DATABASE ${database} RESET ` +
    `default_transaction_read_only or ALTER ROLE ${user} RESET default_transaction_read_only as its owner, or take it out of the URL). ` +
    "Then run the command again."
  );
}
