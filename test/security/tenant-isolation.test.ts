// Tenant isolation with row-level security, tested as the application's login (DML only) against two
// organizations that have data in every tenant table. The tenant tables come from the catalog: a new table
// without a policy, or without rows here, fails the first tests.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readForeignKeys, readPrimaryKeys, readTableSecurity, type ForeignKey } from "./catalog";
import { useReleasedDatabase } from "./released-database";
import { PARENT_NOT_FOUND, RLS_VIOLATION, inTransaction, refusedInsert } from "./sessions";
import {
  EMBEDDING,
  GLOBAL_TABLES,
  POLICY_GLOBAL_TABLES,
  SPACE_ID,
  TENANT_TABLES,
  hashOf,
  idOf,
  insertRow,
  keyOf,
  organizationOf,
  quote,
  seedTwoOrganizations,
  tenantTable,
  userOf,
  whereKey,
  type Row,
  type TenantKey,
} from "./tenant-tables";

const A = organizationOf("A");
const B = organizationOf("B");
const TABLE_NAMES = TENANT_TABLES.map((t) => t.table);
/** What the app gets for any UPDATE or DELETE on "AuditLog" (migration 20261202040100_append_only_audit_log.sql). */
const APPEND_ONLY = { code: "42501", message: expect.stringMatching(/^AuditLog is append-only/) };

/** The parent column the tenant-column trigger of an embedded table reads its organization from. */
const TENANT_PARENT_COLUMN: Record<string, string> = { Chunk: "datasetId", Message: "conversationId" };

const target = useReleasedDatabase("rls");
/** The migrator's session: it becomes the owner at login, as in the stacks. */
let owner: Client;
let app: Client;
let tenantForeignKeys: ForeignKey[] = [];

/** Every row of every tenant table, as the owner sees it: what a failed isolation would change. */
async function allTenantRows(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLE_NAMES) {
    const { rows } = await owner.query<{ row: unknown }>(
      `SELECT to_jsonb(t) AS row FROM ${quote(table)} t ORDER BY to_jsonb(t)::text`,
    );
    out[table] = rows.map((r) => r.row);
  }
  return out;
}

/** The keys of a tenant's rows in a table, as the fixture wrote them. */
function keysOf(table: string, tenant: TenantKey): Row[] {
  const spec = tenantTable(table);
  const rows = [spec.row(tenant, "seed")];
  if (table === "OrganizationPermission") rows.push(spec.row(tenant, "spare"));
  return rows.map((row) => keyOf(spec, row));
}

const byJson = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

let before: Record<string, unknown[]>;

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  await seedTwoOrganizations(owner);
  app = await target.current.roles.connect("app");
  const tenantTables = new Set(TABLE_NAMES);
  tenantForeignKeys = (await readForeignKeys(owner)).filter(
    (fk) => tenantTables.has(fk.table) && tenantTables.has(fk.refTable),
  );
  before = await allTenantRows();
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
});

