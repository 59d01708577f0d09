// The migrations run as the release engine runs them in real stacks: a migrator login that has done
// SET ROLE to a NOLOGIN owner role, with no superuser rights. The administrator enables the extensions.
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminUrl,
  createTestDatabase,
  dropTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { migrate } from "../support/migrations";
import { make, makeEmbedded, vectorOf } from "./fixtures";

const suffix = randomBytes(4).toString("hex");
const owner = `neonhub_owner_${suffix}`;
const migrator = `neonhub_migrator_${suffix}`;
const password = randomBytes(18).toString("hex");

/** A connection as the migrator that has switched to the owner role, as the engine's is. */
async function connectAsOwner(db: TestDatabase): Promise<Client> {
  const url = new URL(db.url);
  url.username = migrator;
  url.password = password;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`SET ROLE "${owner}"`);
  return client;
}

async function asOwner<T>(db: TestDatabase, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectAsOwner(db);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database owned by the owner role (so it may create in `public`), optionally with the extensions. */
async function ownedDatabase(withExtensions: boolean): Promise<TestDatabase> {
  const db = await createTestDatabase("owned");
  await withClient(db.adminUrl, (c) => c.query(`ALTER DATABASE "${db.name}" OWNER TO "${owner}"`));
  if (withExtensions) {
    await withClient(db.url, async (c) => {
      await c.query("CREATE EXTENSION vector");
      await c.query('CREATE EXTENSION "uuid-ossp"');
    });
  }
  return db;
}

describe("migrations run by a non-superuser owner role", () => {
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    await withClient(adminUrl(), async (c) => {
      await c.query(`CREATE ROLE "${owner}" NOLOGIN`);
      await c.query(`CREATE ROLE "${migrator}" LOGIN PASSWORD '${password}' IN ROLE "${owner}"`);
    });
  });

  afterAll(async () => {
    for (const db of databases) await dropTestDatabase(db);
    await withClient(adminUrl(), async (c) => {
      await c.query(`DROP ROLE IF EXISTS "${migrator}"`);
      await c.query(`DROP ROLE IF EXISTS "${owner}"`);
    });
  });

  it("apply, leave the owner role owning every object, and enforce the schema's rules", async () => {
    const db = await ownedDatabase(true);
    databases.push(db);

    const applied = await asOwner(db, (c) => migrate(c));
    expect(applied.length).toBeGreaterThan(10);

    const { rows } = await withClient(db.url, (c) =>
      c.query<{ owner: string; n: number }>(`
        SELECT pg_get_userbyid(c.relowner) AS owner, count(*)::int AS n
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'S') AND c.relname NOT LIKE 'pgmigrations%'
        GROUP BY 1`),
    );
    expect(rows).toEqual([{ owner, n: expect.any(Number) }]);

    await asOwner(db, async (c) => {
      const spaceId = await make.space(c, 3);
      await expect(makeEmbedded(c, "Chunk", spaceId, vectorOf(4))).rejects.toMatchObject({ code: "23514" });
      await makeEmbedded(c, "Chunk", spaceId, vectorOf(3));
    });
  });

  it("revert to zero without dropping the extensions the administrator enabled, and apply again", async () => {
    const db = await ownedDatabase(true);
    databases.push(db);

    await asOwner(db, async (c) => {
      const applied = await migrate(c);
      expect(await migrate(c, { direction: "down" })).toEqual([...applied].reverse());
    });
    const extensions = await withClient(db.url, (c) =>
      c.query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"),
    );
    expect(extensions.rows.map((r) => r.extname)).toEqual(["uuid-ossp", "vector"]);

    expect((await asOwner(db, (c) => migrate(c))).length).toBeGreaterThan(10);
  });

  it("stop at the first migration with a message naming pgvector when it is not enabled", async () => {
    const db = await ownedDatabase(false);
    databases.push(db);

    await expect(asOwner(db, (c) => migrate(c))).rejects.toMatchObject({
      code: "42501",
      message: expect.stringMatching(
        /^pgvector is installed on this server but not enabled in database "owned_/,
      ),
      hint: expect.stringContaining("run CREATE EXTENSION vector;"),
    });

    const { rows } = await withClient(db.url, (c) =>
      c.query<{ tables: number; types: number; extensions: number }>(`
        SELECT (SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations') AS tables,
               (SELECT count(*)::int FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = 'public' AND t.typtype = 'e') AS types,
               (SELECT count(*)::int FROM pg_extension WHERE extname <> 'plpgsql') AS extensions`),
    );
    expect(rows[0]).toEqual({ tables: 0, types: 0, extensions: 0 });
  });
});
