// A read of what the release created (the vector-index step's columns, the search calibration's, the seed
// tables, health's and status's records) that finds a column or table gone: the live schema is no longer the
// release's (a column renamed by hand, a restore that left the schema half old). The steps read those objects
// in many statements, batched and not; rather than guard each one, the session's edge (release.ts, health)
// maps the server's "does not exist" into this one error, which says what verify would say of it.
import type { ClientBase } from "pg";
import { ReleaseError } from "./errors";
import { diffSnapshots, readSnapshot, shapeOf, takeSnapshot } from "./snapshot";

/** SQLSTATEs of a statement naming a column or a table the database does not have. */
const MISSING_OBJECT_CODES: ReadonlySet<string> = new Set([
  "42703", // undefined_column
  "42P01", // undefined_table
]);

/** The kinds of a snapshot key whose absence makes a read fail (an index or a trigger gone does not). */
const READ_KINDS: ReadonlySet<string> = new Set(["table", "column"]);

/** How many of the release's missing objects the message names; verify lists them all. */
const NAMED_AT_MOST = 5;

export const SCHEMA_DRIFT_FIX =
  "Run neonhub-db verify to see the drift and its repair; once the schema is the release's again, run the command again.";

interface ServerError {
  code?: string;
  message?: string;
  hint?: string;
}

export function isMissingObjectError(error: unknown): boolean {
  const code = (error as ServerError | undefined)?.code;
  return code !== undefined && MISSING_OBJECT_CODES.has(code);
}

/**
 * The schema-drift error for a missing column or table, or undefined for any other error. Names the tables
 * and columns the release recorded that the live catalog lacks, when the recorded snapshot is readable on
 * `client` (not in an aborted transaction; the caller rolls back first); else the server's words alone.
 */
export async function schemaDriftError(
  client: ClientBase,
  error: unknown,
): Promise<ReleaseError | undefined> {
  if (!isMissingObjectError(error)) return undefined;
  const server = error as ServerError;
  const hint = server.hint ? ` (${server.hint})` : "";
  const missing = await missingReleaseObjects(client);
  const named =
    missing.length === 0
      ? ""
      : ` The release created ${missing.slice(0, NAMED_AT_MOST).join(", ")}${
          missing.length > NAMED_AT_MOST ? ` and ${missing.length - NAMED_AT_MOST} more` : ""
        }, which the database no longer has.`;
  return new ReleaseError(
    "schema-drift",
    `The live schema differs from the release's: reading what the release created failed: ${server.message ?? String(error)}${hint}.${named}`,
    SCHEMA_DRIFT_FIX,
    { cause: error },
  );
}

/** "column public.Chunk.embedding", ...: what the recorded snapshot has and the live catalog lacks. */
async function missingReleaseObjects(client: ClientBase): Promise<string[]> {
  try {
    const recorded = await readSnapshot(client);
    if (!recorded) return [];
    const { removed } = diffSnapshots(shapeOf(recorded.objects), shapeOf(await takeSnapshot(client)));
    return removed.filter((key) => READ_KINDS.has(key.split(" ", 1)[0]!));
  } catch {
    // Naming them is a courtesy: the error itself is what the operator needs.
    return [];
  }
}
