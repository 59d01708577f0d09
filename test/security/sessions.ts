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

/** What PostgreSQL raises when a role lacks a privilege (or is not the owner). */
export const PERMISSION_DENIED = {
  code: "42501",
  message: expect.stringMatching(/^(permission denied|must be owner|must be member)/),
};
