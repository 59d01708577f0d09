// What the migrations' `check` makes of a database it cannot reach. Unreached, it checks neither the ledger nor
// the safety lint, which needs the live tables' sizes: on a production stack the preview is the gate before a
// merge, so it fails there, naming the fix (a runner that reaches the database, docs/ci.md). Elsewhere, and on
// a machine that says it cannot reach production (a developer's laptop), it is a warning: `pulumi up` checks
// both again, under the release lock, before it applies anything.
import type { ReleaseEnvironment, ReleaseError, ReleaseErrorCode } from "../../core";

/** Set to 1 where a production preview cannot reach the database by design; never in the CI gate. */
export const PREVIEW_WITHOUT_DATABASE = "NEONHUB_DB_PREVIEW_WITHOUT_DATABASE";

/** The errors of a database the preview did not reach: the server unreachable, or the login refused. */
const UNREACHED: readonly ReleaseErrorCode[] = ["connection", "authentication"];

export function isUnreached(error: ReleaseError): boolean {
  return UNREACHED.includes(error.code);
}

/** Whether an unreached database fails the preview rather than warns. */
export function unreachedFails(
  environment: ReleaseEnvironment | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return environment === "production" && env[PREVIEW_WITHOUT_DATABASE] !== "1";
}

/** The failure, for people: what was not checked, why, and the two ways on. `cause`: the connection's error. */
export function unreachedFailure(target: string, cause: string): string {
  return (
    `The production database at ${target} could not be reached, so this preview checked neither the migration ledger ` +
    `nor the safety lint of the pending migrations: ${cause} ` +
    "fix: run the production preview where the database is reachable (in CI, on the runner the repository variable " +
    `NEONHUB_PROD_PREVIEW_RUNNER names, docs/ci.md). On a machine that is not meant to reach it, set ` +
    `${PREVIEW_WITHOUT_DATABASE}=1 to preview without these checks; \`pulumi up\` still makes them before it applies anything.`
  );
}
