// Transactions the way the application runs them: the organization set for the transaction only.
import { expect } from "vitest";
import type { ClientBase } from "pg";

export const SETTING = "app.current_organization_id";

/**
 * Runs `fn` in a transaction that first names `organization` (`undefined` leaves the setting untouched).
 * Commits when `fn` succeeds; rolls back and rethrows when it fails, or always with `rollback`.
 */
export async function inTransaction<T>(
  client: ClientBase,
  organization: string | undefined,
  fn: (client: ClientBase) => Promise<T>,
  options: { rollback?: boolean } = {},
): Promise<T> {
  await client.query("BEGIN");
  try {
    if (organization !== undefined)
      await client.query("SELECT set_config($1, $2, true)", [SETTING, organization]);
    const result = await fn(client);
    await client.query(options.rollback ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

/** What PostgreSQL raises when a written row fails a policy's WITH CHECK. */
export const RLS_VIOLATION = {
  code: "42501",
  message: expect.stringMatching(/^new row violates row-level security policy/),
};

/**
 * What a login's insert into "Chunk" or "Message" gets when the dataset or conversation is invisible to it (or
 * missing): the tenant-column trigger finds no parent, before the policy's check (migration 20261206150100).
 */
export const PARENT_NOT_FOUND = {
  code: "23503",
  message: expect.stringMatching(
    /^(Chunk "[^"]*": dataset|Message "[^"]*": conversation) "[^"]*" does not exist$/,
  ),
};

/** What a refused insert of a tenant row gets: the embedded tables refuse it in their trigger, the rest by policy. */
export const refusedInsert = (table: string) =>
  table === "Chunk" || table === "Message" ? PARENT_NOT_FOUND : RLS_VIOLATION;

/** What PostgreSQL raises when a role lacks a privilege (or is not the owner). */
export const PERMISSION_DENIED = {
  code: "42501",
  message: expect.stringMatching(/^(permission denied|must be owner|must be member)/),
};