describe("the tenant tables, as the catalog has them", () => {
  it("are every table of public except the documented global ones", async () => {
    const tables = (await readTableSecurity(owner)).map((t) => t.table);
    const tenant = tables.filter((t) => !(t in GLOBAL_TABLES));
    expect(
      tenant.sort(),
      "a new table is a tenant table: give it a policy and a row in tenant-tables.ts",
    ).toEqual([...TABLE_NAMES].sort());
    expect(tables).toEqual(expect.arrayContaining(Object.keys(GLOBAL_TABLES)));
  });

  it("each have row-level security enabled, not forced on the owner, and one policy for every command", async () => {
    for (const t of await readTableSecurity(owner)) {
      if (t.table in GLOBAL_TABLES) continue;
      expect(t, t.table).toEqual({
        table: t.table,
        enabled: true,
        forced: false,
        policies: ["tenant_isolation ALL"],
      });
    }
  });

  it("leave the global tables without row-level security, so the app reads them with no organization set", async () => {
    for (const t of await readTableSecurity(owner)) {
      if (!(t.table in GLOBAL_TABLES) || POLICY_GLOBAL_TABLES.includes(t.table)) continue;
      expect(t, t.table).toEqual({ table: t.table, enabled: false, forced: false, policies: [] });
    }
    const { rows } = await inTransaction(app, undefined, (c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "EmbeddingSpace" WHERE id = $1`, [SPACE_ID]),
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("are keyed in the fixture by their primary key", async () => {
    const keys = await readPrimaryKeys(owner);
    for (const spec of TENANT_TABLES) expect(spec.key, spec.table).toEqual(keys[spec.table]);
  });

  it("reach each other through foreign keys that the isolation tests below try across organizations", () => {
    // The policies' WITH CHECK covers every one of these; each is tried below.
    expect(tenantForeignKeys.length).toBeGreaterThan(TABLE_NAMES.length);
  });
});

describe("as the app login with organization A set for the transaction", () => {
  it.each(TABLE_NAMES)("%s: reads, inserts, updates and deletes only A's rows", async (table) => {
    const spec = tenantTable(table);
    const keyColumns = spec.key.map(quote).join(", ");
    const select = (organization: string) =>
      inTransaction(app, organization, (c) => c.query<Row>(`SELECT ${keyColumns} FROM ${quote(table)}`));

    // Read: exactly the organization's own rows.
    expect((await select(A)).rows.sort(byJson)).toEqual(keysOf(table, "A").sort(byJson));
    expect((await select(B)).rows.sort(byJson)).toEqual(keysOf(table, "B").sort(byJson));

    // Insert: a row of B is refused (a chunk or message as if B's dataset or conversation did not exist); a
    // row of A goes in (a new organization is written under its own id).
    await expect(
      inTransaction(app, A, (c) => insertRow(c, table, spec.row("B", "cross"))),
    ).rejects.toMatchObject(refusedInsert(table, A));
    const own = spec.row("A", "extra");
    const ownOrganization = table === "Organization" ? String(own.id) : A;
    expect(await inTransaction(app, ownOrganization, (c) => insertRow(c, table, own))).toHaveLength(1);
    const ownKey = whereKey(keyOf(spec, own));
    const firstKey = quote(spec.key[0]!);

    const seedB = whereKey(keyOf(spec, spec.row("B", "seed")));
    if (table === "AuditLog") {
      // Append-only: no UPDATE or DELETE at all, not even of A's own entry; only the owner prunes.
      for (const [organization, where] of [
        [A, seedB],
        [A, ownKey],
      ] as const) {
        for (const sql of [
          `UPDATE ${quote(table)} SET ${firstKey} = ${firstKey} WHERE ${where.sql}`,
          `DELETE FROM ${quote(table)} WHERE ${where.sql}`,
        ]) {
          await expect(
            inTransaction(app, organization, (c) => c.query(sql, where.values)),
            sql,
          ).rejects.toMatchObject(APPEND_ONLY);
        }
      }
      const pruned = await owner.query(`DELETE FROM ${quote(table)} WHERE ${ownKey.sql}`, ownKey.values);
      expect(pruned.rowCount).toBe(1);
      return;
    }

    // Update and delete of B's rows find nothing to change.
    const touchB = await inTransaction(app, A, (c) =>
      c.query(`UPDATE ${quote(table)} SET ${firstKey} = ${firstKey} WHERE ${seedB.sql}`, seedB.values),
    );
    expect(touchB.rowCount).toBe(0);
    const deleteB = await inTransaction(app, A, (c) =>
      c.query(`DELETE FROM ${quote(table)} WHERE ${seedB.sql}`, seedB.values),
    );
    expect(deleteB.rowCount).toBe(0);

    // Moving A's row to B, or pointing it at any row of B, is refused: every foreign key between tenant tables.
    const bRow = spec.row("B", "seed");
    for (const fk of tenantForeignKeys.filter((f) => f.table === table)) {
      const set = fk.columns.map((column, i) => `${quote(column)} = $${i + 1}`).join(", ");
      const where = whereKey(keyOf(spec, own), fk.columns.length + 1);
      await expect(
        inTransaction(app, ownOrganization, (c) =>
          c.query(`UPDATE ${quote(table)} SET ${set} WHERE ${where.sql}`, [
            ...fk.columns.map((column) => bRow[column]),
            ...where.values,
          ]),
        ),
        `${fk.name} pointed at organization B`,
      ).rejects.toMatchObject(
        // The tenant-column trigger looks the new dataset or conversation up first, and finds none.
        fk.columns.includes(TENANT_PARENT_COLUMN[table] ?? "") ? PARENT_NOT_FOUND : RLS_VIOLATION,
      );
    }

    // A's own row can be updated and deleted.
    const touchOwn = await inTransaction(app, ownOrganization, (c) =>
      c.query(`UPDATE ${quote(table)} SET ${firstKey} = ${firstKey} WHERE ${ownKey.sql}`, ownKey.values),
    );
    expect(touchOwn.rowCount).toBe(1);
    const deleteOwn = await inTransaction(app, ownOrganization, (c) =>
      c.query(`DELETE FROM ${quote(table)} WHERE ${ownKey.sql}`, ownKey.values),
    );
    expect(deleteOwn.rowCount).toBe(1);
  });

  it("left every row of both organizations as it was", async () => {
    expect(await allTenantRows()).toEqual(before);
  });
});

describe("fails closed: with no organization, the app sees and writes no tenant row", () => {
  const cases: [string, (c: Client) => Promise<string | undefined>][] = [
    ["never set in the session", async () => undefined],
    ["set to the empty string", async () => ""],
    [
      "left over from a finished transaction",
      async (c) => (await inTransaction(c, A, async () => undefined), undefined),
    ],
    ["naming no organization", async () => "no-such-organization"],
  ];

  it.each(cases)("setting %s", async (_label, prepare) => {
    // A fresh login: "never set" must mean never set in this session.
    const client = await target.current.roles.connect("app");
    try {
      const organization = await prepare(client);
      for (const spec of TENANT_TABLES) {
        const table = quote(spec.table);
        const firstKey = quote(spec.key[0]!);
        const counts = await inTransaction(
          client,
          organization,
          async (c) => {
            const read = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
            // "AuditLog" refuses every UPDATE and DELETE outright (append-only): nothing to count.
            if (spec.table === "AuditLog") return { read: read.rows[0]?.n, updated: 0, deleted: 0 };
            const updated = await c.query(`UPDATE ${table} SET ${firstKey} = ${firstKey}`);
            const deleted = await c.query(`DELETE FROM ${table}`);
            return { read: read.rows[0]?.n, updated: updated.rowCount, deleted: deleted.rowCount };
          },
          { rollback: true },
        );
        expect(counts, spec.table).toEqual({ read: 0, updated: 0, deleted: 0 });
        await expect(
          inTransaction(client, organization, (c) => insertRow(c, spec.table, spec.row("A", "extra"))),
          spec.table,
        ).rejects.toMatchObject(refusedInsert(spec.table, organization));
      }
    } finally {
      await client.end();
    }
  });

  it("and cannot switch row-level security off for its session", async () => {
    await expect(
      inTransaction(app, A, async (c) => {
        await c.query("SET LOCAL row_security = off");
        return c.query(`SELECT 1 FROM "Brand"`);
      }),
    ).rejects.toMatchObject({ code: "42501", message: expect.stringMatching(/row-level security policy/) });
  });
});

describe("the owner and the migrator are not subject to the policies", () => {
  it("the migrator's session is the owner and sees both organizations with no organization set", async () => {
    const { rows } = await owner.query<{ user: string }>("SELECT current_user AS user");
    expect(rows[0]?.user).toBe(target.current.roles.names.owner);
    for (const table of TABLE_NAMES) {
      const { rows: count } = await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${quote(table)}`,
      );
      expect(count[0]?.n, table).toBe(keysOf(table, "A").length + keysOf(table, "B").length);
    }
  });

  it("the migrator as itself (SET ROLE NONE) inherits the owner's exemption and writes for any organization", async () => {
    const migrator = await target.current.roles.connect("migrator");
    try {
      await migrator.query("SET ROLE NONE");
      const { rows } = await migrator.query<{ user: string; n: number }>(
        `SELECT current_user AS user, (SELECT count(*)::int FROM "Brand") AS n`,
      );
      expect(rows[0]).toEqual({ user: target.current.roles.names.migrator, n: 2 });
      const row = tenantTable("Brand").row("B", "extra");
      await inTransaction(
        migrator,
        A,
        async (c) => expect(await insertRow(c, "Brand", row)).toHaveLength(1),
        { rollback: true },
      );
    } finally {
      await migrator.end();
    }
  });
});

