// What the access layer grants, as data: one definition that the Pulumi program (infra/access.ts), the local
// setup without Pulumi (scripts/lib/access-sql.js, `npm run local`) and the security tests all read, so the
// laptop, the tests and every stack have the same roles, grants and default privileges.
"use strict";

module.exports = {
  /** Extensions the schema needs; created by the admin because pgvector is not a trusted extension. */
  EXTENSIONS: ["uuid-ossp", "vector"],
  /** Role name suffixes after the stack's rolePrefix: `<prefix>_owner`, ... */
  ROLE_SUFFIXES: { owner: "_owner", migrator: "_migrator", app: "_app", readonly: "_readonly" },
  /** What the app may do with every table and sequence the migrations create. */
  APP_TABLE_PRIVILEGES: ["DELETE", "INSERT", "SELECT", "UPDATE"],
  APP_SEQUENCE_PRIVILEGES: ["SELECT", "USAGE"],
  READONLY_TABLE_PRIVILEGES: ["SELECT"],
  READONLY_SEQUENCE_PRIVILEGES: ["SELECT"],
  /**
   * Predefined roles the owner is a member of. pg_read_all_stats only: pg_stat_activity shows a role other
   * sessions' details (state, start times, query) only with it, and the migrator acts as the owner (SET ROLE),
   * which has no privileges of the migrator. Without it `neonhub-db health` sees no connection and no open
   * transaction, and a waiting apply cannot say how long the session in its way has been there. It reads
   * statistics only; pg_monitor would add every setting and pg_stat_scan_tables, which nothing here needs.
   * The migrator already owns every object and row, so seeing other sessions' query text adds little.
   */
  OWNER_MEMBER_OF: ["pg_read_all_stats"],
  /** What each login may do with the database itself. */
  LOGIN_DATABASE_PRIVILEGES: ["CONNECT"],
  /**
   * Privileges on schema `public`, per grantee (`public` is PUBLIC): only the owner may create objects in it,
   * and only our roles may use it.
   */
  SCHEMA_PRIVILEGES: {
    public: [],
    owner: ["CREATE", "USAGE"],
    app: ["USAGE"],
    readonly: ["USAGE"],
  },
};
