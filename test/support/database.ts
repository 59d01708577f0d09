// Per-test databases inside the run's throwaway cluster (see global-setup.ts).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, inject } from "vitest";
import { Client } from "pg";
import { quoteIdentifier } from "../../core";

export interface TestDatabase {
  /** Connection string of the new database, as the cluster's superuser. */
  url: string;
  /** The database's name. */
  name: string;
  /** Superuser connection string for the cluster's `postgres` database. */
  adminUrl: string;
}

export function adminUrl(): string {
  return inject("adminUrl");
}

export function pgBindir(): string {
  return inject("pgBindir");
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs `fn` with a superuser client on `url`, closing it afterwards. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `sql` (several statements) in one session of `url`: PostgreSQL's error message, or undefined. */
export async function errorOfStatements(url: string, sql: string): Promise<string | undefined> {
  return withClient(url, (c) => c.query(sql)).then(
    () => undefined,
    (e: unknown) => (e as Error).message,
  );
}

/** The columns of `table` (as written for regclass), in order. */
export async function columnsOf(url: string, table: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string }>(
      "SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      [table],
    );
    return rows.map((r) => r.name);
  });
}

/** Creates an empty database (no extensions) with a unique name. */
export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const admin = adminUrl();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}"`));
  return { url: withDatabase(admin, name), name, adminUrl: admin };
}

export async function dropTestDatabase(db: TestDatabase): Promise<void> {
  await dropDatabase(db.name);
}

/** How long a client that has called end() may take to leave (its server session ends asynchronously). */
const SESSIONS_GONE_WITHIN_MS = 10_000;

/**
 * Drops a database of the test cluster, the one way tests do it. `DROP ... WITH (FORCE)` terminates the
 * database's sessions, and a client still connected to one receives `57P01 terminating connection due to
 * administrator command` as an 'error' event: with no listener, an unhandled error that fails the whole run
 * far from its cause. So it first waits for sessions that are closing (node-pg-migrate, for one, does not
 * await its client's end()) and only then drops; a session still open after that is a test that leaked a
 * connection, and this fails naming it (application, state, last query) before forcing the drop.
 */
export async function dropDatabase(name: string): Promise<void> {
  await withClient(adminUrl(), async (client) => {
    const sessions = async () =>
      (
        await client.query<{ pid: number; application_name: string; state: string; query: string }>(
          `SELECT pid, application_name, state, query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [name],
        )
      ).rows;
    const deadline = Date.now() + SESSIONS_GONE_WITHIN_MS;
    let open = await sessions();
    while (open.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await sessions();
    }
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    if (open.length > 0) {
      const described = open.map(
        (s) =>
          `pid ${s.pid} (${s.application_name || "no application_name"}, ${s.state}: ${s.query.slice(0, 80)})`,
      );
      throw new Error(
        `Database ${name} still had ${open.length} open session(s) ${SESSIONS_GONE_WITHIN_MS / 1000} s after its tests: ${described.join("; ")}. Close every client a test opens (await client.end()).`,
      );
    }
  });
}

/** A fresh database for the enclosing describe block (or file), dropped after its tests. */
export function useTestDatabase(prefix = "t"): { readonly current: TestDatabase } {
  const holder: { current?: TestDatabase } = {};
  beforeAll(async () => {
    holder.current = await createTestDatabase(prefix);
  });
  afterAll(async () => {
    if (holder.current) await dropTestDatabase(holder.current);
  });
  return {
    get current(): TestDatabase {
      if (!holder.current) throw new Error("useTestDatabase(): the database exists only inside tests");
      return holder.current;
    },
  };
}

/** The settings pg_db_role_setting holds for the database of `url` itself (no role): "name=value". */
export async function databaseSettings(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ setting: string }>(
      `SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s
         JOIN pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = current_database() AND s.setrole = 0 ORDER BY 1`,
    );
    return rows.map((r) => r.setting);
  });
}
