// What the upgrade would do on this database, read-only: each step with the planner's row estimates
// (pg_class.reltuples), where an interrupted run stands, and the legacy rows that would stop it.
import { commandToRun } from "../../command-to-run";
import type { ClientBase } from "pg";
import { redactUrl } from "../../dsn";
import { ReleaseError } from "../../errors";
import { readMigrationFiles } from "../../migrations/files";
import { actAsOwnerRole } from "../../owner-role";
import { readCommandWaits, withCommandConnection, type ReleaseOptions } from "../../release";
import { inspectLegacyDatabase, type LegacyDefect } from "../legacy-inspection";
import { tableMappings } from "./mapping";
import { upgradeProblems, type UpgradeProblem } from "./preconditions";
import { findUncarried, uncarriedProblems } from "./uncarried";
import { upgradeContractedHere } from "./finished";
import { LEGACY_KEPT_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA, legacyOrganization } from "./names";
import {
  legacyUpgradeNeededAt,
  upgradeBatchSize,
  upgradeCommand,
  upgradePrinter,
  type LegacyUpgradeOptions,
} from "./run";

export interface UpgradePlanStep {
  step: string;
  detail: string;
  /** Rows the step writes into its release table, as the planner estimates them (its legacy table's rows; for the conversations, the messages' distinct authors). */
  estimatedRows?: number;
  /** True when an interrupted run already did it. */
  done: boolean;
}

export interface LegacyUpgradePlan {
  database: string;
  organization: { slug: string; id: string };
  steps: UpgradePlanStep[];
  defects: LegacyDefect[];
  /**
   * What stops the upgrade besides the rows: what the role planning (the one to run it) cannot do (the legacy
   * tables' owner, an extension), and what it would lose (legacy columns it does not carry, objects that
   * depend on the legacy tables; `details` names each).
   */
  problems: Pick<UpgradeProblem, "message" | "fix" | "details">[];
  /** Whether a run can start (no defects, no problems) or continue. */
  ready: boolean;
  /**
   * True when an earlier run moved the data and dropped the legacy tables (it stopped in the release's own
   * steps, or finished): every step is done, and what is left is plain apply's (`neonhub-db plan` lists it).
   */
  finished: boolean;
}

