// The release setting that asks for the upgrade of a Prisma-era database (core/release-config.ts), so that
// a stack's config (and through it `pulumi up`) can carry what the CLI's --upgrade-legacy flags say.
import { ReleaseError } from "../../errors";
import { legacyOrganization } from "./names";
import { shownValue } from "../../shown-value";

export interface LegacyUpgradeSetting {
  /** The organization every legacy row is given to. */
  organization: string;
  /** Rows per backfill batch. */
  batchSize?: number;
}

const EXAMPLE_VALUE = { organization: "acme", batchSize: 1000 };

/**
 * `source` names the setting in errors; `example` writes a value of a key of it (["organization"]) the way
 * the settings were given (core/release-config.ts, settingExample).
 */
export function legacyUpgradeSetting(
  value: unknown,
  source: string,
  example: (path: readonly string[], value: unknown) => string,
): LegacyUpgradeSetting {
  const EXAMPLE = example([], EXAMPLE_VALUE);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ReleaseError(
      "invalid-input",
      `${source} must be an object (got ${shownValue(value, source)}).`,
      `For example ${EXAMPLE}.`,
    );
  }
  const { organization, batchSize, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ReleaseError(
      "invalid-input",
      `${source}.${unknown[0]} is not a setting of the upgrade (got ${shownValue(rest[unknown[0]!], source)}).`,
      `Its settings are organization and batchSize; for example ${EXAMPLE}.`,
    );
  }
  if (typeof organization !== "string") {
    throw new ReleaseError(
      "invalid-input",
      `${source}.organization must be an organization slug (got ${shownValue(organization, source)}).`,
      `For example ${EXAMPLE}.`,
    );
  }
  legacyOrganization(organization, `${source}.organization`, (slug) => example(["organization"], slug));
  if (
    batchSize !== undefined &&
    (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000)
  ) {
    throw new ReleaseError(
      "invalid-input",
      `${source}.batchSize must be a whole number of rows from 1 to 1000000 (got ${shownValue(batchSize, source)}).`,
      `For example ${EXAMPLE}.`,
    );
  }
  return batchSize === undefined ? { organization } : { organization, batchSize };
}
