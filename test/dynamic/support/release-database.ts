// A database set up as the access layer leaves it: a NOLOGIN owner role that owns the database, a migrator
// login that is a member of it, and the extensions created by the administrator. Roles are cluster-wide, so
// their names are unique per call; everything is dropped afterwards.
import { randomBytes } from "node:crypto";
import { adminUrl, dropDatabase, withClient, withDatabase } from "../../support/database";

export interface ReleaseDatabase {
  name: string;
  owner: string;
  migrator: string;
  password: string;
  /** The migrator's connection string: what the schema release runs with. */
  migratorUrl: string;
  /** A superuser connection to this database, for checks and manual changes. */
  superuserUrl: string;
  drop(): Promise<void>;
}

export async function createReleaseDatabase(
  options: { extensions?: boolean } = {},
): Promise<ReleaseDatabase> {
  const suffix = randomBytes(5).toString("hex");
  const owner = `rel_${suffix}_owner`;
  const migrator = `rel_${suffix}_migrator`;
  const name = `rel_${suffix}`;
  const password = `Mig${randomBytes(12).toString("hex")}`;
  const admin = adminUrl();
  await withClient(admin, async (client) => {
    await client.query(`CREATE ROLE ${owner} NOLOGIN`);
    await client.query(`CREATE ROLE ${migrator} LOGIN PASSWORD '${password}' IN ROLE ${owner}`);
    await client.query(`CREATE DATABASE ${name} OWNER ${owner}`);
  });
  const superuserUrl = withDatabase(admin, name);
  if (options.extensions) {
    await withClient(superuserUrl, async (client) => {
      await client.query('CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS "uuid-ossp"');
    });
  }
  const url = new URL(superuserUrl);
  url.username = migrator;
  url.password = password;
  return {
    name,
    owner,
    migrator,
    password,
    migratorUrl: url.toString(),
    superuserUrl,
    async drop() {
      await dropDatabase(name);
      await withClient(admin, async (client) => {
        await client.query(`DROP ROLE IF EXISTS ${migrator}`);
        await client.query(`DROP ROLE IF EXISTS ${owner}`);
      });
    },
  };
}
