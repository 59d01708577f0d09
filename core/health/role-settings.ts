// Settings stored on the application's logins (pg_db_role_setting: ALTER ROLE ... SET, for all databases or
// IN DATABASE this one). A non-superuser role may set its own, so a leaked app password can plant
// `statement_timeout = 1` on the app login (every future session of the app breaks, and the setting outlives
// a password rotation), or the read-only login `default_transaction_read_only = off`. The release sets none
// on these logins: its search defaults are the database's (ALTER DATABASE ... SET, which only the owner may:
// core/search/session-defaults.ts). So every such setting is reported, with the RESET that removes it.
//
// The logins are found in the catalog, not by name: the roles the database owner's default privileges grant
// to (the access layer's app and read-only logins, infra/access.ts).
//
// A setting's value is shown for PostgreSQL's own settings and the search settings (below); a custom one the
// app defines (`myapp.api_password`) is shown by its name with its value masked: it may hold a secret, and its
// RESET needs only the name.
import type { ClientBase } from "pg";
import { SECRET_MASK } from "../dsn";
import { quoteIdentifier } from "../identifiers";
import { SEARCH_SETTINGS } from "../vector-indexes/search-default";
import type { HealthFinding } from "./report";

/**
 * Role settings the release sets on the app and read-only logins, by setting name: none. A setting listed
 * here is reported only when its value differs.
 */
export const RELEASE_ROLE_SETTINGS: Readonly<Record<string, string>> = {};

/**
 * A setting's value as a finding shows it (the value is what the finding is about: a `statement_timeout = 1`):
 * PostgreSQL's own settings (a name without a dot, none of which holds a secret) and the search settings the
 * release calibrates are shown; any other dotted name, a custom setting an app defines and may read a secret
 * from (`myapp.api_password`), or an extension's, is masked.
 */
const SHOWN_DOTTED: ReadonlySet<string> = new Set([
  ...SEARCH_SETTINGS,
  ...Object.keys(RELEASE_ROLE_SETTINGS),
]);

export function shownRoleSettingValue(setting: RoleSetting): string {
  const name = setting.name.toLowerCase();
  return !name.includes(".") || SHOWN_DOTTED.has(name) ? setting.value : SECRET_MASK;
}

export interface RoleSetting {
  role: string;
  /** The database it applies in (ALTER ROLE ... IN DATABASE), or null for every database. */
  database: string | null;
  name: string;
  value: string;
}

export async function readRoleSettings(client: ClientBase): Promise<RoleSetting[]> {
  const { rows } = await client.query<{ role: string; database: string | null; setting: string }>(`
    WITH here AS (SELECT oid, datdba FROM pg_database WHERE datname = current_database()),
         logins AS (
           SELECT DISTINCT acl.grantee AS oid
             FROM pg_default_acl d CROSS JOIN here, aclexplode(d.defaclacl) AS acl
            WHERE d.defaclrole = here.datdba AND acl.grantee NOT IN (0, here.datdba))
    SELECT r.rolname AS role, db.datname AS database, setting
      FROM pg_db_role_setting s
      JOIN logins l ON l.oid = s.setrole
      JOIN pg_roles r ON r.oid = s.setrole
      LEFT JOIN pg_database db ON db.oid = s.setdatabase
      CROSS JOIN here, unnest(s.setconfig) AS setting
     WHERE s.setdatabase IN (0, here.oid)
     ORDER BY r.rolname, s.setdatabase, setting`);
  return rows.map((row) => {
    const at = row.setting.indexOf("=");
    return {
      role: row.role,
      database: row.database,
      name: at < 0 ? row.setting : row.setting.slice(0, at),
      value: at < 0 ? "" : row.setting.slice(at + 1),
    };
  });
}

/** The statement that removes `setting`, as the admin or as the role itself. */
export function roleSettingReset(setting: RoleSetting): string {
  const where = setting.database === null ? "" : ` IN DATABASE ${quoteIdentifier(setting.database)}`;
  return `ALTER ROLE ${quoteIdentifier(setting.role)}${where} RESET ${setting.name}`;
}

export function roleSettingFindings(settings: readonly RoleSetting[]): HealthFinding[] {
  return settings
    .filter((s) => RELEASE_ROLE_SETTINGS[s.name] !== s.value)
    .map((s) => {
      const scope = s.database === null ? "every database" : `database ${s.database}`;
      const released = RELEASE_ROLE_SETTINGS[s.name];
      const origin =
        released === undefined
          ? "not set by the release"
          : `the release sets ${s.name} = ${released} on this login`;
      return {
        severity: "action",
        subject: `role ${s.role}`,
        problem:
          `${s.name} = ${shownRoleSettingValue(s)} is stored on the login for ${scope} (${origin}): ` +
          `every new session of ${s.role} starts with it. A login may set its own, so one with a leaked password can plant it, and it outlives a password rotation`,
        action:
          `${roleSettingReset(s)} (as the admin or as ${s.role}; sessions already open keep it until they reconnect). ` +
          `If nobody here set it, treat the login as compromised (docs/runbook.md, "A login's password is compromised")`,
      };
    });
}
