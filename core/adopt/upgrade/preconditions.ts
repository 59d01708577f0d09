// What the upgrade needs of the role it runs as, checked from the catalog before it writes anything, so that
// a run that cannot finish leaves no staging and work schemas behind: it must act as the owner of the legacy
// tables (it reads them, puts its mirror triggers on them and moves them at the cutover) and may read each of
// them, and the release's extensions must be there or be its to create. plan --upgrade-legacy lists the same
// as problems; apply refuses on them: both call upgradeProblems.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "../../command-to-run";
import { upgradeAgain } from "./again";
import { closestName } from "../../closest-name";
import { ReleaseError, joinFixes } from "../../errors";
import { uncreatableExtensions } from "../../extensions";
import { quoteIdentifier } from "../../identifiers";
import { LEGACY_TABLES } from "../legacy-inspection";
import { UPGRADING_SECTION } from "../runbook-sections";
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
 * login's to find out. `unreadChecks`: the server's refusals of the pre-flight's reads of the legacy rows
 * (LegacyInspection.unreadable), named when the catalog's privileges did not already name the table. `print`:
 * how a fix prints the upgrade to run again once its problem is fixed (upgradePrinter, run.ts: the CLI's whole
 * `apply --upgrade-legacy ...`, a stack's `pulumi up`); without one, the fixes say it in words.
 */
export async function upgradeProblems(
  client: ClientBase,
  stop: Extract<UpgradeStop, "start" | "resume">,
  login: UpgradeLogin,
  unreadChecks: readonly string[],
  print?: CommandPrinter,
): Promise<UpgradeProblem[]> {
  const { state } = UPGRADE_STOPS[stop];
  const wrongLogin = await upgradingLoginProblem(client, login.command, login.ownerRole, print);
  if (wrongLogin) return [{ ...wrongLogin, fix: `${wrongLogin.fix} ${state}` }];
  const extensions = await uncreatableExtensions(client, undefined, print);
  const owners = await legacyOwnerProblems(client, print);
  const reads = await legacyReadProblems(client, print);
  // A table another role owns is refused as that (its hand-over makes it readable too), and one named by the
  // catalog already is the reason its check could not read it.
  const unchecked =
    owners.length === 0 && reads.length === 0 ? uncheckedRowsProblems(unreadChecks, print) : [];
  return [
    ...(await missingLegacyTableProblems(client, print)).map((p) => ({ ...p, fix: `${p.fix} ${state}` })),
    ...[...owners, ...reads, ...unchecked].map((p) => ({ ...p, fix: `${p.fix} ${state}` })),
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
async function missingLegacyTableProblems(
  client: ClientBase,
  print: CommandPrinter | undefined,
): Promise<UpgradeProblem[]> {
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
      : `restore ${quoteIdentifier(table)} from the snapshot taken before the upgrade (${UPGRADING_SECTION})`;
  });
  const names = missing.map((t) => quoteIdentifier(t)).join(", ");
  return [
    {
      code: "invalid-input",
      message:
        `${missing.length} legacy table(s) of the Prisma-era schema are not in schema ${LEGACY_SCHEMA}: ${names}. ` +
        `The upgrade copies every one of them (${LEGACY_TABLES.join(", ")}), and would stop at the first batch of a missing one.`,
      fix: `${undo.join("; ")}; then ${upgradeAgain(print)}.`,
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
async function legacyOwnerProblems(
  client: ClientBase,
  print: CommandPrinter | undefined,
): Promise<UpgradeProblem[]> {
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
        `then ${upgradeAgain(print)}.`,
    };
  });
}

/**
 * The legacy tables the current role owns (or acts as the owner of) and may not read: an owner may revoke its
 * own SELECT. The pre-flight's checks, the backfill and the proof read every row of every legacy table, so
 * without this the checks skipped the table (and the plan said ready) and the backfill stopped at its first
 * batch; the owner (the role itself) gives it back.
 */
async function legacyReadProblems(
  client: ClientBase,
  print: CommandPrinter | undefined,
): Promise<UpgradeProblem[]> {
  const { rows } = await client.query<{ role: string; tables: string[] }>(
    `SELECT current_user AS role, array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY c.relname) AS tables
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
        AND pg_has_role(current_user, c.relowner, 'USAGE') AND NOT has_table_privilege(c.oid, 'SELECT')
     HAVING count(*) > 0`,
    [LEGACY_SCHEMA, LEGACY_TABLES],
  );
  return rows.map(({ role, tables }) => ({
    code: "permission",
    message:
      `${tables.length} legacy table(s) may not be read by "${role}", the role the upgrade acts as: ${tables.join(", ")} ` +
      "(their SELECT was revoked). The upgrade checks, copies and proves every row of them.",
    fix: `As "${role}" or an administrator, give it back: GRANT SELECT ON ${tables.join(", ")} TO ${quoteIdentifier(role)}; then ${upgradeAgain(print)}.`,
  }));
}

/**
 * The pre-flight's reads of the legacy rows the server refused for a reason the catalog's privileges above do
 * not show (a policy's function, say): the rows were not checked, and the upgrade would read them all.
 */
function uncheckedRowsProblems(
  unreadChecks: readonly string[],
  print: CommandPrinter | undefined,
): UpgradeProblem[] {
  if (unreadChecks.length === 0) return [];
  return [
    {
      code: "permission",
      message: `The legacy rows could not all be checked: ${unreadChecks.join("; ")}. The upgrade reads every row of every legacy table.`,
      fix: `Run it as the role that owns the legacy tables and may read them (with --owner-role when the owner role owns them), then ${upgradeAgain(print)}.`,
    },
  ];
}