describe("the embedding-dimension trigger under row-level security", () => {
  it("checks the app's embeddings against the space, which the app can read", async () => {
    const chunk = (tag: "extra" | "cross", embedding: string, embeddingSpaceId = SPACE_ID) => ({
      ...tenantTable("Chunk").row("A", tag),
      embedding,
      embeddingSpaceId,
    });
    await inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("extra", EMBEDDING)), { rollback: true });
    await expect(
      inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("extra", "[1,2]"))),
    ).rejects.toMatchObject({
      code: "23514",
      message: expect.stringContaining("has 2 dimensions, but embedding space"),
    });
    await expect(
      inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("extra", EMBEDDING, "no-such-space"))),
    ).rejects.toMatchObject({ code: "23503" });
  });
});

describe("lookups that come before an organization is set", () => {
  const call = <T extends Row>(sql: string, values: unknown[]) =>
    inTransaction(app, undefined, (c) => c.query<T>(sql, values)).then((r) => r.rows);

  it("find an API key's organization from its token hash, and nothing for a revoked key", async () => {
    const key = tenantTable("ApiKey").row("B", "seed");
    const sql = "SELECT organization_id_for_token_hash($1) AS id";
    expect(await call(sql, [key.tokenHash])).toEqual([{ id: B }]);
    expect(await call(sql, [hashOf("unknown token")])).toEqual([{ id: null }]);
    await owner.query(`UPDATE "ApiKey" SET "revokedAt" = timezone('UTC', now()) WHERE id = $1`, [key.id]);
    try {
      expect(await call(sql, [key.tokenHash])).toEqual([{ id: null }]);
    } finally {
      await owner.query(`UPDATE "ApiKey" SET "revokedAt" = NULL WHERE id = $1`, [key.id]);
    }
  });

  it("find an organization from its slug, and a user's organizations to choose from", async () => {
    const slug = tenantTable("Organization").row("A", "seed").slug;
    expect(await call("SELECT organization_id_for_slug($1) AS id", [slug])).toEqual([{ id: A }]);
    expect(
      await call(`SELECT "organizationId", status FROM organizations_of_user($1)`, [userOf("seed")]),
    ).toEqual([
      { organizationId: A, status: "active" },
      { organizationId: B, status: "active" },
    ]);
    expect(await call(`SELECT * FROM organizations_of_user($1)`, [userOf("cross")])).toEqual([]);
  });

  it("are the only functions that bypass row-level security, each with a fixed search_path", async () => {
    const { rows } = await owner.query<{ name: string; config: string[] | null }>(`
      SELECT p.proname AS name, p.proconfig AS config FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1`);
    expect(rows).toEqual(
      [
        "organization_id_for_slug",
        "organization_id_for_token_hash",
        "organizations_of_user",
        "user_id_for_email",
      ].map((name) => ({
        name,
        config: ["search_path=pg_catalog, pg_temp"],
      })),
    );
  });

  it("leave the data behind the policies: the key's row itself stays invisible without its organization", async () => {
    const rows = await call(`SELECT count(*)::int AS n FROM "ApiKey" WHERE id = $1`, [
      idOf("ApiKey", "B", "seed"),
    ]);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
