// Where the upgrade of a Prisma-era database keeps things while it runs (docs/architecture.md, "Upgrading
// the Prisma-era database"). The release is built in STAGING next to the legacy tables in `public`; WORK holds
// the upgrade's own progress, mirror functions and rejected rows; at cutover the legacy tables move to
// LEGACY_KEPT and every STAGING object moves to `public` (ALTER ... SET SCHEMA): no schema is renamed.
import { createHash } from "node:crypto";
import { ReleaseError } from "../../errors";
import { isFromFile, shownValue } from "../../shown-value";

export const LEGACY_SCHEMA = "public";
export const STAGING_SCHEMA = "neonhub_upgrade";
export const WORK_SCHEMA = "neonhub_upgrade_work";
export const LEGACY_KEPT_SCHEMA = "neonhub_legacy";

/** The legacy organization's identity: derived from its slug, so a resumed run finds the same rows. */
export interface LegacyOrganization {
  slug: string;
  id: string;
  /** The one dataset that holds the legacy documents (a release Document needs a dataset). */
  datasetId: string;
}

/** Organization slugs as the release's seeds and URLs use them. */
export const ORGANIZATION_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The organization `slug` names, refused naming `source` when it is missing or not a slug. `example` writes
 * a slug the way `source` takes it: a flag's value after the flag (the default), a setting as its --set flag
 * or its document (core/release-config.ts).
 */
export function legacyOrganization(
  slug: string | undefined,
  source: string,
  example: (slug: string) => string = (value) => `${source} ${value}`,
): LegacyOrganization {
  if (slug === undefined || slug === "") {
    throw new ReleaseError(
      "invalid-input",
      `${source} is required to upgrade a legacy database: every legacy row is given to one organization.`,
      `Give it an organization slug, e.g. ${example("acme")} (the organization is created if the database has none of that slug).`,
    );
  }
  if (!ORGANIZATION_SLUG.test(slug)) {
    throw new ReleaseError(
      "invalid-input",
      `${isFromFile(source) ? source : `${source} ${shownValue(slug, source)}`} is not an organization slug (lower-case letters, digits and inner hyphens, at most 63).`,
      `Use e.g. ${example("acme-legacy")}.`,
    );
  }
  return { slug, id: uuidOf(`organization:${slug}`), datasetId: uuidOf(`dataset:${slug}`) };
}

/** md5 as a UUID, the same function the SQL side uses (md5(text)::uuid::text). */
export function uuidOf(text: string): string {
  const hex = createHash("md5").update(`neonhub-legacy-${text}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The SQL twin of uuidOf, for ids derived from a column. */
export function uuidOfSql(kind: string, expr: string): string {
  return `md5('neonhub-legacy-${kind}:' || ${expr})::uuid::text`;
}
