// Adopting with an owner role hands it the objects the proven migrations created. The tool that built the
// schema (the upstream node-pg-migrate CLI, Prisma, a hand) ran as a login, so that login owns every table;
// a release that runs as the owner role could then neither alter them (a later migration's ALTER TABLE needs
// the owner) nor index them, and row-level security would hide their rows from it. The objects to hand over
// are those the scratch build of the same migrations gives the owner role and the live database gives
// another: objects the migrations do not create are left as they are, with their owners.
import type { ClientBase } from "pg";
import { ReleaseError } from "../errors";
import { quoteIdentifier } from "../identifiers";
import { diffSnapshots, type SchemaSnapshot } from "../snapshot";
import { repairStatements } from "../snapshot-repair";

export interface OwnerHandOver {
  /** The object as ALTER ... OWNER names it, e.g. `TABLE public."Chunk"`. */
  object: string;
  /** Its owner before the hand-over. */
  from: string;
  statement: string;
}

// A table's ALTER ... OWNER also hands over its indexes and the sequences it owns; a sequence linked to a
// table refuses one of its own unless its owner is the new one already. So tables go before sequences.
const ORDER = ["SCHEMA", "TYPE", "TABLE", "VIEW", "MATERIALIZED VIEW", "FUNCTION", "PROCEDURE", "SEQUENCE"];

/**
 * What to hand over: each object whose owner is `ownerRole` in `expected` (the scratch build, run as that
 * role) and another role in `live`, with its `ALTER ... OWNER TO` statement.
 */
function ownerHandOvers(
  expected: SchemaSnapshot,
  live: SchemaSnapshot,
  ownerRoleAsQuoted: string,
): OwnerHandOver[] {
  const owners = (snapshot: SchemaSnapshot) =>
    Object.fromEntries(Object.entries(snapshot).filter(([key]) => key.startsWith("owner ")));
  const changed = diffSnapshots(owners(expected), owners(live)).changed.filter(
    (key) => expected[key] === ownerRoleAsQuoted,
  );
  const statements = repairStatements(expected, live, { changed, removed: [], added: [] });
  return changed
    .map((key) => ({ object: key.slice("owner ".length), from: live[key]!, statement: statements[key]! }))
    .sort((a, b) => kindRank(a.object) - kindRank(b.object) || a.object.localeCompare(b.object));
}

function kindRank(object: string): number {
  const rank = ORDER.findIndex((kind) => object.startsWith(`${kind} `));
  return rank < 0 ? ORDER.length : rank;
}

/**
 * The hand-overs adopting as `ownerRole` needs, checked before anything is written: the session's login must
 * be a member of each object's owner and of the owner role, which is what changing an owner asks.
 */
export async function planOwnerHandOvers(
  client: ClientBase,
  expected: SchemaSnapshot,
  live: SchemaSnapshot,
  ownerRole: string,
): Promise<OwnerHandOver[]> {
  const quoted = (await client.query<{ q: string }>("SELECT quote_ident($1) AS q", [ownerRole])).rows[0]!.q;
  const handOvers = ownerHandOvers(expected, live, quoted);
  if (handOvers.length === 0) return handOvers;
  // Roles as the snapshot spells them (quote_ident), compared in that spelling. The old owners' privileges
  // are needed (USAGE: a member that inherits them); of the owner role, membership.
  const refused = await client.query<{ role: string; login: string }>(
    `SELECT r.role, session_user::text AS login
       FROM unnest($1::text[]) AS r(role)
       JOIN pg_roles o ON quote_ident(o.rolname) = r.role
      WHERE NOT pg_has_role(session_user, o.oid, CASE WHEN r.role = $2 THEN 'MEMBER' ELSE 'USAGE' END)`,
    [[...new Set([...handOvers.map((h) => h.from), quoted])], quoted],
  );
  if (refused.rows.length > 0) {
    const roles = refused.rows.map((r) => r.role);
    const shown = handOvers.slice(0, 3).map((h) => `${h.object}, owned by ${h.from}`);
    if (handOvers.length > shown.length) shown.push("...");
    throw new ReleaseError(
      "permission",
      `With the owner role ${ownerRole}, the ${handOvers.length} object(s) the migrations created are handed to it (${shown.join("; ")}), and changing an owner needs a login that is a member of the old owner and the new: "${refused.rows[0]!.login}" is not a member of ${roles.join(" nor of ")}.`,
      `Run it as a login that is a member of every owner listed and of ${ownerRole} (the stack's admin, or a superuser). Nothing was written.`,
    );
  }
  return handOvers;
}

/**
 * The GRANTs that give each handed-over table, view and sequence what the owner role's default privileges
 * give one it creates (the access layer's: the app and read-only logins'). Default privileges apply to new
 * objects only, so without them an adopted table stays closed to the app login, while the same table built
 * by a release is open to it; verify, comparing with the snapshot taken after adopting, would not see it.
 */
async function defaultPrivilegeGrants(
  client: ClientBase,
  handOvers: readonly OwnerHandOver[],
  ownerRole: string,
): Promise<string[]> {
  const relations = handOvers
    .map((h) => /^(?:TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE) (.+)$/.exec(h.object)?.[1])
    .filter((name): name is string => name !== undefined);
  if (relations.length === 0) return [];
  const { rows } = await client.query<{ statement: string }>(
    `SELECT format('GRANT %s ON %s %s TO %s', string_agg(DISTINCT a.privilege_type, ', '),
                   CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END) AS statement
       FROM unnest($1::text[]) AS r(name)
       JOIN pg_class c ON c.oid = to_regclass(r.name)
       JOIN pg_default_acl d ON d.defaclrole = to_regrole(quote_ident($2))
                            AND d.defaclobjtype = CASE WHEN c.relkind = 'S' THEN 'S' ELSE 'r' END
                            AND d.defaclnamespace IN (0, c.relnamespace)
       CROSS JOIN LATERAL aclexplode(d.defaclacl) a
      WHERE a.grantee <> d.defaclrole
      GROUP BY c.oid, c.relkind, a.grantee
      ORDER BY c.oid::regclass::text, 1`,
    [relations, ownerRole],
  );
  return rows.map((r) => r.statement);
}

/**
 * Runs the hand-overs inside the caller's transaction as the session's login (not the owner role: changing an
 * owner needs membership in the old owner as well as the new), then, as the owner role, grants on them what
 * its default privileges give (defaultPrivilegeGrants), and returns those GRANTs. A refusal names the object
 * and the fix.
 */
export async function handOverOwners(
  client: ClientBase,
  handOvers: readonly OwnerHandOver[],
  ownerRole: string,
): Promise<string[]> {
  await client.query("RESET ROLE");
  for (const handOver of handOvers) {
    try {
      await client.query(handOver.statement);
    } catch (error) {
      if ((error as { code?: string }).code !== "42501") throw error;
      throw new ReleaseError(
        "permission",
        `Could not hand ${handOver.object} from ${handOver.from} to the owner role ${ownerRole}: ${(error as Error).message}`,
        `Run this as a login that is a member of both ${handOver.from} and ${ownerRole} (the stack's admin, or a superuser). Nothing was written.`,
        { cause: error },
      );
    }
  }
  await client.query(`SET ROLE ${quoteIdentifier(ownerRole)}`);
  const grants = await defaultPrivilegeGrants(client, handOvers, ownerRole);
  for (const grant of grants) await client.query(grant);
  return grants;
}
