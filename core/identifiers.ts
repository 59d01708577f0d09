// The one way to put a name (role, table, index, database) into SQL: pg's own escapeIdentifier, which
// double-quotes and doubles embedded quotes, exactly as PostgreSQL reads a quoted identifier.
import { escapeIdentifier } from "pg";

export function quoteIdentifier(name: string): string {
  return escapeIdentifier(name);
}
