// The access layer's roles and grants (infra/access.ts), made with SQL in a test database: an owner role
// (NOLOGIN) that owns the database and every object, a migrator login that is a member of it and becomes it at
// login, an app login with DML only and a read-only login. The privilege lists and role names come from the
// access layer's own exports, so the tests check what the stacks really grant.
//
// Roles are cluster-wide: their names start with the test database's (unique) name, and dropAccessRoles()
// removes them once the database is gone.
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import {
  APP_SEQUENCE_PRIVILEGES,
  APP_TABLE_PRIVILEGES,
  EXTENSIONS,
  LOGIN_DATABASE_PRIVILEGES,
  READONLY_SEQUENCE_PRIVILEGES,
  READONLY_TABLE_PRIVILEGES,
  SCHEMA_PRIVILEGES,
} from "../../infra/access";
import { roleNames, type RoleNames } from "../../infra/config";
import { withClient, type TestDatabase } from "./database";
import { quoteIdentifier } from "../../core";

export type Login = "migrator" | "app" | "readonly";
export const LOGINS: readonly Login[] = ["migrator", "app", "readonly"];

export interface AccessRoles {
  names: RoleNames;
  /** The logins' password (one for all three): tests check that it never shows in any output. */
  password: string;
  /** Connection string of a login to the test database. */
  url(login: Login): string;
  /** A connected client of a login; the caller ends it. */
  connect(login: Login): Promise<Client>;
}

const ident = quoteIdentifier;
const list = (privileges: readonly string[]) => privileges.join(", ");

/** Creates the four roles, hands them the database and grants exactly what the access layer grants. */
export async function createAccessRoles(db: TestDatabase): Promise<AccessRoles> {
  const names = roleNames(db.name);
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const owner = ident(names.owner);
  const migrator = ident(names.migrator);
  const app = ident(names.app);
  const readonly = ident(names.readonly);
  await withClient(db.adminUrl, async (c) => {
    await c.query(`CREATE ROLE ${owner} NOLOGIN`);
    // roles: [owner], inherit: true, assumeRole: owner (the provider's ALTER ROLE ... SET ROLE).
    await c.query(`CREATE ROLE ${migrator} LOGIN INHERIT PASSWORD '${password}' IN ROLE ${owner}`);
    await c.query(`ALTER ROLE ${migrator} SET ROLE ${owner}`);
    await c.query(`CREATE ROLE ${app} LOGIN PASSWORD '${password}'`);
    await c.query(`CREATE ROLE ${readonly} LOGIN PASSWORD '${password}'`);
    await c.query(`ALTER DATABASE ${ident(db.name)} OWNER TO ${owner}`);
    for (const login of [migrator, app, readonly]) {
      await c.query(`GRANT ${list(LOGIN_DATABASE_PRIVILEGES)} ON DATABASE ${ident(db.name)} TO ${login}`);
    }
  });
  await withClient(db.url, async (c) => {
    // The admin creates the extensions (pgvector is not trusted), then the schema grants follow.
    for (const extension of EXTENSIONS) await c.query(`CREATE EXTENSION IF NOT EXISTS ${ident(extension)}`);
    // Each provider Grant is authoritative: it revokes everything from its grantee, then grants its list.
    const schemaGrants: [string, readonly string[]][] = [
      ["PUBLIC", SCHEMA_PRIVILEGES.public],
      [owner, SCHEMA_PRIVILEGES.owner],
      [app, SCHEMA_PRIVILEGES.app],
      [readonly, SCHEMA_PRIVILEGES.readonly],
    ];
    for (const [grantee, privileges] of schemaGrants) {
      await c.query(`REVOKE ALL ON SCHEMA public FROM ${grantee}`);
      if (privileges.length) await c.query(`GRANT ${list(privileges)} ON SCHEMA public TO ${grantee}`);
    }
    const defaults: [string, "TABLES" | "SEQUENCES", readonly string[]][] = [
      [app, "TABLES", APP_TABLE_PRIVILEGES],
      [app, "SEQUENCES", APP_SEQUENCE_PRIVILEGES],
      [readonly, "TABLES", READONLY_TABLE_PRIVILEGES],
      [readonly, "SEQUENCES", READONLY_SEQUENCE_PRIVILEGES],
    ];
    for (const [grantee, objects, privileges] of defaults) {
      await c.query(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT ${list(privileges)} ON ${objects} TO ${grantee}`,
      );
    }
  });
  const url = (login: Login) => {
    const parsed = new URL(db.url);
    parsed.username = names[login];
    parsed.password = password;
    return parsed.toString();
  };
  return {
    names,
    password,
    url,
    connect: async (login) => {
      const client = new Client({ connectionString: url(login) });
      await client.connect();
      return client;
    },
  };
}

/** Drops the roles. Call after the test database is dropped (it holds their grants and default privileges). */
export async function dropAccessRoles(db: TestDatabase, roles: AccessRoles): Promise<void> {
  await withClient(db.adminUrl, async (c) => {
    for (const name of [roles.names.migrator, roles.names.app, roles.names.readonly, roles.names.owner]) {
      await c.query(`DROP ROLE IF EXISTS ${ident(name)}`);
    }
  });
}
