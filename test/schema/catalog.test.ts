// The schema the migrations build, checked against the system catalogs table by table.
import { readdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase, withClient } from "../support/database";
import { migrate, MIGRATIONS_DIR } from "../support/migrations";
import {
  readChecks,
  readColumns,
  readDefaults,
  readEnums,
  readForeignKeys,
  readIndexes,
  readTriggers,
} from "./catalog";
import {
  CHECKS,
  CHECK_FUNCTIONS,
  FUNCTIONS,
  OTHER_TRIGGERS,
  DEFAULTS,
  EMBEDDING_TABLES,
  ENUMS,
  FOREIGN_KEYS,
  ID_DEFAULT,
  INDEXES,
  QUALIFIED_FUNCTIONS,
  TABLES,
  UTC_NOW,
} from "./expected-schema";

describe("the schema after every migration is applied to an empty database", () => {
  const db = useTestDatabase("schema");
  const query = <T>(fn: Parameters<typeof withClient<T>>[1]) => withClient(db.current.url, fn);

  beforeAll(async () => {
    const applied = await migrate(db.current.url);
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql"));
    expect(applied).toEqual(files.map((f) => f.slice(0, -".sql".length)).sort());
  });

  it("has the vector and uuid-ossp extensions, pgvector 0.7 or newer", async () => {
    const { rows } = await query((c) =>
      c.query<{ extname: string; extversion: string }>(
        "SELECT extname, extversion FROM pg_extension WHERE extname IN ('vector', 'uuid-ossp') ORDER BY 1",
      ),
    );
    expect(rows.map((r) => r.extname)).toEqual(["uuid-ossp", "vector"]);
    const [major, minor] = rows[1]!.extversion.split(".").map(Number);
    expect(major! > 0 || minor! >= 7).toBe(true);
  });

  it("has exactly the planned tables, each with exactly its columns, types and nullability", async () => {
    const columns = await query(readColumns);
    expect(Object.keys(columns).sort()).toEqual(Object.keys(TABLES).sort());
    for (const [table, expected] of Object.entries(TABLES)) {
      expect({ table, columns: columns[table] }).toEqual({ table, columns: expected });
    }
  });

  it("stores embeddings as pgvector `vector` without a fixed dimension", async () => {
    const { rows } = await query((c) =>
      c.query<{ table: string; typmod: number }>(`
        SELECT c.relname AS table, a.atttypmod AS typmod
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND a.attname = 'embedding' AND a.atttypid = 'vector'::regtype`),
    );
    expect(rows.map((r) => r.table).sort()).toEqual([...EMBEDDING_TABLES].sort());
    expect(rows.every((r) => r.typmod === -1)).toBe(true);
  });

  it("has the plan's enums with exactly its values, plus the audit actor type", async () => {
    expect(await query(readEnums)).toEqual(ENUMS);
  });

  it("gives every id a generated default and every timestamp a UTC default", async () => {
    const expected: Record<string, Record<string, string>> = {};
    for (const [table, columns] of Object.entries(TABLES)) {
      const defaults: Record<string, string> = { ...DEFAULTS[table] };
      if ("id" in columns) defaults.id = ID_DEFAULT;
      if ("createdAt" in columns) defaults.createdAt = UTC_NOW;
      if ("updatedAt" in columns) defaults.updatedAt = UTC_NOW;
      expected[table] = defaults;
    }
    expect(await query(readDefaults)).toEqual(expected);
  });

  it("has exactly the planned foreign keys, named as Prisma names them, with their ON DELETE rule", async () => {
    const actual = await query(readForeignKeys);
    const expected = FOREIGN_KEYS.map(([table, columns, refTable, refColumns, onDelete]) => ({
      name: `${table}_${columns.join("_")}_fkey`,
      table,
      columns,
      refTable,
      refColumns,
      onDelete,
      onUpdate: "CASCADE",
    })).sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(actual.sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(expected);
  });

  it("has exactly the planned indexes and unique keys, the hot-path ones under the app's names", async () => {
    const actual = await query(readIndexes);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(INDEXES).sort());
    expect(actual).toEqual(INDEXES);
  });

  it("has no vector index: those are built by the release engine once data exists", async () => {
    const { rows } = await query((c) =>
      c.query(`SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
               WHERE am.amname IN ('ivfflat', 'hnsw')`),
    );
    expect(rows).toHaveLength(0);
  });

  it("has exactly the planned CHECK constraints", async () => {
    expect(await query(readChecks)).toEqual(CHECKS);
  });

  it("keeps updatedAt by trigger on every table that has it, and checks every embedding's dimension", async () => {
    const expected: Record<string, string> = {
      "EmbeddingSpace.keep_dimension": "BEFORE UPDATE OF dimension → keep_embedding_space_dimension",
    };
    for (const [table, columns] of Object.entries(TABLES)) {
      if ("updatedAt" in columns) expected[`${table}.set_updated_at`] = "BEFORE UPDATE → set_updated_at";
    }
    for (const table of EMBEDDING_TABLES) {
      expected[`${table}.check_embedding_dimension`] =
        'BEFORE INSERT OR UPDATE OF embedding, "embeddingSpaceId" → check_embedding_dimension';
    }
    // The tenant column of the embedded tables, filled from the parent.
    expected["Chunk.fill_organization_id"] =
      'BEFORE INSERT OR UPDATE OF "datasetId", "organizationId" → chunk_organization_id';
    expected["Message.fill_organization_id"] =
      'BEFORE INSERT OR UPDATE OF "conversationId", "organizationId" → message_organization_id';
    // The sign bits search_chunks()'s prefilter reads, kept from the embedding.
    expected["Chunk.chunk_embedding_bits"] =
      'BEFORE INSERT OR UPDATE OF embedding, "embeddingBits" → chunk_embedding_bits';
    expect(await query(readTriggers)).toEqual({ ...expected, ...OTHER_TRIGGERS });
  });

  it("links every tenant table to its organization, directly or through a required parent", async () => {
    const fks = await query(readForeignKeys);
    const global = new Set(["User", "Organization", "EmbeddingSpace"]);
    const reachesOrganization = new Set(["Organization"]);
    // A table reaches the organization through a NOT NULL foreign key to a table that does.
    for (let changed = true; changed; ) {
      changed = false;
      for (const fk of fks) {
        const required = fk.columns.every((col) => TABLES[fk.table]?.[col]?.endsWith("NOT NULL"));
        if (required && reachesOrganization.has(fk.refTable) && !reachesOrganization.has(fk.table)) {
          reachesOrganization.add(fk.table);
          changed = true;
        }
      }
    }
    const tenantTables = Object.keys(TABLES).filter((t) => !global.has(t) && t !== "AuditLog");
    expect(tenantTables.filter((t) => !reachesOrganization.has(t))).toEqual([]);
    // The content & campaign tables carry the column themselves, as the plan asks.
    for (const table of ["Content", "Campaign", "CampaignMetric", "EmailSequence", "SocialPost", "ABTest"]) {
      expect(TABLES[table]!.organizationId).toBe("text NOT NULL");
    }
  });

  it("has only the functions the schema needs in public, besides the extensions'", async () => {
    const { rows } = await query((c) =>
      c.query<{ proname: string }>(`
        SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        ORDER BY 1`),
    );
    expect(rows.map((r) => r.proname)).toEqual([...FUNCTIONS].sort());
  });

  it("has no trigger or check function that a temporary table or type of the caller can shadow", async () => {
    const { rows } = await query((c) =>
      c.query<{ proname: string; proconfig: string[] | null; prosrc: string }>(
        `SELECT p.proname, p.proconfig, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            AND (p.prorettype = 'trigger'::regtype OR p.proname = ANY($1))
          ORDER BY 1`,
        [CHECK_FUNCTIONS],
      ),
    );
    expect(rows.map((r) => r.proname)).toEqual(
      expect.arrayContaining([...CHECK_FUNCTIONS, "audit_log_append_only"]),
    );
    const problems: string[] = [];
    for (const { proname, proconfig, prosrc } of rows) {
      const setting = proconfig?.find((s) => s.startsWith("search_path="));
      if (setting !== undefined) {
        // pg_temp named, and last: otherwise PostgreSQL searches it first.
        const path = setting
          .slice("search_path=".length)
          .split(",")
          .map((s) => s.trim().replace(/^"|"$/g, ""));
        if (path.at(-1) !== "pg_temp") problems.push(`${proname}: ${setting} does not name pg_temp last`);
        continue;
      }
      if (!(proname in QUALIFIED_FUNCTIONS)) {
        problems.push(
          `${proname}: no search_path of its own and not in QUALIFIED_FUNCTIONS: add SET search_path = pg_catalog, public, pg_temp, or qualify every relation and type it names and list it`,
        );
        continue;
      }
      // A relation read with no schema: the plainest way to lose the qualification in a later rewrite.
      for (const m of prosrc.matchAll(/\b(?:FROM|JOIN)\s+("[^"]+"|[A-Za-z_]\w*\b)(?!\s*[.(])/gi)) {
        problems.push(`${proname}: reads ${m[1]} with no schema`);
      }
    }
    expect(problems).toEqual([]);
    // The list names functions that exist, and that have no search_path of their own.
    const unset = rows
      .filter((r) => !r.proconfig?.some((s) => s.startsWith("search_path=")))
      .map((r) => r.proname);
    expect(Object.keys(QUALIFIED_FUNCTIONS).sort()).toEqual(unset);
  });
});
