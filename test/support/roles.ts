// The access layer's roles and grants (infra/access.ts), made with SQL in a test database: an owner role
// (NOLOGIN) that owns the database and every object, a migrator login that is a member of it and becomes it at
// login, an app login with DML only and a read-only login. The privilege lists and role names come from the
// access layer's own exports, so the tests check what the stacks really grant.
//
// Roles are cluster-wide: their names start with the test database's (unique) name, and dropAccessRoles()
// removes them once the database is gone.
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { roleNames, type RoleNames } from "../../infra/config";
import accessSql from "../../scripts/lib/access-sql";
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

/** Creates the four roles, hands them the database and grants exactly what the access layer grants. */
export async function createAccessRoles(db: TestDatabase): Promise<AccessRoles> {
  const names = roleNames(db.name);
  const password = `pw-${randomBytes(12).toString("hex")}`;
  // The same statements `npm run local` runs (scripts/lib/access-sql.js, from the access definition).
  const passwords = { migrator: password, app: password, readonly: password };
  await withClient(db.adminUrl, async (c) => {
    for (const sql of accessSql.clusterStatements(names, passwords, db.name)) await c.query(sql);
  });
  await withClient(db.url, async (c) => {
    // The admin creates the extensions (pgvector is not trusted), then the schema grants follow.
    for (const sql of accessSql.databaseStatements(names)) await c.query(sql);
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

/** The roles that own the release's tables (public's and the bookkeeping's). */
export async function tableOwners(url: string): Promise<string[]> {
  return withClient(url, async (c) =>
    (
      await c.query<{ owner: string }>(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class
            WHERE relnamespace IN ('public'::regnamespace, 'neonhub_release'::regnamespace) AND relkind IN ('r', 'p')`,
      )
    ).rows.map((r) => r.owner),
  );
}
