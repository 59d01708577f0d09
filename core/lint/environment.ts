// Which kind of stack a release is for. Only `production` changes what plan decides: there a blocking
// migration on a table with data is an error unless the migration carries a reasoned exemption.
import { ReleaseError } from "../errors";

export const RELEASE_ENVIRONMENTS = ["production", "staging", "development"] as const;
export type ReleaseEnvironment = (typeof RELEASE_ENVIRONMENTS)[number];
export const DEFAULT_RELEASE_ENVIRONMENT: ReleaseEnvironment = "development";

export function parseReleaseEnvironment(value: string, source: string): ReleaseEnvironment {
  if ((RELEASE_ENVIRONMENTS as readonly string[]).includes(value)) return value as ReleaseEnvironment;
  throw new ReleaseError(
    "invalid-input",
    `${source} must be one of ${RELEASE_ENVIRONMENTS.join(", ")}, got "${value}".`,
    `Example: ${source} production (the prod stack passes it).`,
  );
}
