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

/**
 * What the app's insert into "Chunk" or "Message" gets with no organization set (unset, or empty as a finished
 * transaction leaves it): the trigger says so, with the policy's SQLSTATE (migration 20261207001335).
 */
export const NO_ORGANIZATION_SET = {
  code: "42501",
  message: expect.stringMatching(
    /^(Chunk "[^"]*": no organization is set \(app\.current_organization_id\), so no dataset is visible|Message "[^"]*": no organization is set \(app\.current_organization_id\), so no conversation is visible), "[^"]*" included$/,
  ),
  hint: "Set the organization first, in the same transaction: SELECT set_config('app.current_organization_id', <the organization's id>, true).",
};

/**
 * What a refused insert of a tenant row gets: the embedded tables refuse it in their trigger (saying so when the
 * session has no organization), the rest by policy.
 */
export const refusedInsert = (table: string, organization: string | undefined) =>
  table === "Chunk" || table === "Message"
    ? organization
      ? PARENT_NOT_FOUND
      : NO_ORGANIZATION_SET
    : RLS_VIOLATION;

/** What PostgreSQL raises when a role lacks a privilege (or is not the owner). */
export const PERMISSION_DENIED = {
  code: "42501",
  message: expect.stringMatching(/^(permission denied|must be owner|must be member)/),
};
