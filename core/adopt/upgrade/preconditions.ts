// What the upgrade needs of the role it runs as, checked from the catalog before it writes anything, so that
// a run that cannot finish leaves no staging and work schemas behind: it must act as the owner of the legacy
// tables (it reads them, puts its mirror triggers on them and moves them at the cutover), and the release's
// extensions must be there or be its to create. plan --upgrade-legacy lists the same as problems; apply
// refuses on them.
import type { ClientBase } from "pg";
import { closestName } from "../../closest-name";
import { ReleaseError, joinFixes } from "../../errors";
import { uncreatableExtensions } from "../../extensions";
import { quoteIdentifier } from "../../identifiers";
import { LEGACY_TABLES } from "../legacy-inspection";
import { LEGACY_SCHEMA } from "./names";
import { UPGRADE_STOPS, type UpgradeStop } from "./stops";
import type { LegacyDependent, UncarriedColumn } from "./uncarried";
import { upgradingLoginProblem } from "./upgrading-login";

export interface UpgradeProblem {
  code: "permission" | "missing-pgvector" | "invalid-input";
  message: string;
  fix: string;
  /** What the upgrade would lose (uncarried.ts), as fields. */
  details?: { columns: UncarriedColumn[] } | { dependents: LegacyDependent[] };
}

/** Moved with the legacy tables at the cutover, so the upgrade must own it too. */
const PRISMA_LEDGER = "_prisma_migrations";

/** The upgrade's command line without URL and owner role, and the --owner-role given: for the login check. */
export interface UpgradeLogin {
  command: string;
  ownerRole: string | undefined;
}

/**
 * Checked before the first write (`start`) and again on a resumed run (`resume`), whose fix says so. The
 * wrong login is the only problem named: what the tables' owner or an extension would need is the right
 * login's to find out.
 */
export async function upgradeProblems(
  client: ClientBase,
  stop: Extract<UpgradeStop, "start" | "resume">,
  login: UpgradeLogin,
): Promise<UpgradeProblem[]> {
  const { state } = UPGRADE_STOPS[stop];
  const wrongLogin = await upgradingLoginProblem(client, login.command, login.ownerRole);
  if (wrongLogin) return [{ ...wrongLogin, fix: `${wrongLogin.fix} ${state}` }];
  const extensions = await uncreatableExtensions(client);
  return [
    ...(await missingLegacyTableProblems(client)).map((p) => ({ ...p, fix: `${p.fix} ${state}` })),
    ...(await legacyOwnerProblems(client)).map((p) => ({ ...p, fix: `${p.fix} ${state}` })),
    ...extensions.map(({ message, fix }) => ({
      code: "missing-pgvector" as const,
      message,
      fix: `${fix} ${state}`,
    })),
  ];
}

/** Refuses the upgrade on any of them, all named in one error. */
export function refuseUpgradeProblems(problems: readonly UpgradeProblem[], stop: UpgradeStop): void {
  if (problems.length === 0) return;
  throw new ReleaseError(
    problems[0]!.code,
    `The upgrade cannot run as this role, ${UPGRADE_STOPS[stop].stopped}:\n${problems.map((p) => `- ${p.message}`).join("\n")}`,
    joinFixes(problems.map((p) => p.fix)),
  );
}

/**
 * The legacy tables that are not in the legacy schema (renamed, dropped, moved), each named with the table
 * of the schema whose name is close to it, as a rename to undo. The database is recognised as the legacy one
 * by its "Message" alone (legacy-inspection.ts), and the upgrade copies every legacy table: without this, a
 * missing one passed every check and stopped the run at its first batch, after the staging schema and the
 * mirror triggers were made.
 */
async function missingLegacyTableProblems(client: ClientBase): Promise<UpgradeProblem[]> {
  const { rows } = await client.query<{ name: string; shown: string }>(
    `SELECT c.relname AS name, format('%I.%I', n.nspname, c.relname) AS shown
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [LEGACY_SCHEMA],
  );
  const present = new Set(rows.map((r) => r.name));
  const missing = LEGACY_TABLES.filter((t) => !present.has(t));
  if (missing.length === 0) return [];
  const others = rows.filter((r) => !(LEGACY_TABLES as readonly string[]).includes(r.name));
  const undo = missing.map((table) => {
    const close = closestName(
      table.toLowerCase(),
      others.map((r) => r.name.toLowerCase()),
    );
    const renamed = close === undefined ? undefined : others.find((r) => r.name.toLowerCase() === close)!;
    return renamed
      ? `${renamed.shown} looks like ${quoteIdentifier(table)} renamed: rename it back (ALTER TABLE ${renamed.shown} RENAME TO ${quoteIdentifier(table)};) once the old app no longer uses the new name`
      : `restore ${quoteIdentifier(table)} from the snapshot taken before the upgrade (docs/runbook.md, "Upgrading a Prisma-era database")`;
  });
  const names = missing.map((t) => quoteIdentifier(t)).join(", ");
  return [
    {
      code: "invalid-input",
      message:
        `${missing.length} legacy table(s) of the Prisma-era schema are not in schema ${LEGACY_SCHEMA}: ${names}. ` +
        `The upgrade copies every one of them (${LEGACY_TABLES.join(", ")}), and would stop at the first batch of a missing one.`,
      fix: `${undo.join("; ")}; then run the same command again.`,
    },
  ];
}

/**
 * The legacy tables whose owner the current role is not (nor a member of), grouped by owner: each owner
 * named, with the statements that hand its tables to the current role and keep its DML on them, so the old
 * app (which connects as that owner, as Prisma did) goes on working until the cutover. The schema's USAGE is
 * granted to that owner by name: it reached its tables as the database's owner or through PUBLIC, and the
 * access layer hands the database to the owner role and revokes PUBLIC's privileges on the schema, after
 * which the old app no longer finds its tables at all ("relation does not exist").
 */
async function legacyOwnerProblems(client: ClientBase): Promise<UpgradeProblem[]> {
  const { rows } = await client.query<{ owner: string; role: string; schema: string; tables: string[] }>(
    `SELECT pg_get_userbyid(c.relowner) AS owner, current_user AS role, format('%I', $1::text) AS schema,
            array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY c.relname) AS tables
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
        AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
      GROUP BY c.relowner
      ORDER BY 1`,
    [LEGACY_SCHEMA, [...LEGACY_TABLES, PRISMA_LEDGER]],
  );
  return rows.map(({ owner, role, schema, tables }) => {
    const quotedOwner = quoteIdentifier(owner);
    const quotedRole = quoteIdentifier(role);
    return {
      code: "permission",
      message:
        `${tables.length} legacy table(s) belong to role "${owner}" (${tables.join(", ")}), and the upgrade runs as "${role}", which is not a member of it: ` +
        "it reads them, puts its mirror triggers on them and moves them at the cutover, which only their owner may.",
      fix:
        `As an administrator (a superuser, or a member of both "${owner}" and "${role}"), hand them to "${role}" and keep "${owner}"'s access for the old app until the cutover: ` +
        `${tables.map((t) => `ALTER TABLE ${t} OWNER TO ${quotedRole};`).join(" ")} GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables.join(", ")} TO ${quotedOwner}; ` +
        `GRANT USAGE ON SCHEMA ${schema} TO ${quotedOwner}; ` +
        "then run the same command again.",
    };
  });
}
