// Who may run the upgrade, decided from the catalog before anything is written. The release's tables are
// created (expand) and its ledger recorded (cutover) as the role the upgrade acts as, so that role must be the
// one every later release acts as: where the access layer's shape is in place (the database belongs to the
// stack's owner role, which cannot log in), the owner role, through the migrator or --owner-role. Acting as
// another role (the admin without --owner-role) would leave every table the admin's, with none of the
// owner's default grants: the app and read-only logins refused, every later release refused the ledger.
// A login that is not on the owner's side at all (the app's, the read-only one) is the wrong login: it is
// never offered the legacy tables, which would give it DDL over the tenants' data.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "../../command-to-run";
import { upgradeAgain } from "./again";
import { BOOKKEEPING_SCHEMA } from "../../bookkeeping";
import { quoteIdentifier } from "../../identifiers";
import { ownerRoleFlag } from "../../owner-role-flag";
import { ownerToName, readLoginFacts } from "../adopting-login";
import { UPGRADING_SECTION } from "../runbook-sections";
import type { UpgradeProblem } from "./preconditions";

/** The one command that works: the migrator's URL, with the owner role. */
export function migratorCommandFix(command: string, ownerRole: string): string {
  return (
    `Run it as the stack's migrator, with the owner role: ${command} --database-url "$DIRECT_URL" ${ownerRoleFlag(ownerRole)} ` +
    `(DIRECT_URL: the migrator's URL of this database; ${UPGRADING_SECTION}).`
  );
}

/**
 * Why this login may not run the upgrade, or undefined when it may. `command` is the upgrade's command line
 * without the URL and owner role (`neonhub-db apply --upgrade-legacy --legacy-organization acme`); `ownerRole`
 * the --owner-role given, which plan and apply have set by now (it is current_user), and whose absence the
 * refusal names. `print`: how the hand-over's fix prints the upgrade to run after it (upgradeProblems).
 */
export async function upgradingLoginProblem(
  client: ClientBase,
  command: string,
  ownerRole: string | undefined,
  print?: CommandPrinter,
): Promise<UpgradeProblem | undefined> {
  const facts = await readLoginFacts(client);
  const acting = ownerRole ?? facts.acting;
  const owner = ownerToName(facts, ownerRole);
  const fix = migratorCommandFix(command, owner);
  const { mayCreateSchemas, database, actingCanLogin } = await client
    .query<{ mayCreateSchemas: boolean; database: string; actingCanLogin: boolean | null }>(
      `SELECT has_database_privilege($1, current_database(), 'CREATE') AS "mayCreateSchemas",
              current_database() AS database,
              (SELECT r.rolcanlogin FROM pg_roles r WHERE r.rolname = $1) AS "actingCanLogin"`,
      [acting],
    )
    .then((r) => r.rows[0]!);
  const stackShape = !facts.ownerCanLogin;
  // The stack's owner role (it cannot log in) on a database a login still owns: the database has not been
  // handed over yet (docs/stacks.md, a server that already has the app's database), which is what to say,
  // not that the migrator is the wrong login.
  if (!mayCreateSchemas && !stackShape && actingCanLogin === false) {
    const handOver = `ALTER DATABASE ${quoteIdentifier(database)} OWNER TO ${quoteIdentifier(acting)};`;
    return {
      code: "permission",
      message:
        `This database belongs to "${facts.databaseOwner}", a login (the old app's, say), not to "${acting}", the role the ` +
        `upgrade acts as, which may not create the upgrade's staging schemas in it (no CREATE on the database).`,
      fix:
        `Hand the database to the owner role first, as the admin (a superuser, or a member of both roles): ${handOver} ` +
        `(the next pulumi up of the stack does the same; docs/stacks.md, "A server that already has the app's database"). ` +
        `Then ${upgradeAgain(print)}.`,
    };
  }
  if ((stackShape && !facts.memberOfOwner) || !mayCreateSchemas) {
    const why = stackShape
      ? `it is not a member of "${facts.databaseOwner}", the stack's owner role that owns this database and that the release's tables must belong to`
      : `it may not create schemas in this database (no CREATE on it), and the upgrade creates its staging schemas`;
    return {
      code: "permission",
      message: `"${facts.login}" is not the login to run the upgrade as (the app's or the read-only login, say): ${why}.`,
      fix: `${fix} Do not hand the legacy tables to "${facts.login}": an application login would own them, and could alter or drop them.`,
    };
  }
  if (stackShape && acting !== facts.databaseOwner) {
    return {
      code: "permission",
      message:
        `This database belongs to role "${facts.databaseOwner}", which cannot log in: the stack's owner role, which the migrator acts as. ` +
        `The upgrade as "${acting}"${ownerRole ? "" : " (without --owner-role)"} would leave the release's tables and its ledger (schema ${BOOKKEEPING_SCHEMA}) owned by "${acting}": ` +
        `the app and read-only logins would get none of the owner's grants on them, and every later release, acting as "${facts.databaseOwner}", would be refused them.`,
      fix,
    };
  }
  return undefined;
}
