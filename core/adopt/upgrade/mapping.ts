// How each legacy row becomes release rows, written once as SQL: the backfill batches and the mirror
// triggers both run `upsertStatements` over their own row source, and the proof compares every legacy
// column through the same expressions. `l` is the legacy row; the organization is the configured one.
import { CAMPAIGN_STATUSES, MESSAGE_ROLE_ALIASES, sqlList } from "../legacy-rules";
import { quoteIdentifier } from "../../identifiers";
import { literal } from "../../sql";
import type { LegacyTable } from "../legacy-inspection";
import { LEGACY_SCHEMA, STAGING_SCHEMA, uuidOfSql, type LegacyOrganization } from "./names";

const q = quoteIdentifier;
const lit = literal;

/** One legacy table's mapping onto its release table. */
export interface TableMapping {
  table: LegacyTable;
  /** release column -> SQL expression over the legacy row `l`. */
  columns: [string, string][];
  /** For the proof: every legacy column, as the mapping gives it and as the release table holds it. */
  proof: { column: string; legacy: string; release: string }[];
  /** Rows of other release tables the mapped row needs first (a message's conversation). */
  before: (source: string) => string[];
  /** Rows of other release tables that need the mapped row (a user's membership). */
  after: (source: string) => string[];
}

/** The conversation a legacy message belongs to: one per author (the legacy app's one running chat). */
export const conversationIdSql = (authorColumn: string) => uuidOfSql("conversation", authorColumn);

const messageRoleSql = (schema: string) =>
  `CASE lower(btrim(l."role")) ${Object.entries(MESSAGE_ROLE_ALIASES)
    .map(([from, to]) => `WHEN ${lit(from)} THEN ${lit(to)}`)
    .join(" ")} END::${schema}."MessageRole"`;
const campaignStatusSql = (schema: string) =>
  `(CASE WHEN lower(btrim(l."status")) IN (${sqlList(CAMPAIGN_STATUSES)}) THEN lower(btrim(l."status")) END)::${schema}."CampaignStatus"`;

/**
 * The conversations of the messages in `source`, extended to span them. The update runs only when it
 * extends a conversation: replayed batches and the pre-pass's conversations leave the rows untouched.
 */
function conversationsSql(source: string, orgId: string, staged: (table: string) => string): string {
  const c = staged("Conversation");
  return `INSERT INTO ${c} ("id", "organizationId", "createdById", "kind", "title", "metadata", "createdAt", "updatedAt")
         SELECT ${conversationIdSql(`l."authorId"`)}, ${orgId}, l."authorId", 'ad_hoc', 'Chat history',
                '{"source": "legacy-messages"}'::jsonb, min(l."createdAt"), max(l."createdAt")
           FROM ${source} l WHERE l."authorId" IS NOT NULL GROUP BY l."authorId"
         ON CONFLICT ("id") DO UPDATE SET "createdAt" = least(${c}."createdAt", EXCLUDED."createdAt"),
                                         "updatedAt" = greatest(${c}."updatedAt", EXCLUDED."updatedAt")
          WHERE EXCLUDED."createdAt" < ${c}."createdAt" OR EXCLUDED."updatedAt" > ${c}."updatedAt"`;
}

/**
 * The conversations pass, before the messages: keyed on the users' ids, each batch writes the whole
 * conversations of those users (through "Message_authorId_idx"), so the message batches, whose ids are in
 * no order of time or author, find them complete instead of widening them batch after batch.
 */
export function conversationPassStatements(org: LegacyOrganization): string[] {
  return [
    conversationsSql(
      `(SELECT * FROM ${LEGACY_SCHEMA}."Message" WHERE "authorId" > $1 AND "authorId" <= $2)`,
      lit(org.id),
      (table) => `${STAGING_SCHEMA}.${q(table)}`,
    ),
  ];
}

/** The columns kept as they are, by name. */
const kept = (...names: string[]): [string, string][] => names.map((n) => [n, `l.${q(n)}`]);

/**
 * The mappings in the order their tables depend on each other. `schema` is where the release tables are:
 * the staging schema until cutover, `public` after it (the proof).
 */
