// What fills a column an ALTER TABLE action adds, when it rewrites the table (squawk's
// adding-field-with-default). squawk's message for that rule speaks of "a generated column" whatever the
// column is; PostgreSQL rewrites the table for each of these, for a different reason and with its own way out.
// squawk does not report a serial column at all (unflagged.ts reports it under the same rule).

/** identity: numbered; serial: numbered by its sequence's nextval() default; generated: computed by a STORED
 *  expression; volatile-default: a DEFAULT evaluated per row. */
export type RewritingColumn = "identity" | "serial" | "generated" | "volatile-default";

const IDENTITY = /\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b/i;
const GENERATED = /\bGENERATED\s+ALWAYS\s+AS\s*\(/i;
// ADD [COLUMN] [IF NOT EXISTS] name smallserial|serial|bigserial (or serial2, serial4, serial8).
const SERIAL =
  /^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s+(?:small|big)?serial[248]?\b/i;

/** Whether an ALTER TABLE action adds a serial column, whose nextval() default numbers every row present. */
export function addsSerialColumn(action: string): boolean {
  return SERIAL.test(action);
}

/** The kind of column an `ADD [COLUMN]` action adds, as a rewrite finding on it means it. */
export function rewritingColumn(action: string): RewritingColumn {
  if (IDENTITY.test(action)) return "identity";
  if (addsSerialColumn(action)) return "serial";
  if (GENERATED.test(action)) return "generated";
  return "volatile-default";
}
