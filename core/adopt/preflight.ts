// The pre-flight: before the first pending migration runs, recognise a database that is not empty and not
// ours, so that apply never half-applies a release over someone else's schema (migration 1 is idempotent
// and would be recorded; migration 2 would then fail on an existing type or table, leaving a ledger that
// `baseline` refuses). Read-only: plan runs it too, as any role that may read the catalog.
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { upgradeInProgress, upgradeInProgressText, type UpgradeInProgress } from "./upgrade/in-progress";
import type { ClientBase } from "pg";
import type { MigrationFile } from "../migrations/files";
import type { LedgerEntry, LedgerProblem } from "../migrations/ledger";
import { createdObjects, type CreatedObject } from "./created-objects";
import { targetSchemasEmpty } from "./empty-targets";
import { inspectLegacyDatabase, type LegacyInspection } from "./legacy-inspection";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { isLockTimeout } from "../lock-safety/settings";
import { shownName, shownQualifiedName } from "../shown-names";
import { ADOPTING_SECTION, UPGRADING_SECTION } from "./runbook-sections";

/** Another tool's migration ledger, and what to do with a database it manages. */
export interface ForeignLedger {
  tool: "prisma" | "node-pg-migrate";
  schema: string;
  table: string;
  rows: number | null;
  lastMigration: string | null;
}

export const FOREIGN_LEDGER_TABLES = {
  prisma: "_prisma_migrations",
  "node-pg-migrate": "pgmigrations",
} as const;

const SHOWN = 10;

/** Problems that stop plan and apply before anything is written; empty when the release may run. */
export async function preflightProblems(
  client: ClientBase,
  state: { ledger: readonly LedgerEntry[]; pending: readonly MigrationFile[]; print?: CommandPrinter },
): Promise<LedgerProblem[]> {
  const { ledger, pending, print } = state;
  const first = pending[0];
  if (!first) return [];
  const foreignLedgers = await findForeignLedgers(client);
  const created = createdObjects(pending);
  // Where the migrations go is empty (a new database): nothing can collide, no Prisma-era schema is there.
  const empty = await targetSchemasEmpty(client, created);
  if (!empty && ledger.length === 0) {
    // The Prisma-era schema has one way forward, the upgrade in place: its Prisma ledger and its tables that
    // collide are part of what it is, and the paths they would suggest on their own (baseline) do not apply.
    const legacy = await inspectLegacyDatabase(client);
    if (legacy) return legacyProblems(legacy, foreignLedgers, first, await upgradeInProgress(client), print);
  }
  const problems: LedgerProblem[] = [];
  if (ledger.length === 0) {
    for (const foreign of foreignLedgers) problems.push(foreignLedgerProblem(foreign, first, print));
  }
  if (empty) return problems;
  const existing = await existingObjects(client, created);
  if (existing.length > 0) {
    problems.push(
      ledger.length > 0 && foreignLedgers.length > 0
        ? trappedProblem(existing, ledger, foreignLedgers[0]!, print)
        : collisionProblem(existing, ledger.length, ledger.length === 0 ? foreignLedgers : [], print),
    );
  }
  return problems;
}

/**
 * Whether the pre-flight found the Prisma-era schema (its `legacy-schema` problem), on which apply stops before
 * its first write: then nothing of the release is plain apply's to do, neither its migrations nor its steps'
 * items (row-level security, seed sets, vector indexes), which the upgrade in place runs after its cutover. plan
 * decides from this what it lists (core/release.ts, assemblePlan), from the problems apply refuses on.
 */
export function releaseIsTheUpgrades(problems: readonly LedgerProblem[]): boolean {
  return problems.some((p) => p.kind === "legacy-schema");
}

/** The Prisma-era schema, its tables' sizes, and every row that breaks the release's rules. */
function legacyProblems(
  legacy: LegacyInspection,
  foreignLedgers: readonly ForeignLedger[],
  first: MigrationFile,
  started: UpgradeInProgress | undefined,
  print: CommandPrinter | undefined,
): LedgerProblem[] {
  const sizes = legacy.tables.map((t) => `${t.table} ~${t.estimatedRows}`).join(", ");
  const managed = foreignLedgers.map((f) => `, ${managedBy(f)}`).join("");
  return [
    {
      kind: "legacy-schema",
      migration: first.name,
      message: `This is the Prisma-era NeonHub schema (free-text Message.role, no conversations; estimated rows: ${sizes})${managed}, which the migrations do not upgrade in place.${legacy.unreadable.length > 0 ? ` Not checked for bad rows (${legacy.unreadable.join("; ")}): run plan as a login that may read those tables (their owner, or the admin) to see them.` : ""}`,
      fix: started
        ? `${upgradeInProgressText(started, print)} Nothing was written.`
        : `Upgrade it in place with ${commandToRun(print, ["apply", "--upgrade-legacy", "--legacy-organization", "<slug>"])}: snapshot it, fix the rows listed here and rehearse on a copy first; see its steps with ${upgradePlan(print)} (${UPGRADING_SECTION}). Nothing was written.`,
    },
    ...legacy.defects.map(
      (d): LedgerProblem => ({
        kind: "legacy-rows",
        migration: first.name,
        message: `${d.column}: ${d.message} (e.g. ids ${d.sampleIds.join(", ")}).`,
        fix: d.fix,
        details: {
          column: d.column,
          count: d.count,
          sampleIds: d.sampleIds,
          ...(d.values ? { values: d.values } : {}),
        },
      }),
    ),
  ];
}

