// Least privilege, as the access layer grants it: each role logs in and tries what it must not do.
//   app      - rows (DML) only: no DDL, no TRUNCATE, no way to the owner or to the release's ledger;
//   readonly - reads only;
//   PUBLIC   - (any other login) no CREATE on any schema, nothing of the ledger.
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOOKKEEPING_SCHEMA } from "../../core";
import { withClient } from "../support/database";
import type { Login } from "../support/roles";
import { readTableSecurity } from "./catalog";
import { useReleasedDatabase } from "./released-database";
import { PERMISSION_DENIED, inTransaction } from "./sessions";
import { organizationOf, quote, seedTwoOrganizations } from "./tenant-tables";

const target = useReleasedDatabase("privs");
const stranger = { name: "", password: `pw-${randomBytes(12).toString("hex")}` };
let tables: string[] = [];

beforeAll(async () => {
  const { db, roles } = target.current;
  const owner = await roles.connect("migrator");
  try {
    await seedTwoOrganizations(owner);
    tables = (await readTableSecurity(owner)).map((t) => t.table);
  } finally {
    await owner.end();
  }
  // A login with no grant of its own: what it may do, PUBLIC may do.
  stranger.name = `${db.name}_stranger`;
  await withClient(db.adminUrl, (c) =>
    c.query(`CREATE ROLE ${stranger.name} LOGIN PASSWORD '${stranger.password}'`),
  );
});

afterAll(async () => {
  if (stranger.name)
    await withClient(target.current.db.adminUrl, (c) => c.query(`DROP ROLE ${stranger.name}`));
});

async function as<T>(login: Login | "stranger", fn: (client: Client) => Promise<T>): Promise<T> {
  const { db, roles } = target.current;
  let client: Client;
  if (login === "stranger") {
    const url = new URL(db.url);
    url.username = stranger.name;
    url.password = stranger.password;
    client = new Client({ connectionString: url.toString() });
    await client.connect();
  } else {
    client = await roles.connect(login);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one statement in a transaction that is rolled back whatever happens. */
const attempt = (client: Client, sql: string) =>
  inTransaction(client, organizationOf("A"), (c) => c.query(sql), { rollback: true });

const FORBIDDEN_TO_NON_OWNERS: [string, (owner: string) => string][] = [
  ["create a table in public", () => `CREATE TABLE public.intruder (id int)`],
  ["create a table in the release's schema", () => `CREATE TABLE ${BOOKKEEPING_SCHEMA}.intruder (id int)`],
  ["create a schema", () => `CREATE SCHEMA intruder`],
  ["create a function", () => `CREATE FUNCTION public.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'`],
  [
    "create a view (it would read with its owner's rights)",
    () => `CREATE VIEW public.intruder AS SELECT 1 AS x`,
  ],
  ["create a type", () => `CREATE TYPE public.intruder AS ENUM ('x')`],
  ["add a column", () => `ALTER TABLE "Brand" ADD COLUMN intruder text`],
  ["turn row-level security off", () => `ALTER TABLE "Brand" DISABLE ROW LEVEL SECURITY`],
  ["drop a policy", () => `DROP POLICY tenant_isolation ON "Brand"`],
  ["add a permissive policy", () => `CREATE POLICY intruder ON "Brand" USING (true)`],
  [
    "replace the function the policies read",
    () =>
      `CREATE OR REPLACE FUNCTION public.current_organization_id() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$`,
  ],
  ["drop a lookup function", () => `DROP FUNCTION organization_id_for_slug(text)`],
  ["drop a table", () => `DROP TABLE "Chunk"`],
  ["create an index", () => `CREATE INDEX intruder ON "Chunk" ("text")`],
  ["truncate a table (TRUNCATE is not subject to row-level security)", () => `TRUNCATE "Chunk"`],
  [
    "add a trigger",
    () => `CREATE TRIGGER intruder BEFORE INSERT ON "Chunk" FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,
  ],
  ["add an enum value", () => `ALTER TYPE "AgentKind" ADD VALUE 'INTRUDER'`],
  ["comment on a table", () => `COMMENT ON TABLE "Brand" IS 'mine'`],
  ["become the owner", (owner) => `SET ROLE ${quote(owner)}`],
  [
    "change the owner's default privileges",
    (owner) => `ALTER DEFAULT PRIVILEGES FOR ROLE ${quote(owner)} GRANT ALL ON TABLES TO PUBLIC`,
  ],
  ["read the migration ledger", () => `SELECT * FROM ${BOOKKEEPING_SCHEMA}.migrations`],
  ["write the migration ledger", () => `DELETE FROM ${BOOKKEEPING_SCHEMA}.migrations`],
  ["read the release's schema snapshot", () => `SELECT * FROM ${BOOKKEEPING_SCHEMA}.schema_snapshot`],
];

describe.each<Login>(["app", "readonly"])("the %s login", (login) => {
  it.each(FORBIDDEN_TO_NON_OWNERS)("cannot %s", async (_label, sql) => {
    await as(login, (c) =>
      expect(attempt(c, sql(target.current.roles.names.owner))).rejects.toMatchObject(PERMISSION_DENIED),
    );
  });

  it("cannot grant anyone more than it has", async () => {
    const { names } = target.current.roles;
    await as(login, (c) => attempt(c, `GRANT ALL ON "Chunk" TO PUBLIC`).catch(() => undefined));
    const { rows } = await withClient(target.current.db.url, (c) =>
      c.query<{ truncate: boolean }>(`SELECT has_table_privilege($1, '"Chunk"', 'TRUNCATE') AS truncate`, [
        names.readonly,
      ]),
    );
    expect(rows[0]?.truncate).toBe(false);
  });

  it("is no superuser, cannot bypass row-level security, create roles or databases, and owns nothing", async () => {
    const name = target.current.roles.names[login];
    const { rows } = await withClient(target.current.db.url, (c) =>
      c.query(
        `SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships,
                (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid)
                + (SELECT count(*)::int FROM pg_proc WHERE proowner = r.oid)
                + (SELECT count(*)::int FROM pg_namespace WHERE nspowner = r.oid)
                + (SELECT count(*)::int FROM pg_type WHERE typowner = r.oid) AS owned
           FROM pg_roles r WHERE r.rolname = $1`,
        [name],
      ),
    );
    expect(rows[0]).toEqual({
      rolsuper: false,
      rolbypassrls: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolcanlogin: true,
      memberships: 0,
      owned: 0,
    });
  });
});

describe("the app login", () => {
  it("has exactly SELECT, INSERT, UPDATE and DELETE on every table: no TRUNCATE, REFERENCES or TRIGGER", async () => {
    const { rows } = await withClient(target.current.db.url, (c) =>
      c.query<{ table: string; privileges: string[] }>(
        `SELECT c.relname AS table,
                ARRAY(SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                       WHERE has_table_privilege($1, c.oid, p)) AS privileges
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
        [target.current.roles.names.app],
      ),
    );
    expect(rows.map((r) => r.table)).toEqual(tables);
    for (const row of rows)
      expect(row.privileges, row.table).toEqual(["SELECT", "INSERT", "UPDATE", "DELETE"]);
  });
});

