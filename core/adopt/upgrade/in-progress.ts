// An upgrade an earlier run started and did not finish, as the work schema records it: for the commands that
// are not the upgrade (status, plan) to say so, and to name the organization it was started with, which the
// next run must be given again. Read from the catalog first: a login that may not read the work schema (the
// app's) learns that an upgrade is in progress, without its organization, rather than failing.
import { commandToRun, type CommandPrinter } from "../../command-to-run";
import type { ClientBase } from "pg";
import { UPGRADING_SECTION } from "../runbook-sections";
import { WORK_SCHEMA } from "./names";

export interface UpgradeInProgress {
  /** The organization the upgrade was started with; null when this role may not read it. */
  organization: string | null;
  /** Whether its cutover is done (the release is in public; only the final drop and the steps are left). */
  cutoverDone: boolean;
}

export async function upgradeInProgress(client: ClientBase): Promise<UpgradeInProgress | undefined> {
  const { rows } = await client.query<{ readable: boolean }>(
    `SELECT has_schema_privilege(n.oid, 'USAGE')
            AND has_table_privilege(c.oid, 'SELECT')
            AND has_table_privilege(p.oid, 'SELECT') AS readable
       FROM pg_namespace n
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'config'
       JOIN pg_class p ON p.relnamespace = n.oid AND p.relname = 'progress'
      WHERE n.nspname = $1`,
    [WORK_SCHEMA],
  );
  if (rows.length === 0) return undefined;
  if (!rows[0]!.readable) return { organization: null, cutoverDone: false };
  const recorded = await client.query<{ organization: string | null; cutover: boolean }>(
    `SELECT (SELECT organization_slug FROM ${WORK_SCHEMA}.config LIMIT 1) AS organization,
            coalesce((SELECT done FROM ${WORK_SCHEMA}.progress WHERE step = 'cutover'), false) AS cutover`,
  );
  const { organization, cutover } = recorded.rows[0]!;
  return { organization, cutoverDone: cutover };
}

/** The words for it, with the command that continues it (`print`: ReleaseOptions.printCommand). */
export function upgradeInProgressText(upgrade: UpgradeInProgress, print?: CommandPrinter): string {
  const organization = upgrade.organization ?? "<the slug it was started with>";
  const where = upgrade.cutoverDone
    ? "its cutover is done, its final drop and the release's steps are left"
    : "it stopped before its cutover: the legacy tables are still in use, and mirrored";
  return (
    `An upgrade of the Prisma-era database is in progress${upgrade.organization ? ` for organization ${upgrade.organization}` : ""} (schema ${WORK_SCHEMA}): ${where}. ` +
    `Continue it with ${commandToRun(print, ["apply", "--upgrade-legacy", "--legacy-organization", organization])}; see where it stands with ${commandToRun(print, ["plan", "--upgrade-legacy", "--legacy-organization", organization], "`plan --upgrade-legacy`")}.`
  );
}

/**
 * What status, verify and plan say of the Prisma-era database before its upgrade has started (isLegacyDatabase
 * decides it is one): no release yet, and the path to one is the upgrade in place, not the pending migrations,
 * which plain apply refuses to run over the legacy tables. The plan it names takes --legacy-organization,
 * without which it is refused.
 */
export function legacyNotUpgradedText(print?: CommandPrinter): string {
  return `no release applied yet: this is the Prisma-era NeonHub schema, which plain apply refuses and the upgrade in place takes to the release (${commandToRun(print, ["plan", "--upgrade-legacy", "--legacy-organization", "<slug>"])} shows its steps; ${UPGRADING_SECTION})`;
}