/**
 * The upgrade's plan as a fix names it: the CLI's, with the organization to choose (without it the CLI refuses
 * the plan); a stack's preview; without a printer, the words the fixes had before.
 */
function upgradePlan(print: CommandPrinter | undefined): string {
  return commandToRun(
    print,
    ["plan", "--upgrade-legacy", "--legacy-organization", "<slug>"],
    "`plan --upgrade-legacy`",
  );
}

/**
 * The two paths of a schema the pre-flight did not recognise (a Prisma ledger, objects in the way), each ending
 * with its command and its runbook section: baseline's, when `same` (the schema is the migrations' own), or the
 * upgrade's plan, which says whether it is the Prisma-era schema and, if it is, its steps.
 */
function adoptOrUpgrade(same: string, print: CommandPrinter | undefined): string {
  return `${same}, adopt it: ${commandToRun(print, ["baseline"])} (${ADOPTING_SECTION}); if it is the older NeonHub app schema, upgrade it in place: ${upgradePlan(print)} (${UPGRADING_SECTION}).`;
}

/** `_prisma_migrations` and `pgmigrations` tables in any application schema. Read-only. */
export async function findForeignLedgers(client: ClientBase): Promise<ForeignLedger[]> {
  const tables = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'neonhub_release')
      ORDER BY c.relname, n.nspname`,
    [Object.values(FOREIGN_LEDGER_TABLES)],
  );
  const found: ForeignLedger[] = [];
  for (const { schema, table } of tables.rows) {
    const tool = table === FOREIGN_LEDGER_TABLES.prisma ? "prisma" : "node-pg-migrate";
    const nameColumn = tool === "prisma" ? "migration_name" : "name";
    const newestFirst = tool === "prisma" ? "started_at DESC, migration_name DESC" : "run_on DESC, id DESC";
    let rows: number | null = null;
    let lastMigration: string | null = null;
    try {
      const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
      const count = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified}`);
      rows = count.rows[0]?.n ?? 0;
      const last = await client.query<{ name: string }>(
        `SELECT ${nameColumn}::text AS name FROM ${qualified} ORDER BY ${newestFirst} LIMIT 1`,
      );
      lastMigration = last.rows[0]?.name ?? null;
    } catch (error) {
      // A role without SELECT on it, or a table of that name with other columns: its presence says enough.
      // A lock another session holds on it is not that: the bounded wait names that session.
      if (isLockTimeout(error)) throw error;
    }
    found.push({ tool, schema, table, rows, lastMigration });
  }
  return found;
}

/** "managed by Prisma Migrate (table public._prisma_migrations, which records 3 migration(s) (last: ...))". */
function managedBy(foreign: ForeignLedger): string {
  const recorded =
    foreign.rows === null
      ? ""
      : `, which records ${foreign.rows} migration(s)${foreign.lastMigration ? ` (last: ${foreign.lastMigration})` : ""}`;
  const tool =
    foreign.tool === "prisma" ? "managed by Prisma Migrate" : "migrated by the node-pg-migrate CLI";
  return `${tool} (table ${shownQualifiedName(foreign.schema, foreign.table)}${recorded})`;
}

function foreignLedgerProblem(
  foreign: ForeignLedger,
  first: MigrationFile,
  print: CommandPrinter | undefined,
): LedgerProblem {
  const where = shownQualifiedName(foreign.schema, foreign.table);
  if (foreign.tool === "prisma") {
    return {
      kind: "foreign-database",
      migration: first.name,
      message: `This database is ${managedBy(foreign)} and neonhub-db has applied nothing to it yet.`,
      fix: `Do not apply over it. ${adoptOrUpgrade("If Prisma built the schema these migrations build", print)} Nothing was written.`,
    };
  }
  return {
    kind: "foreign-database",
    migration: first.name,
    message: `This database was ${managedBy(foreign)}, not by neonhub-db, whose ledger is empty.`,
    fix: `Adopt it with ${commandToRun(print, ["adopt"])}: it proves the schema is what those migrations build, records them in the neonhub-db ledger with their checksums and moves ${where} out of the way (see ${ADOPTING_SECTION}). Then ${commandToRun(print, ["apply"])} runs the rest. Nothing was written.`,
  };
}