describe("the read-only login", () => {
  it.each(["INSERT", "UPDATE", "DELETE", "TRUNCATE"])("cannot %s any table", async (verb) => {
    await as("readonly", async (c) => {
      for (const table of tables) {
        const sql = {
          INSERT: `INSERT INTO ${quote(table)} DEFAULT VALUES`,
          UPDATE: `UPDATE ${quote(table)} SET "createdAt" = "createdAt"`,
          DELETE: `DELETE FROM ${quote(table)}`,
          TRUNCATE: `TRUNCATE ${quote(table)}`,
        }[verb]!;
        await expect(attempt(c, sql), `${verb} ${table}`).rejects.toMatchObject({
          code: "42501",
          message: `permission denied for table ${table}`,
        });
      }
    });
  });

  it("reads under the same policies as the app: its organization's rows only, none without one", async () => {
    await as("readonly", async (c) => {
      const count = (organization: string | undefined) =>
        inTransaction(c, organization, (t) =>
          t.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Brand"`),
        );
      expect((await count(organizationOf("A"))).rows[0]?.n).toBe(1);
      expect((await count(undefined)).rows[0]?.n).toBe(0);
    });
  });
});

describe("PUBLIC (a login with no grant of its own)", () => {
  it("holds CREATE on no schema of the database", async () => {
    const { rows } = await withClient(target.current.db.url, (c) =>
      c.query<{ schema: string; public_create: boolean }>(`
        SELECT n.nspname AS schema,
               EXISTS (SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                        WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public_create
          FROM pg_namespace n
         WHERE n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
         ORDER BY 1`),
    );
    expect(rows.map((r) => r.schema)).toEqual(expect.arrayContaining(["public", BOOKKEEPING_SCHEMA]));
    expect(rows.filter((r) => r.public_create)).toEqual([]);
    await as("stranger", async (c) => {
      for (const { schema } of rows) {
        await expect(
          attempt(c, `CREATE TABLE ${quote(schema)}.intruder (id int)`),
          schema,
        ).rejects.toMatchObject(PERMISSION_DENIED);
      }
    });
  });

  it("has no access to the release's schema, its ledger or any of its tables", async () => {
    const { rows } = await withClient(target.current.db.url, (c) =>
      c.query<{ object: string }>(`
        SELECT 'schema ' || n.nspname AS object FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
         WHERE n.nspname = '${BOOKKEEPING_SCHEMA}' AND a.grantee = 0
        UNION ALL
        SELECT 'table ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
               aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
         WHERE n.nspname = '${BOOKKEEPING_SCHEMA}' AND a.grantee = 0`),
    );
    expect(rows).toEqual([]);
    for (const table of ["migrations", "schema_snapshot", "seed_sets", "row_level_security"]) {
      await as("stranger", (c) =>
        expect(attempt(c, `SELECT * FROM ${BOOKKEEPING_SCHEMA}.${table}`), table).rejects.toMatchObject({
          code: "42501",
          message: `permission denied for schema ${BOOKKEEPING_SCHEMA}`,
        }),
      );
    }
  });

  it("cannot even use schema public: only the roles of the access layer may", async () => {
    await as("stranger", (c) =>
      expect(attempt(c, `SELECT 1 FROM public."User"`)).rejects.toMatchObject({
        code: "42501",
        message: "permission denied for schema public",
      }),
    );
  });
});
