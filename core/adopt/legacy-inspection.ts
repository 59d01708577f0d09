// Reading a Prisma-era NeonHub database (the legacy schema derived in test/fixtures/legacy/README.md) for
// rows that break the release's rules, before anything is written: each defect with a count, sample ids and
// the fix. Read-only, one query per check; a check runs only when its table and columns exist.
import type { ClientBase } from "pg";
import { CAMPAIGN_STATUSES, MESSAGE_ROLE_ALIASES, sqlList } from "./legacy-rules";

export interface LegacyDefect {
  check:
    | "email-case-duplicates"
    | "message-role-unknown"
    | "message-without-author"
    | "orphaned-reference"
    | "campaign-status-unknown";
  /** `Table.column` the defect is in. */
  column: string;
  count: number;
  /** Up to SAMPLE ids of offending rows. */
  sampleIds: string[];
  /** The offending values, when they say more than the ids (unknown roles and statuses). */
  values?: string[];
  message: string;
  fix: string;
}

export interface LegacyInspection {
  /** The legacy tables found, with the planner's row estimates (pg_class.reltuples, after ANALYZE). */
  tables: { table: string; estimatedRows: number }[];
  defects: LegacyDefect[];
  /** Checks skipped because the role may not read a table (the server's messages). */
  unreadable: string[];
}

export const LEGACY_TABLES = [
  "User",
  "Message",
  "Document",
  "Campaign",
  "EmailSequence",
  "SocialPost",
  "ABTest",
  "AuditLog",
] as const;

export type LegacyTable = (typeof LEGACY_TABLES)[number];

const SAMPLE = 5;

const REFERENCES: { table: string; column: string; target: string; fix: string }[] = [
  { table: "Message", column: "authorId", target: "User", fix: "set them to an existing user or to NULL" },
  {
    table: "Document",
    column: "createdById",
    target: "User",
    fix: "set them to an existing user or to NULL",
  },
  { table: "Campaign", column: "ownerId", target: "User", fix: "set them to an existing user or to NULL" },
  {
    table: "EmailSequence",
    column: "campaignId",
    target: "Campaign",
    fix: "delete the rows or point them at an existing campaign",
  },
  {
    table: "SocialPost",
    column: "campaignId",
    target: "Campaign",
    fix: "delete the rows or point them at an existing campaign",
  },
  {
    table: "ABTest",
    column: "campaignId",
    target: "Campaign",
    fix: "delete the rows or point them at an existing campaign",
  },
  {
    table: "AuditLog",
    column: "actorId",
    target: "User",
    fix: 'set "actorId" to NULL where the action was the system\'s, or to the user who acted; an actor that is no user has no AuditActorType',
  },
];

/**
 * The legacy tables and their defects; undefined when this is not the legacy shape (no "Message" with a
 * text "role" and no "conversationId").
 */
