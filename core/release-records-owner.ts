// Who owns the release's records (schema neonhub_release), where the access layer's shape is in place: the
// database belongs to the stack's owner role, which cannot log in, and the migrator acts as it. baseline and
// adopt write the records as the role they run as; run by the admin without --owner-role, the records belong
// to the admin, and every later release, acting as the owner role, is refused them. baseline and adopt refuse
// that before anything is written (core/adopt/adopting-login.ts); the diagnosis here names the owner and the
// statements that hand them over, where a release meets records written that way (the admin chose it).
// A restore leaves the same: pg_restore run as the admin with --no-owner, or into a cluster that lacked the
// roles, makes the admin own every object, and a database made by `createdb` (or CREATE DATABASE ... TEMPLATE)
// without OWNER belongs to the admin too; there the release's other objects need verify's repairs as well.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "./bookkeeping";
import { shownUser } from "./dsn";
import { ReleaseError } from "./errors";
import { ownerRoleFlag } from "./owner-role-flag";
import { ADOPTING_SECTION } from "./adopt/runbook-sections";

interface RecordsOwnership {
  /** The role the release acts as (current_user): the migrator's is the owner role. */
  acting: string;
  /** The database's owner. */
  databaseOwner: string;
  /** ALTER DATABASE ... OWNER TO `acting`, for a database that belongs to another role. */
  databaseHandOver: string;
  /** The roles other than `acting` (and those it may act as) that own the schema or something in it. */
  owners: string[];
  /** ALTER ... OWNER TO `acting`, for the schema and each object in it that `acting` may not use as owner. */
  handOver: string[];
}

/**
 * The permission error for records the release runs into as the database's owner role and that another role
 * owns (baseline or adopt run as the admin without --owner-role, or a restore as the admin): it names that
 * owner, the statements that hand the records (and a database the admin owns) over, and how baseline and adopt
 * avoid it. Undefined when that is not the case (another login, say the app's, should use the migrator
 * instead), or when the catalog cannot be read.
 */
export async function releaseRecordsOwnerError(
  client: ClientBase,
  login: string,
  problem: string,
  cause?: unknown,
): Promise<ReleaseError | undefined> {
  const ownership = await readRecordsOwnership(client).catch(() => undefined);
  if (!ownership || ownership.owners.length === 0) return undefined;
  const { acting, databaseOwner, databaseHandOver, owners, handOver } = ownership;
  // The release runs as the database's owner role; a login that acts as another role than itself (the
  // migrator's SET ROLE) is the release's too, on a database a restore left to the admin. Any other login
  // (the app's, say) should use the migrator instead.
  const ownsDatabase = acting === databaseOwner;
  if (!ownsDatabase && login === acting) return undefined;
  const by = owners.map((o) => `"${o}"`).join(", ");
  const acts = login === acting ? "" : ` (as "${acting}", the role it acts as)`;
  const statements = ownsDatabase ? handOver : [databaseHandOver, ...handOver];
  const whose = ownsDatabase
    ? `not to "${acting}", the database's owner, which the release runs as`
    : `not to "${acting}", the role the release runs as, and the database belongs to "${databaseOwner}", not to it`;
  return new ReleaseError(
    "permission",
    `Permission denied for user ${shownUser(login)}${acts}: ${problem}. ` +
      `The release's records (schema ${BOOKKEEPING_SCHEMA}) belong to ${by}, ${whose}: ` +
      `baseline or adopt ran as ${by} without --owner-role, or a restore ran as ${by} (pg_restore --no-owner, ` +
      `or into a cluster without the roles; createdb or CREATE DATABASE without OWNER for the database).`,
    `As ${by} (or a superuser), hand them to the owner role: ${statements.join("; ")}. ` +
      `Then run the release again. After a restore, run verify next: the repairs it names, run as ${by}, give the release's other objects back their owner and grants. ` +
      `baseline and adopt avoid this with ${ownerRoleFlag(acting)} (${ADOPTING_SECTION}).`,
    { cause },
  );
}

async function readRecordsOwnership(client: ClientBase): Promise<RecordsOwnership | undefined> {
  // Sequences a table owns (serial, identity) change owner with their table, and may not be altered alone.
  const { rows } = await client.query<{
    acting: string;
    databaseOwner: string;
    databaseHandOver: string;
    owner: string | null;
    statement: string | null;
  }>(
    `WITH records AS (
       SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, current_user) AS statement, n.nspowner AS owner, 0 AS rank
         FROM pg_namespace n WHERE n.nspname = $1
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I',
                     CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                     c.oid::regclass, current_user), c.relowner, 1
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
       UNION ALL
       SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, current_user), p.proowner, 2
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1)
     SELECT current_user AS acting,
            (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS "databaseOwner",
            format('ALTER DATABASE %I OWNER TO %I', current_database(), current_user) AS "databaseHandOver",
            pg_get_userbyid(r.owner) AS owner, r.statement
       FROM (SELECT 1) one
       LEFT JOIN records r ON NOT pg_has_role(current_user, r.owner, 'USAGE')
      ORDER BY r.rank, r.statement`,
    [BOOKKEEPING_SCHEMA],
  );
  const first = rows[0];
  if (!first) return undefined;
  const foreign = rows.filter((r) => r.owner !== null && r.statement !== null);
  return {
    acting: first.acting,
    databaseOwner: first.databaseOwner,
    databaseHandOver: first.databaseHandOver,
    owners: [...new Set(foreign.map((r) => r.owner!))],
    handOver: foreign.map((r) => r.statement!),
  };
}
