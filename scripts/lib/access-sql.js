// The access layer's roles, grants and default privileges (infra/access-definition.js) as SQL, for where
// there is no Pulumi: `npm run local` and the tests' released databases. Each statement mirrors one resource
// of infra/access.ts; run as the cluster's admin. Idempotent: an existing role gets its password and
// membership set again, and each grant is authoritative for its grantee (revoke all, then grant the list),
// like the provider's Grant.
"use strict";

const definition = require("../../infra/access-definition");

const ident = (name) => `"${String(name).replace(/"/g, '""')}"`;
const literal = (text) => `'${String(text).replace(/'/g, "''")}'`;
const list = (privileges) => privileges.join(", ");

/** `<prefix>_owner`, ... as the stacks name them. */
function roleNames(prefix) {
  const s = definition.ROLE_SUFFIXES;
  return {
    owner: `${prefix}${s.owner}`,
    migrator: `${prefix}${s.migrator}`,
    app: `${prefix}${s.app}`,
    readonly: `${prefix}${s.readonly}`,
  };
}

/**
 * Statements for any database of the cluster: the four roles, the database's owner and CONNECT.
 * @param {{ owner: string, migrator: string, app: string, readonly: string }} names
 * @param {{ migrator: string, app: string, readonly: string }} passwords
 * @param {string} database
 * @param {Set<string>} existing the role names that exist already
 */
function clusterStatements(names, passwords, database, existing = new Set()) {
  const owner = ident(names.owner);
  const out = [];
  if (!existing.has(names.owner)) out.push(`CREATE ROLE ${owner} NOLOGIN`);
  // roles: OWNER_MEMBER_OF on the owner (pg_read_all_stats). Granting a membership twice is harmless.
  for (const role of definition.OWNER_MEMBER_OF) out.push(`GRANT ${ident(role)} TO ${owner}`);
  const login = (key, extra = "") => {
    const role = ident(names[key]);
    const password = `PASSWORD ${literal(passwords[key])}`;
    out.push(
      existing.has(names[key])
        ? `ALTER ROLE ${role} LOGIN ${extra} ${password}`.replace(/ +/g, " ")
        : `CREATE ROLE ${role} LOGIN ${extra} ${password}`.replace(/ +/g, " "),
    );
  };
  // roles: [owner], inherit: true, assumeRole: owner (the provider's ALTER ROLE ... SET ROLE).
  login("migrator", "INHERIT");
  out.push(`GRANT ${owner} TO ${ident(names.migrator)}`);
  out.push(`ALTER ROLE ${ident(names.migrator)} SET ROLE ${owner}`);
  login("app");
  login("readonly");
  out.push(`ALTER DATABASE ${ident(database)} OWNER TO ${owner}`);
  for (const key of ["migrator", "app", "readonly"]) {
    out.push(
      `GRANT ${list(definition.LOGIN_DATABASE_PRIVILEGES)} ON DATABASE ${ident(database)} TO ${ident(names[key])}`,
    );
  }
  return out;
}

/** Statements inside the application database: extensions, schema grants, default privileges FOR ROLE owner. */
function databaseStatements(names) {
  const owner = ident(names.owner);
  const out = definition.EXTENSIONS.map((extension) => `CREATE EXTENSION IF NOT EXISTS ${ident(extension)}`);
  const schemaGrants = [
    ["PUBLIC", definition.SCHEMA_PRIVILEGES.public],
    [owner, definition.SCHEMA_PRIVILEGES.owner],
    [ident(names.app), definition.SCHEMA_PRIVILEGES.app],
    [ident(names.readonly), definition.SCHEMA_PRIVILEGES.readonly],
  ];
  for (const [grantee, privileges] of schemaGrants) {
    out.push(`REVOKE ALL ON SCHEMA public FROM ${grantee}`);
    if (privileges.length) out.push(`GRANT ${list(privileges)} ON SCHEMA public TO ${grantee}`);
  }
  const defaults = [
    [names.app, "TABLES", definition.APP_TABLE_PRIVILEGES],
    [names.app, "SEQUENCES", definition.APP_SEQUENCE_PRIVILEGES],
    [names.readonly, "TABLES", definition.READONLY_TABLE_PRIVILEGES],
    [names.readonly, "SEQUENCES", definition.READONLY_SEQUENCE_PRIVILEGES],
  ];
  for (const [grantee, objects, privileges] of defaults) {
    const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public`;
    out.push(`${prefix} REVOKE ALL ON ${objects} FROM ${ident(grantee)}`);
    out.push(`${prefix} GRANT ${list(privileges)} ON ${objects} TO ${ident(grantee)}`);
  }
  return out;
}

module.exports = { roleNames, clusterStatements, databaseStatements };