export async function inspectLegacyDatabase(client: ClientBase): Promise<LegacyInspection | undefined> {
  const columns = await legacyColumns(client);
  if (!hasLegacyShape(columns)) return undefined;
  const has = (table: string, ...names: string[]) => names.every((n) => columns.get(table)?.has(n) ?? false);
  const defects: LegacyDefect[] = [];
  const add = (defect: LegacyDefect) => {
    if (defect.count > 0) defects.push(defect);
  };
  // A role that may read the catalog but not a table (plan as a read-only role): the check is skipped and
  // the table named, rather than plan failing.
  const unreadable: string[] = [];
  const readRow = async <T extends object>(sql: string): Promise<T | undefined> => {
    try {
      return (await client.query<T>(sql)).rows[0];
    } catch (error) {
      if ((error as { code?: string }).code !== "42501") throw error;
      unreadable.push((error as Error).message);
      return undefined;
    }
  };

  if (has("User", "id", "email")) {
    const row = await readRow<{ groups: number; users: number; ids: string[] | null }>(
      `SELECT count(*)::int AS groups, coalesce(sum(n), 0)::int AS users,
              (array_agg(ids[1] ORDER BY key))[1:${SAMPLE}] AS ids
         FROM (SELECT lower(email) AS key, count(*) AS n, array_agg(id ORDER BY id) AS ids
                 FROM "User" GROUP BY lower(email) HAVING count(*) > 1) d`,
    );
    if (row)
      add({
        check: "email-case-duplicates",
        column: "User.email",
        count: row.users,
        sampleIds: row.ids ?? [],
        message: `${row.users} users share ${row.groups} email address(es) that differ only in case`,
        fix: 'merge each group into one user (move its messages, documents, campaigns and audit rows to the kept id, then delete the others) or give each a distinct address; list them with SELECT lower(email), array_agg(id) FROM "User" GROUP BY 1 HAVING count(*) > 1',
      });
  }
  if (has("Message", "id", "role")) {
    const known = sqlList(Object.keys(MESSAGE_ROLE_ALIASES));
    const row = await readRow<{ n: number; ids: string[] | null; vals: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(id ORDER BY id))[1:${SAMPLE}] AS ids,
              (array_agg(DISTINCT role))[1:20] AS vals
         FROM "Message" WHERE lower(btrim(role)) NOT IN (${known})`,
    );
    if (row)
      add({
        check: "message-role-unknown",
        column: "Message.role",
        count: row.n,
        sampleIds: row.ids ?? [],
        values: row.vals ?? [],
        message: `${row.n} messages have a role that is neither a MessageRole (system, user, assistant, tool) nor a known alias (${Object.keys(MESSAGE_ROLE_ALIASES).join(", ")}): ${(row.vals ?? []).join(", ")}`,
        fix: `map each value to a role, e.g. UPDATE "Message" SET role = 'assistant' WHERE role = '${row.vals?.[0] ?? "..."}'; nothing is dropped for you`,
      });
  }
  if (has("Message", "id", "authorId")) {
    const row = await readRow<{ n: number; ids: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(id ORDER BY id))[1:${SAMPLE}] AS ids FROM "Message" WHERE "authorId" IS NULL`,
    );
    if (row)
      add({
        check: "message-without-author",
        column: "Message.authorId",
        count: row.n,
        sampleIds: row.ids ?? [],
        message: `${row.n} messages have no author, so no user's conversation can hold them`,
        fix: 'set "authorId" to the user whose chat each one belongs to, or delete them after exporting them',
      });
  }
  for (const ref of REFERENCES) {
    if (!has(ref.table, "id", ref.column) || !has(ref.target, "id")) continue;
    const row = await readRow<{ n: number; ids: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(t.id ORDER BY t.id))[1:${SAMPLE}] AS ids
         FROM "${ref.table}" t
        WHERE t."${ref.column}" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "${ref.target}" x WHERE x.id = t."${ref.column}")`,
    );
    if (row)
      add({
        check: "orphaned-reference",
        column: `${ref.table}.${ref.column}`,
        count: row.n,
        sampleIds: row.ids ?? [],
        message: `${row.n} ${ref.table} rows name a ${ref.target} in "${ref.column}" that does not exist`,
        fix: ref.fix,
      });
  }
  if (has("Campaign", "id", "status") && columns.get("Campaign")?.get("status") === "text") {
    const row = await readRow<{ n: number; ids: string[] | null; vals: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(id ORDER BY id))[1:${SAMPLE}] AS ids, (array_agg(DISTINCT status))[1:20] AS vals
         FROM "Campaign" WHERE lower(btrim(status)) NOT IN (${sqlList(CAMPAIGN_STATUSES)})`,
    );
    if (row)
      add({
        check: "campaign-status-unknown",
        column: "Campaign.status",
        count: row.n,
        sampleIds: row.ids ?? [],
        values: row.vals ?? [],
        message: `${row.n} campaigns have a status that is not a CampaignStatus (${CAMPAIGN_STATUSES.join(", ")}): ${(row.vals ?? []).join(", ")}`,
        fix: `map each value to a status, e.g. UPDATE "Campaign" SET status = 'archived' WHERE status = '${row.vals?.[0] ?? "..."}'`,
      });
  }

  const tables = LEGACY_TABLES.filter((t) => columns.has(t));
  const estimates = await client.query<{ table: string; rows: number }>(
    `SELECT c.relname AS table, greatest(c.reltuples, 0)::bigint::int AS rows
       FROM pg_class c WHERE c.oid = ANY (SELECT to_regclass(format('%I', t)) FROM unnest($1::text[]) AS t)`,
    [tables],
  );
  const byTable = new Map(estimates.rows.map((r) => [r.table, r.rows]));
  return {
    tables: tables.map((table) => ({ table, estimatedRows: byTable.get(table) ?? 0 })),
    defects,
    unreadable: [...new Set(unreadable)],
  };
}

/**
 * Whether the current schema is the Prisma-era NeonHub one, from the catalog alone (no table is read): what
 * `baseline` and `adopt` ask before proving anything, and what the upgrade and the pre-flight decide on
 * through inspectLegacyDatabase.
 */
export async function isLegacyDatabase(client: ClientBase): Promise<boolean> {
  return hasLegacyShape(await legacyColumns(client));
}

/** The legacy shape: a "User", and a "Message" with a text "role" and no "conversationId". */
function hasLegacyShape(columns: ReadonlyMap<string, ReadonlyMap<string, string>>): boolean {
  const message = columns.get("Message");
  return columns.has("User") && !!message && message.get("role") === "text" && !message.has("conversationId");
}

/**
 * column name -> data type, per legacy table in the current schema. From pg_catalog, which every login may
 * read: information_schema.columns lists only the tables the login has a privilege on, so a login that may
 * not read the legacy tables (the Prisma app's own) would not see the legacy schema at all.
 */
async function legacyColumns(client: ClientBase): Promise<Map<string, Map<string, string>>> {
  const r = await client.query<{ table: string; column: string; type: string }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, NULL) AS type
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind IN ('r', 'p')
        AND c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [LEGACY_TABLES],
  );
  const out = new Map<string, Map<string, string>>();
  for (const row of r.rows) {
    const table = out.get(row.table) ?? new Map<string, string>();
    table.set(row.column, row.type);
    out.set(row.table, table);
  }
  return out;
}