export async function planLegacyUpgrade(
  options: ReleaseOptions,
  upgrade: LegacyUpgradeOptions,
): Promise<LegacyUpgradePlan> {
  const org = legacyOrganization(upgrade.organization, upgrade.organizationSource ?? "--legacy-organization");
  const batchSize = upgradeBatchSize(upgrade.batchSize, "--batch-size");
  const files = readMigrationFiles(options);
  // A read command: each statement waits for a table lock (a legacy table a migration or an app holds) at
  // most --lock-timeout, as plan's do.
  return withCommandConnection(options, "plan", readCommandWaits(options, "plan"), async (client) => {
    // apply --upgrade-legacy acts as the owner role first (SET ROLE), and so does its plan: a role it could not
    // act as is refused as apply refuses it, before the plan reads anything, and every read is then apply's.
    // The login alone may read otherwise: a superuser may do what the owner role may not (own the legacy tables
    // of the old app's login, create an extension), and a member of the role without INHERIT may not read the
    // legacy tables at all. The connection is the plan's own: nothing reads as the login after it.
    if (options.ownerRole) await actAsOwnerRole(client, options.ownerRole);
    const progress = new Map<string, { done: boolean; rows: number }>();
    const work = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [WORK_SCHEMA]);
    if (work.rows.length > 0) {
      const r = await client.query<{ step: string; done: boolean; rows: string }>(
        `SELECT step, done, rows FROM ${WORK_SCHEMA}.progress`,
      );
      for (const row of r.rows) progress.set(row.step, { done: row.done, rows: Number(row.rows) });
    }
    const finished = work.rows.length === 0 && (await upgradeContractedHere(client, org));
    const cutoverDone = finished || (progress.get("cutover")?.done ?? false);
    const inspection = cutoverDone ? undefined : await inspectLegacyDatabase(client);
    if (!cutoverDone && !inspection) {
      throw new ReleaseError(
        "invalid-input",
        'This database does not have the Prisma-era NeonHub schema (a "Message" table with a text "role" and no "conversationId"): there is nothing to upgrade.',
        `Run ${commandToRun(options.printCommand, ["plan"])} without --upgrade-legacy to see what apply would do.`,
      );
    }
    const mappings = tableMappings(org);
    const estimates = new Map((inspection?.tables ?? []).map((t) => [t.table, t.estimatedRows]));
    const authors = inspection ? await estimatedAuthors(client) : undefined;
    const steps: UpgradePlanStep[] = [
      {
        step: "expand",
        detail: `build the release (${files.length} migrations) in schema ${STAGING_SCHEMA}, next to the legacy tables`,
        done: finished || files.every((f) => progress.get(`expand:${f.name}`)?.done),
      },
      {
        step: "mirror",
        detail:
          "triggers on the legacy tables copy the old app's inserts, updates and deletes into the staging tables",
        done: finished || progress.has(`backfill:User`),
      },
      {
        step: "organization",
        detail: `organization ${org.slug} (id ${org.id}) and its documents' dataset`,
        done: finished || (progress.get("backfill:organization")?.done ?? false),
      },
      ...mappings.flatMap((m): UpgradePlanStep[] => {
        const rows = estimates.get(m.table) ?? 0;
        const conversations: UpgradePlanStep[] =
          m.table === "Message"
            ? [
                {
                  step: "backfill conversations",
                  detail: `one conversation per author, written for ${batchSize} users at a time before the messages`,
                  estimatedRows: authors ?? estimates.get("User") ?? 0,
                  done: finished || (progress.get("backfill:conversations")?.done ?? false),
                },
              ]
            : [];
        return [
          ...conversations,
          {
            step: `backfill ${m.table}`,
            detail: `copy in batches of ${batchSize} by id (~${Math.max(1, Math.ceil(rows / batchSize))} batch(es))${
              m.table === "User" ? ", each user a member of the organization" : ""
            }${m.table === "Message" ? ", one conversation per author" : ""}`,
            estimatedRows: rows,
            done: finished || (progress.get(`backfill:${m.table}`)?.done ?? false),
          },
        ];
      }),
      {
        step: "proof",
        detail:
          "in one snapshot, per legacy table the row count and an md5 over every legacy column, through the mapping and on the staged rows; every foreign key validated and checked",
        done: cutoverDone,
      },
      {
        step: "cutover",
        detail: `one transaction: drop the mirrors, move the legacy tables to ${LEGACY_KEPT_SCHEMA} and the release's objects from ${STAGING_SCHEMA} into public, record the ${files.length} migrations`,
        done: cutoverDone,
      },
      {
        step: "contract",
        detail: `drop ${LEGACY_KEPT_SCHEMA} and ${WORK_SCHEMA}, then the release's steps and snapshot (as apply), then row-level security read on every table with a policy`,
        done: finished,
      },
    ];
    const defects = inspection?.defects ?? [];
    // A problem's fix prints the upgrade to run once it is fixed as apply's refusal of it does.
    const print = upgradePrinter(options.printCommand, org.slug);
    const phase = work.rows.length > 0 ? "resume" : "start";
    const problems = (
      finished
        ? []
        : cutoverDone
          ? uncarriedProblems(await findUncarried(client, mappings, "contract"), "contract", print)
          : [
              // apply's own check, on the same inspection: what it refuses, the plan lists.
              ...(await upgradeProblems(
                client,
                phase,
                { command: upgradeCommand("apply", org.slug), ownerRole: options.ownerRole },
                inspection?.unreadable ?? [],
                print,
              )),
              ...uncarriedProblems(await findUncarried(client, mappings, phase), phase, print),
            ]
    ).map(({ message, fix, details }) => ({ message, fix, ...(details ? { details } : {}) }));
    return {
      database: redactUrl(options.databaseUrl),
      organization: { slug: org.slug, id: org.id },
      steps,
      defects,
      problems,
      ready: defects.length === 0 && problems.length === 0,
      finished,
    };
  });
}

/**
 * The conversations the upgrade will write, one per author, as the planner estimates the distinct authors of
 * the legacy messages (pg_stats after ANALYZE; a negative n_distinct is a fraction of the rows). Undefined when
 * there are no statistics (or the role may not see them): the users are the most there can be.
 */
async function estimatedAuthors(client: ClientBase): Promise<number | undefined> {
  const r = await client.query<{ authors: number | null }>(
    `SELECT round(CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
                       ELSE -s.n_distinct * greatest(c.reltuples, 0) END)::int AS authors
       FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass('"Message"')
      WHERE s.schemaname = current_schema() AND s.tablename = 'Message' AND s.attname = 'authorId'`,
  );
  return r.rows[0]?.authors ?? undefined;
}

/** The upgrade's plan when the database needs it (an upgrade in progress, or the legacy schema); else undefined. */
export async function planLegacyUpgradeIfNeeded(
  options: ReleaseOptions,
  upgrade: LegacyUpgradeOptions,
): Promise<LegacyUpgradePlan | undefined> {
  const needed = await legacyUpgradeNeededAt(options, "plan");
  return needed ? planLegacyUpgrade(options, upgrade) : undefined;
}
