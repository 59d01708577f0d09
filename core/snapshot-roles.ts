// The roles verify's repairs name, and those of them the cluster lacks. A database restored with pg_dump into
// a cluster without the stack's roles (pg_dump carries no roles; pg_dumpall --roles-only does) drifts in every
// owner and grant, and each repair (`ALTER ... OWNER TO <role>`, `GRANT ... TO <role>`) fails on a role that
// does not exist: verify says so once, with the way to make them, instead of leaving that to 150 failures.
import type { ClientBase } from "pg";
import type { SnapshotDiff, SchemaSnapshot } from "./snapshot";
import { parseGrant } from "./snapshot-repair";

/** A role as the snapshot writes it (quote_ident's output), unquoted. */
function unquoted(name: string): string {
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** The roles the recorded values of drifted owners, grants and default privileges name (PUBLIC is none). */
export function rolesOfRepairs(recorded: SchemaSnapshot, diff: SnapshotDiff): string[] {
  const roles = new Set<string>();
  for (const key of [...diff.removed, ...diff.changed]) {
    const kind = key.split(" ", 1)[0];
    const value = recorded[key];
    if (kind === "owner" && value) roles.add(unquoted(value));
    if (kind === "grant" || kind === "default-privileges") {
      const { to, scope } = parseGrant(value) ?? {};
      if (to && to !== "PUBLIC") roles.add(unquoted(to));
      const forRole = scope ? /^FOR ROLE ("(?:[^"]|"")+"|\S+)/.exec(scope)?.[1] : undefined;
      if (forRole) roles.add(unquoted(forRole));
    }
  }
  return [...roles].sort();
}

/** Of `roles`, those the cluster has no role of that name for. */
export async function rolesMissing(client: ClientBase, roles: readonly string[]): Promise<string[]> {
  if (roles.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(
    `SELECT r AS name FROM unnest($1::text[]) r
      WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) ORDER BY 1`,
    [roles],
  );
  return rows.map((r) => r.name);
}