/**
 * Objects the pending migrations would create that exist already. `foreignLedgers`: the other tools' ledgers
 * reported as foreign-database problems beside it, whose path (adopt for pgmigrations) is this one's too.
 */
function collisionProblem(
  existing: readonly CreatedObject[],
  applied: number,
  foreignLedgers: readonly ForeignLedger[] = [],
  print?: CommandPrinter,
): LedgerProblem {
  const shown = existing.slice(0, SHOWN).map((o) => `${o.kind} ${describeName(o)} (${o.migration})`);
  if (existing.length > SHOWN) shown.push(`... and ${existing.length - SHOWN} more`);
  const builtBy =
    foreignLedgers.find((f) => f.tool === "node-pg-migrate") ??
    foreignLedgers.find((f) => f.tool === "prisma");
  const fix =
    applied > 0
      ? `These objects were created outside the release after its last apply: drop or rename them (or fold them into a new migration that expects them), then run ${commandToRun(print, ["apply"], "apply")} again. Nothing was written.`
      : builtBy
        ? `They are the schema of the tool whose ledger ${builtBy.schema}.${builtBy.table} is (the foreign-database problem): take that problem's path, ${builtBy.tool === "prisma" ? commandToRun(print, ["baseline"]) : `${commandToRun(print, ["adopt"])}, not baseline`} (${ADOPTING_SECTION}). Nothing was written.`
        : `This schema was built outside neonhub-db. ${adoptOrUpgrade("If it is exactly what these migrations build", print)} Nothing was written.`;
  return {
    kind: "existing-objects",
    migration: existing[0]!.migration,
    message: `${existing.length} object(s) that the pending migrations create already exist: ${shown.join(", ")}.`,
    fix,
  };
}

/**
 * A database an earlier version of the engine half-applied: it ran the idempotent first migration(s) over
 * another tool's schema, recorded them, and stopped at the first collision. The way back to a state that
 * `baseline` or `adopt` accepts is to remove what the engine wrote, which was only its ledger.
 */
function trappedProblem(
  existing: readonly CreatedObject[],
  ledger: readonly LedgerEntry[],
  foreign: ForeignLedger,
  print: CommandPrinter | undefined,
): LedgerProblem {
  const collision = collisionProblem(existing, ledger.length);
  const next = commandToRun(print, [foreign.tool === "prisma" ? "baseline" : "adopt"]);
  return {
    ...collision,
    message: `${collision.message} This database also has ${shownQualifiedName(foreign.schema, foreign.table)}: an earlier apply recorded ${ledger.length} migration(s) (up to ${ledger.at(-1)!.name}) over a schema another tool built, and stopped.`,
    fix: `If those recorded migrations only created what already existed (the extensions), remove the engine's ledger with DROP SCHEMA neonhub_release CASCADE (it holds nothing else before a first complete apply), then follow ${ADOPTING_SECTION} (${next}). Nothing was written.`,
  };
}

function describeName(object: CreatedObject): string {
  return object.schema ? shownQualifiedName(object.schema, object.name) : shownName(object.name);
}

/** Which of the objects exist already, in the schema they would be created in. One catalog query. */
export async function existingObjects(
  client: ClientBase,
  objects: readonly CreatedObject[],
): Promise<CreatedObject[]> {
  if (objects.length === 0) return [];
  const result = await client.query<{ i: string }>(
    `SELECT o.i::text AS i
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS o(v, i)
       CROSS JOIN LATERAL (SELECT coalesce(o.v->>'schema', current_schema()) AS nsp, o.v->>'name' AS name) AS t
      WHERE CASE o.v->>'kind'
        WHEN 'schema' THEN EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = t.name)
        WHEN 'function' THEN EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                      WHERE n.nspname = t.nsp AND p.proname = t.name)
        WHEN 'type' THEN EXISTS (SELECT 1 FROM pg_type y JOIN pg_namespace n ON n.oid = y.typnamespace
                                  WHERE n.nspname = t.nsp AND y.typname = t.name)
        -- Tables, indexes, views and sequences share one namespace (a table also takes a type's name).
        ELSE EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = t.nsp AND c.relname = t.name)
          OR (o.v->>'kind' <> 'index' AND EXISTS (SELECT 1 FROM pg_type y JOIN pg_namespace n ON n.oid = y.typnamespace
                                                   WHERE n.nspname = t.nsp AND y.typname = t.name))
      END
      ORDER BY o.i`,
    [JSON.stringify(objects)],
  );
  return result.rows.map((row) => objects[Number(row.i) - 1]!);
}
