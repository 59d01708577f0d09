// The extensions the release's schema needs, and what to do when a role may not create one. pgvector is not
// a trusted extension: only a superuser (rds_superuser on Amazon RDS) may create it, which the migrator and
// the owner role it acts as are not. In the stacks the access layer creates both as the administrator
// before any migration runs; where it has not, the fix is an administrator's CREATE EXTENSION, never
// another run as the migrator.
import type { ClientBase } from "pg";
import { applyAgain, commandToRun, runAgain, type CommandPrinter } from "./command-to-run";
import { quoteIdentifier } from "./identifiers";

/** pgvector not on the server at all: what installs it, wherever the release runs. */
export const PGVECTOR_MISSING =
  "The pgvector extension is not installed on this server (no 'vector' in pg_available_extensions). Install it: `npm run local` does for the local cluster; on Debian/Ubuntu `apt-get install postgresql-<major>-pgvector`; on RDS use PostgreSQL 15.2+ (or 16); the pgvector/pgvector Docker image has it.";

/** Created by the first migration (and by the legacy upgrade's expand), in this order. */
export const RELEASE_EXTENSIONS = ["vector", "uuid-ossp"] as const;

/**
 * The command whose fix names the extension: an apply (or the legacy upgrade's) that refused or failed on it,
 * or a plan that found it. `asRun`: plan's command as the operator ran it (ReleaseOptions.commandAsRun).
 */
export type ExtensionFixFor = { command: "apply" } | { command: "plan"; asRun?: string };

/**
 * The fix for an extension the release needs that the role running it may not create, then what to run once
 * it is there: the run that creates the extensions is an apply's migrations (or the legacy upgrade's expand,
 * whose printer prints its apply: upgradePrinter). `print`: the caller's (ReleaseOptions.printCommand), as
 * applyAgain prints it; a stack's (CommandPrinter.runsAccessLayer) is its `pulumi up --stack <stack>`, which
 * creates the extensions first. Any other caller is told the stack's way besides. `running`: apply's fix says
 * to run the apply again; plan's (which ran no apply) to run the plan again to see the problem gone, then the
 * apply. A stack's plan is the check of its `pulumi up` as well as of its preview: its fix names the up.
 */
export function createExtensionFix(
  extension: string,
  print?: CommandPrinter,
  running: ExtensionFixFor = { command: "apply" },
): string {
  const create = `Have an administrator (a superuser, or rds_superuser on Amazon RDS) run CREATE EXTENSION ${quoteIdentifier(extension)}; in this database`;
  const accessLayer = print?.runsAccessLayer
    ? "the stack's access layer does so when it creates the database"
    : "the stack's access layer does so: `pulumi up`, or `npm run local` locally";
  const then =
    running.command === "plan" && !print?.runsAccessLayer
      ? `${runAgain(print, ["plan"], "run plan again", running.asRun)} to see this problem gone, then ${commandToRun(print, ["apply"], "apply")}`
      : applyAgain(print);
  return `${create} (${accessLayer}), then ${then}.`;
}

/**
 * The extension a server error says the role may not create: PostgreSQL's own "permission denied to create
 * extension" and the first migration's message for pgvector (its hint names CREATE EXTENSION vector).
 */
export function extensionRefusedBy(error: {
  code?: string;
  message?: string;
  hint?: string;
}): string | undefined {
  if (error.code !== "42501") return undefined;
  const named = /permission denied to create extension "([^"]+)"/.exec(error.message ?? "")?.[1];
  if (named) return named;
  return /CREATE EXTENSION vector/.test(error.hint ?? "") ? "vector" : undefined;
}

/**
 * The extensions these migrations' SQL creates (`CREATE EXTENSION [IF NOT EXISTS] name`, in a DO block too),
 * lower-cased as PostgreSQL folds an unquoted name: what a run of them needs the role to be allowed to create.
 */
export function extensionsCreatedBy(sqls: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const sql of sqls) {
    for (const m of sql.matchAll(
      /CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"([^"]+)"|([A-Za-z_][\w$]*))/gi,
    )) {
      names.add(m[1] ?? m[2]!.toLowerCase());
    }
  }
  return names;
}

export interface ExtensionProblem {
  extension: string;
  message: string;
  fix: string;
}

/**
 * Of the release's extensions, those this database lacks and the role may not create: not on the server at
 * all, or not trusted and the role no superuser (nor, on Amazon RDS, a member of rds_superuser, whose members
 * may create the extensions RDS allows), or trusted and the role without CREATE on the database. `role`: the
 * one the migrations will run as (a plan's --owner-role, which it does not set), else the current role.
 * `print`, `running`: how the fixes print the command to run once the extension is there (createExtensionFix). Read
 * from the catalog: nothing is tried.
 */
export async function uncreatableExtensions(
  client: ClientBase,
  role?: string,
  print?: CommandPrinter,
  running?: ExtensionFixFor,
): Promise<ExtensionProblem[]> {
  const { rows } = await client.query<{
    extension: string;
    role: string;
    available: boolean;
    mayCreate: boolean;
  }>(
    `SELECT x.name AS extension, o.role,
            EXISTS (SELECT 1 FROM pg_available_extensions a WHERE a.name = x.name) AS available,
            (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = o.role)
              OR (to_regrole('rds_superuser') IS NOT NULL AND pg_has_role(o.role, 'rds_superuser', 'USAGE'))
              OR (coalesce((SELECT bool_or(v.trusted) FROM pg_available_extension_versions v WHERE v.name = x.name), false)
                  AND has_database_privilege(o.role, current_database(), 'CREATE')) AS "mayCreate"
       FROM unnest($1::text[]) AS x(name), (SELECT coalesce($2::text, current_user::text) AS role) AS o
      WHERE NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = x.name)`,
    [RELEASE_EXTENSIONS, role ?? null],
  );
  return rows
    .filter((r) => !r.available || !r.mayCreate)
    .map((r) =>
      r.available
        ? {
            extension: r.extension,
            message: `The "${r.extension}" extension is not enabled in this database, and role "${r.role}" may not create it.`,
            fix: createExtensionFix(r.extension, print, running),
          }
        : {
            extension: r.extension,
            message:
              r.extension === "vector"
                ? PGVECTOR_MISSING
                : `The "${r.extension}" extension is not installed on this PostgreSQL server.`,
            fix: `${r.extension === "vector" ? "Install pgvector as above" : "Install it on the server"}, then: ${createExtensionFix(r.extension, print, running)}`,
          },
    );
}
