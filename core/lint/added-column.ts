// What fills a column an ALTER TABLE action adds, when squawk says it rewrites the table
// (adding-field-with-default). squawk's message for that rule speaks of "a generated column" whatever the
// column is; PostgreSQL rewrites the table for each of these, for a different reason and with its own way out.

/** identity: numbered; generated: computed by a STORED expression; volatile-default: a DEFAULT evaluated per row. */
export type RewritingColumn = "identity" | "generated" | "volatile-default";

const IDENTITY = /\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b/i;
const GENERATED = /\bGENERATED\s+ALWAYS\s+AS\s*\(/i;

/** The kind of column an `ADD [COLUMN]` action adds, as squawk's rewrite finding on it means it. */
export function rewritingColumn(action: string): RewritingColumn {
  if (IDENTITY.test(action)) return "identity";
  if (GENERATED.test(action)) return "generated";
  return "volatile-default";
}
