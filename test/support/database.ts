// Per-test databases inside the run's throwaway cluster (see global-setup.ts).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, inject } from "vitest";
import { Client } from "pg";

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

/** Creates an empty database (no extensions) with a unique name. */
export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const admin = adminUrl();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}"`));
  return { url: withDatabase(admin, name), name, adminUrl: admin };
}

export async function dropTestDatabase(db: TestDatabase): Promise<void> {
  await withClient(db.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`));
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