export function tableMappings(org: LegacyOrganization, schema: string = STAGING_SCHEMA): TableMapping[] {
  const staged = (table: string) => `${schema}.${q(table)}`;
  const orgId = lit(org.id);
  const keptProof = (names: string[]) =>
    names.map((n) => ({ column: n, legacy: `l.${q(n)}`, release: `t.${q(n)}` }));
  /** Kept columns, added ones (`extra`), and the legacy columns the mapping changes, as the proof compares them. */
  const plain = (
    table: LegacyTable,
    names: string[],
    extra: [string, string][] = [],
    mapped: TableMapping["proof"] = [],
  ): TableMapping => ({
    table,
    columns: [...kept(...names), ...extra],
    proof: [...keptProof(names), ...mapped],
    before: () => [],
    after: () => [],
  });
  return [
    {
      ...plain("User", ["id", "email", "name", "image", "emailVerified", "createdAt", "updatedAt"]),
      // Every legacy user becomes a member of the legacy organization.
      after: (source) => [
        `INSERT INTO ${staged("OrganizationMembership")} ("id", "organizationId", "userId", "status", "joinedAt", "createdAt", "updatedAt")
         SELECT ${uuidOfSql("membership", "l.id")}, ${orgId}, l."id", 'active', l."createdAt", l."createdAt", l."createdAt"
           FROM ${source} l
         ON CONFLICT ("organizationId", "userId") DO NOTHING`,
      ],
    },
    {
      table: "Message",
      columns: [
        ...kept("id", "authorId", "createdAt"),
        ["conversationId", conversationIdSql(`l."authorId"`)],
        ["organizationId", orgId],
        ["role", messageRoleSql(schema)],
        ["contentJson", `jsonb_build_object('type', 'text', 'text', l."content")`],
      ],
      proof: [
        ...keptProof(["id", "authorId", "createdAt"]),
        { column: "role", legacy: `(${messageRoleSql(schema)})::text`, release: `t."role"::text` },
        { column: "content", legacy: `l."content"`, release: `t."contentJson"->>'text'` },
      ],
      after: () => [],
      // The author's conversation, spanning the first to the last of its messages.
      before: (source) => [conversationsSql(source, orgId, staged)],
    },
    plain(
      "Document",
      ["id", "createdById", "title", "sourceUrl", "mimeType", "metadata", "createdAt", "updatedAt"],
      [["datasetId", lit(org.datasetId)]],
    ),
    plain(
      "Campaign",
      [
        "id",
        "ownerId",
        "name",
        "description",
        "budget",
        "config",
        "startsAt",
        "endsAt",
        "createdAt",
        "updatedAt",
      ],
      [
        ["organizationId", orgId],
        ["status", campaignStatusSql(schema)],
      ],
      [{ column: "status", legacy: `(${campaignStatusSql(schema)})::text`, release: `t."status"::text` }],
    ),
    plain(
      "EmailSequence",
      [
        "id",
        "campaignId",
        "name",
        "subject",
        "body",
        "variant",
        "scheduledFor",
        "sentAt",
        "metrics",
        "createdAt",
        "updatedAt",
      ],
      [["organizationId", orgId]],
    ),
    plain(
      "SocialPost",
      [
        "id",
        "campaignId",
        "platform",
        "content",
        "variant",
        "scheduledFor",
        "publishedAt",
        "externalId",
        "metrics",
        "createdAt",
        "updatedAt",
      ],
      [
        ["organizationId", orgId],
        // The release's column is NOT NULL with an empty-array default: no media is the empty list.
        ["mediaUrls", `coalesce(l."mediaUrls", ARRAY[]::text[])`],
      ],
      [{ column: "mediaUrls", legacy: `coalesce(l."mediaUrls", ARRAY[]::text[])`, release: `t."mediaUrls"` }],
    ),
    plain(
      "ABTest",
      [
        "id",
        "campaignId",
        "name",
        "variants",
        "winner",
        "metrics",
        "startedAt",
        "completedAt",
        "createdAt",
        "updatedAt",
      ],
      [["organizationId", orgId]],
    ),
    plain(
      "AuditLog",
      ["id", "actorId", "action", "resourceType", "resourceId", "ip", "metadata", "createdAt"],
      [
        ["organizationId", orgId],
        // actorId had no foreign key; the pre-flight refuses ids that are no user, so a set one is a user.
        [
          "actorType",
          `(CASE WHEN l."actorId" IS NULL THEN 'system' ELSE 'user' END)::${schema}."AuditActorType"`,
        ],
        // The legacy app recorded no request, so there is nothing to hash.
        ["requestHash", "NULL"],
      ],
    ),
  ];
}

/** The statements that write the mapped rows of `source` (a subquery of legacy rows) into the staging tables. */
export function upsertStatements(mapping: TableMapping, source: string): string[] {
  const staged = (table: string) => `${STAGING_SCHEMA}.${q(table)}`;
  const names = mapping.columns.map(([c]) => q(c));
  const updates = mapping.columns.filter(([c]) => c !== "id").map(([c]) => `${q(c)} = EXCLUDED.${q(c)}`);
  return [
    ...mapping.before(source),
    `INSERT INTO ${staged(mapping.table)} (${names.join(", ")})
     SELECT ${mapping.columns.map(([, e]) => e).join(", ")} FROM ${source} l
     ON CONFLICT ("id") DO UPDATE SET ${updates.join(", ")}`,
    ...mapping.after(source),
  ];
}

/** The legacy organization and its documents' dataset, written before the first batch. */
export function organizationStatements(org: LegacyOrganization): string[] {
  const staged = (table: string) => `${STAGING_SCHEMA}.${q(table)}`;
  return [
    `INSERT INTO ${staged("Organization")} ("id", "slug", "name", "settings")
     VALUES (${lit(org.id)}, ${lit(org.slug)}, ${lit(org.slug)}, '{"source": "legacy"}'::jsonb)
     ON CONFLICT ("id") DO NOTHING`,
    `INSERT INTO ${staged("Dataset")} ("id", "organizationId", "name", "slug", "kind", "description")
     VALUES (${lit(org.datasetId)}, ${lit(org.id)}, 'Documents', 'legacy-documents', 'documents',
             'The documents of the app before organizations existed')
     ON CONFLICT ("id") DO NOTHING`,
  ];
}
