// The PostgreSQL major an RDS or Aurora stack runs, in one place: the parameter groups are of its family
// (postgres16, aurora-postgresql16), so neonhub-db:engineVersion must name it.
import { configSetCommand } from "./dynamic/config-command";

export const POSTGRES_MAJOR = "16";

export type RdsEngine = "postgres" | "aurora-postgresql";

/**
 * RDS and Aurora apply minor upgrades themselves, in the maintenance window, so that security fixes arrive
 * without a deploy. The version they run then moves past the configured one: an RDS instance therefore follows
 * the major (`pinnedMinorWarning`), and an Aurora cluster, which needs major.minor, ignores later changes of
 * its engineVersion (infra/servers/rds.ts).
 */
export const AUTO_MINOR_VERSION_UPGRADE = true;

/** The parameter group family of `engine` at the major this program runs. */
export function parameterGroupFamily(engine: RdsEngine): string {
  return `${engine}${POSTGRES_MAJOR}`;
}

/**
 * The AWS CLI command that lists the versions `engine` offers at the major: which minors exist changes with
 * AWS's releases and differs between RDS and Aurora, so only AWS can say.
 */
export function listVersionsCommand(engine: RdsEngine): string {
  return `aws rds describe-db-engine-versions --engine ${engine} --engine-version ${POSTGRES_MAJOR} --query 'DBEngineVersions[].EngineVersion'`;
}

/**
 * The warning for an RDS engineVersion that pins a minor ("16.4"). With automatic minor upgrades the provider
 * keeps a major alone ("16") while the instance runs any 16.x, but records the minor RDS upgraded to in place
 * of a pinned one, so the next `pulumi up` that updates the instance (or follows a refresh) asks for the
 * pinned minor again: a downgrade, which AWS refuses, failing the up. A warning, not a refusal: such a stack
 * deploys until RDS upgrades it, and an existing production stack must not stop deploying over it.
 */
export function pinnedMinorWarning(engineVersion: string, stack: string): string | undefined {
  if (engineVersion === POSTGRES_MAJOR) return undefined;
  return (
    `neonhub-db:engineVersion ${JSON.stringify(engineVersion)} pins a minor version, and RDS upgrades the ` +
    `minor itself in the maintenance window (automatic minor version upgrades are on): once it runs a later ` +
    `${POSTGRES_MAJOR}.x, the next pulumi up that updates the instance, or follows a refresh, asks for ` +
    `${engineVersion} again, a downgrade AWS refuses, and the up fails. Follow the major instead: ` +
    `${configSetCommand(stack, "engineVersion", POSTGRES_MAJOR)} (the provider then accepts whichever ` +
    `${POSTGRES_MAJOR}.x RDS runs; see docs/stacks.md)`
  );
}
