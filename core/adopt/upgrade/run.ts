// The in-place upgrade of a Prisma-era NeonHub database, end to end: pre-flight (defects stop it before
// anything is written), expand, mirror, backfill, proof, cutover, then the release's own steps (row-level
// security, seed sets, vector indexes, snapshot) through apply. Every phase records its progress in the
// work schema, so running the same command again after an interruption resumes where it stopped.
import { commandToRun, type CommandPrinter } from "../../command-to-run";
import { upgradeAgain } from "./again";
import type { Client, ClientBase } from "pg";
import { ensureBookkeeping } from "../../bookkeeping";
import { redactUrl, targetOf } from "../../dsn";
import { ReleaseError, isReleaseError } from "../../errors";
import { openMonitorInBackground } from "../../lock-safety/monitor-connection";
import { resolveLockSafety } from "../../lock-safety/settings";
import { lockWaitWordsFor } from "../../lock-safety/wait-names";
import { withLockedConnection } from "../../locked-connection";
import { silentLogger } from "../../logger";
import { readMigrationFiles } from "../../migrations/files";
import { readLedger } from "../../migrations/ledger";
import { actAsOwnerRole, setOwnerRole } from "../../owner-role";
import {
  applyWith,
  describeRunError,
  readCommandWaits,
  withCommandConnection,
  type ReleaseOptions,
  type ReleaseResult,
} from "../../release";
import { readsBeforeFirstWrite, releaseReadWaits } from "../../reads-before-first-write";
import { inspectLegacyDatabase, type LegacyInspection } from "../legacy-inspection";
import { backfill, installMirrors, type BackfillResult } from "./backfill";
import { cutover } from "./cutover";
import { WORK_DDL, expandRelease, markDone, setStagingTriggers, stepDone } from "./expand";
import { LockClock, type LongestLock } from "./lock-clock";
import { tableMappings } from "./mapping";
import { LEGACY_KEPT_SCHEMA, LEGACY_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA, legacyOrganization } from "./names";
import { refuseUpgradeProblems, upgradeProblems } from "./preconditions";
import { proveUpgrade, rowLevelSecurityState, type UpgradeProof } from "./proof";
import { dropKeptLegacyTables, rejectedError, rejectedRows } from "./cutover";
import { UPGRADE_STOPS, type UpgradeStop } from "./stops";
import { upgradeContractedHere } from "./finished";
import { findUncarried, refuseUncarried } from "./uncarried";

export const DEFAULT_UPGRADE_BATCH_SIZE = 1_000;

/** How far an earlier run of the upgrade went, read before this run writes anything. */
type UpgradeStage = "before-cutover" | "after-cutover" | "contracted";

export interface LegacyUpgradeOptions {
  /** The organization every legacy row is given to (created by the upgrade). */
  organization: string | undefined;
  /** Where the organization came from, for errors ("--legacy-organization", a config key). */
  organizationSource?: string;
  /** Rows per backfill batch (per transaction). */
  batchSize?: number;
  /** Stop after this many backfill batches, leaving the upgrade resumable (a rehearsal of an interruption). */
  maxBatches?: number;
}

export interface LegacyUpgradeResult {
  database: string;
  organization: { slug: string; id: string };
  /** False when the run stopped after `maxBatches`: run it again to continue (`toContinue`). */
  complete: boolean;
  /** Set when the run stopped after `maxBatches`: the command that continues it, and what it does (continueUpgrade). */
  toContinue?: string;
  phase: "backfill" | "done";
  /**
   * True when an earlier run had done the cutover and dropped the legacy tables, and stopped in the release's
   * own steps: this run ran only those (what plain apply runs). No backfill, no proof (it was checked then).
   */
  contractedEarlier: boolean;
  expandedMigrations: number;
  /**
   * `rows`: per release table, what the backfill wrote by all runs so far; `rowsThisRun` and `batches`: by this
   * run alone (a resumed run lists only the tables it copied into).
   */
  backfill: { rows: Record<string, number>; rowsThisRun: Record<string, number>; batches: number };
  /** Legacy rows this run's batches copied, per second of this run (expand to the end). */
  rowsPerSecond: number;
  durationMs: number;
  /** The longest any of the upgrade's transactions held its locks. */
  longestLock: LongestLock;
  proof?: UpgradeProof;
  release?: ReleaseResult;
}

/** The upgrade's command line for a fix, without the URL and the owner role. */
export function upgradeCommand(command: "plan" | "apply", organization: string): string {
  return `neonhub-db ${command} --upgrade-legacy --legacy-organization ${organization}`;
}

export function upgradeBatchSize(value: number | undefined, source: string): number {
  const size = value ?? DEFAULT_UPGRADE_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
    throw new ReleaseError(
      "invalid-input",
      `${source} must be a whole number of rows from 1 to 1000000 (got ${JSON.stringify(value)}).`,
      `Use e.g. ${source} ${DEFAULT_UPGRADE_BATCH_SIZE}.`,
    );
  }
  return size;
}

async function schemaExists(client: ClientBase, name: string): Promise<boolean> {
  const r = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [name]);
  return r.rows.length > 0;
}

/**
 * The legacy database's defects as one error that names each (the plan lists them one by one). `print`: the
 * upgrade's printer (upgradePrinter), for the plan that lists them and the upgrade to run again.
 */
function refuseDefects(inspection: LegacyInspection, stop: UpgradeStop, print?: CommandPrinter): void {
  // What the checks could not read is the role's problem, refused before this (upgradeProblems).
  if (inspection.defects.length === 0) return;
  const lines = inspection.defects.map(
    (d) => `- ${d.column}: ${d.message} (e.g. ids ${d.sampleIds.join(", ")}); fix: ${d.fix}`,
  );
  throw new ReleaseError(
    "invalid-input",
    `The legacy database has rows the release refuses, ${UPGRADE_STOPS[stop].stopped}:\n${lines.join("\n")}`,
    `Fix those rows (${commandToRun(print, ["plan", "--json"])} lists each with its ids), then ${upgradeAgain(print)}. ${UPGRADE_STOPS[stop].state}`,
  );
}

/**
 * The caller's printer (ReleaseOptions.printCommand) for the fixes of the upgrade and of its own steps: the
 * apply such a fix says to run again (upgradeAgain, with any flags it adds) is this upgrade's, which resumes
 * where it stopped, not an apply without it (the CLI's `apply --upgrade-legacy --legacy-organization <slug>`
 * with the operator's options, a stack's `pulumi up`). Without a printer, none: the fixes name what a library
 * caller calls again (upgradeAgain, again.ts). What the caller's printer says of
 * where it runs (the setting words, a stack's access layer) stays the caller's.
 */
export function upgradePrinter(
  print: CommandPrinter | undefined,
  organization: string,
): CommandPrinter | undefined {
  if (!print) return undefined;
  const upgrade = ["apply", "--upgrade-legacy", "--legacy-organization", organization];
  const { setting, runsAccessLayer } = print;
  // An apply with flags of its own (a statement timeout to raise) is this upgrade with them.
  const upgraded = (args: readonly string[]) =>
    args[0] === "apply" && !args.includes("--upgrade-legacy") ? [...upgrade, ...args.slice(1)] : args;
  return Object.assign((args: readonly string[]) => print(upgraded(args)), { setting, runsAccessLayer });
}

/**
 * A server error during a step, in the operator's words: what happened to the step and how to go on. `print`:
 * the upgrade's printer (upgradePrinter).
 */
function describeUpgradeError(
  error: unknown,
  options: ReleaseOptions,
  print: CommandPrinter | undefined,
): unknown {
  const described = describeRunError(error, targetOf(options), "upgrade-legacy", {
    rerun: options.lockWaitNames?.rerun,
    asRun: options.commandAsRun,
    print,
  });
  if (isReleaseError(described)) return described;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error;
  return new ReleaseError(
    code === "42501" ? "permission" : "migration-failed",
    `The upgrade stopped: ${(error as Error).message}`,
    `Each step is a transaction of its own, so nothing of the failed one is applied and the legacy tables stay in use until the cutover. ${
      code === "42501"
        ? "Run it as the login that owns the legacy tables and may create schemas (with --owner-role when the owner role owns them); "
        : "Fix the cause, then "
    }${upgradeAgain(print)}: it resumes where it stopped.`,
    { cause: error },
  );
}

/** The proof's failure; `print` prints the plan a fix names and the upgrade to run again (upgradePrinter). */
function proofError(proof: UpgradeProof, print: CommandPrinter | undefined): ReleaseError {
  const uncarried = proof.tables.flatMap((t) => t.uncarriedColumns.map((c) => `${t.table}.${c}`));
  const bad = [
    ...proof.tables
      .filter((t) => !t.equal)
      .map(
        (t) =>
          `${t.table}: ${t.legacyRows} legacy rows (md5 ${t.legacyChecksum}) vs ${t.releaseRows} staged (md5 ${t.releaseChecksum})`,
      ),
    ...uncarried.map((c) => `${c}: a legacy column the upgrade does not carry, added since it started`),
    ...proof.foreignKeys.notValidated.map((f) => `foreign key ${f} not validated`),
    ...proof.foreignKeys.violated.map((f) => `foreign key ${f} has rows without their referenced row`),
  ];
  const differs = bad.length > uncarried.length;
  return new ReleaseError(
    "migration-failed",
    `The staged release tables do not prove equal to the legacy ones, so the cutover did not happen:\n${bad.map((b) => `- ${b}`).join("\n")}`,
    differs
      ? `The legacy tables are untouched and still in use. Keep ${STAGING_SCHEMA} for a look, then start over: DROP SCHEMA ${STAGING_SCHEMA} CASCADE; DROP SCHEMA ${WORK_SCHEMA} CASCADE; and report the difference (it is a defect of the upgrade).`
      : `The legacy tables are untouched and still in use. Move what ${uncarried.join(", ")} hold(s) into a table of your own and drop the column(s) (${commandToRun(print, ["plan", "--upgrade-legacy"])} names each with the statements), then ${upgradeAgain(print)}: the backfill is kept.`,
  );
}

/**
 * What a run stopped after `maxBatches` says to continue: the upgrade's apply (`print`: upgradePrinter), which
 * resumes where it stopped. --max-batches bounds each run, not the upgrade: the printed apply keeps the one given
 * (the CLI's printer carries it), and the operator chooses between another bounded run and the rest at once.
 */
export function continueUpgrade(print: CommandPrinter | undefined, maxBatches: number | undefined): string {
  const again = `${upgradeAgain(print)} to continue: it resumes where this one stopped`;
  if (maxBatches === undefined) return again;
  const bound = print ? "--max-batches" : "maxBatches";
  return `${again}. With ${bound} ${maxBatches} it stops again after ${maxBatches} more batch(es); without ${bound} it copies the rest and finishes the upgrade (proof, cutover, contract)`;
}

export async function upgradeLegacyDatabase(
  options: ReleaseOptions,
  upgrade: LegacyUpgradeOptions,
): Promise<LegacyUpgradeResult> {
  const log = options.log ?? silentLogger;
  const org = legacyOrganization(upgrade.organization, upgrade.organizationSource ?? "--legacy-organization");
  const batchSize = upgradeBatchSize(upgrade.batchSize, "--batch-size");
  const files = readMigrationFiles(options);
  const started = Date.now();
  const mappings = tableMappings(org);
  // Every fix of the upgrade that says to run it again prints it: this upgrade's apply, as the caller runs it.
  const print = upgradePrinter(options.printCommand, org.slug);
  // So does each lock timeout's (the release lock's, a read's, a step's): the upgrade's apply where the caller's
  // names do not say what to run already.
  const printedUpgrade = { ...options, printCommand: print };
  const waitNames = lockWaitWordsFor(printedUpgrade, "apply");
  return withLockedConnection({ ...options, lockWaitNames: waitNames }, "upgrade", log, async (client) => {
    // Opened while the checks run; what a transaction of the upgrade waits for is read from it.
    const monitor = openMonitorInBackground(targetOf(options), {
      connectTimeoutMs: options.connectTimeoutMs,
      log,
      command: "upgrade",
    });
    const clock = new LockClock(resolveLockSafety(options.lockSafety), log, monitor.ready, waitNames);
    try {
      return await upgradeOn(client, clock);
    } catch (error) {
      throw describeUpgradeError(error, options, print);
    } finally {
      await monitor.close();
    }
  });

  async function upgradeOn(client: Client, clock: LockClock): Promise<LegacyUpgradeResult> {
    if (options.ownerRole) await setOwnerRole(client, options.ownerRole);
    const resuming = await schemaExists(client, WORK_SCHEMA);
    const stop = resuming ? "resume" : "start";
    // The checks read the legacy tables (their rows, their dependents) and the work schema's: each waits for a
    // table lock at most --migration-lock-timeout, as apply's before its first write do. Given up on a resumed
    // run, before it knows how far the interrupted one went, the database is as that one left it.
    const stage = await readsBeforeFirstWrite(
      client,
      printedUpgrade,
      "apply",
      () => checksBeforeWriting(client, stop),
      resuming
        ? "Nothing more was written: the interrupted upgrade is as it was and resumes where it stopped."
        : UPGRADE_STOPS.start.state,
    );
    let expanded = 0;
    let proof: UpgradeProof | undefined;
    let copied: BackfillResult = { rows: {}, rowsThisRun: {}, batches: 0, copied: 0, complete: true };
    if (stage === "contracted") {
      log.info(
        "upgrade: an earlier run moved the data and dropped the legacy tables; running what is left of the release",
      );
      const release = await applyWith(client, options);
      return { ...summary(true, "done", Date.now() - started), contractedEarlier: true, release };
    }
    if (stage === "before-cutover") {
      // First write of the whole upgrade: after every check passed.
      await client.query("BEGIN");
      await client.query(WORK_DDL);
      await client.query(
        `INSERT INTO ${WORK_SCHEMA}.config (organization_slug) VALUES ($1) ON CONFLICT (id) DO NOTHING`,
        [org.slug],
      );
      await client.query("COMMIT");
      expanded = await expandRelease(client, files, clock, log, print);
      if (!(await stepDone(client, "expand:triggers-off"))) {
        await clock.transaction(client, "staging triggers off", async () => {
          await setStagingTriggers(client, false);
          await markDone(client, "expand:triggers-off");
        });
      }
      await installMirrors(client, mappings, clock);
      copied = await backfill(client, org, mappings, clock, {
        batchSize,
        maxBatches: upgrade.maxBatches,
        log,
      });
      if (!copied.complete) {
        const durationMs = Date.now() - started;
        const toContinue = continueUpgrade(print, upgrade.maxBatches);
        log.info(
          `upgrade: stopped after ${copied.batches} batch(es) as asked; the legacy tables stay in use and mirrored: ${toContinue}.`,
        );
        return { ...summary(false, "backfill", durationMs), toContinue };
      }
      const rejected = await rejectedRows(client);
      if (rejected.length > 0) throw rejectedError(rejected, print);
      proof = await proveUpgrade(client, org, { legacy: LEGACY_SCHEMA, release: STAGING_SCHEMA });
      if (!proof.ok) throw proofError(proof, print);
      await client.query(`UPDATE ${WORK_SCHEMA}.config SET proof = $1`, [JSON.stringify(proof)]);
      await ensureBookkeeping(
        client,
        (options.steps ?? []).map((s) => s.bookkeepingDdl),
      );
      await cutover(client, files, mappings, clock, print);
      log.info(`upgrade: cutover done; the legacy tables are kept in ${LEGACY_KEPT_SCHEMA} until the end`);
    } else {
      const recorded = await client.query<{ proof: UpgradeProof | null }>(
        `SELECT proof FROM ${WORK_SCHEMA}.config`,
      );
      proof = recorded.rows[0]?.proof ?? undefined;
    }
    // Checked again: anything made to depend on the kept tables since the cutover would go with them.
    refuseUncarried(await findUncarried(client, mappings, "contract"), "contract", print);
    await clock.transaction(client, "drop the kept legacy tables", async () => {
      await dropKeptLegacyTables(client);
      await client.query(`DROP SCHEMA ${WORK_SCHEMA} CASCADE`);
    });
    // The release's own steps and its snapshot, as any apply after its migrations.
    const release = await applyWith(client, options);
    const rowLevelSecurity = await rowLevelSecurityState(client);
    return {
      ...summary(true, "done", Date.now() - started),
      ...(proof ? { proof: { ...proof, rowLevelSecurity } } : {}),
      release,
    };

    /**
     * What stops the upgrade before this run writes anything: another organization than the interrupted run's,
     * a database that is not the legacy one, what the role cannot do, rows the release refuses, what would be
     * lost. How far an earlier run went: not to the cutover, past it (then only the final drop and the release's
     * steps are left), or past the final drop (then only the release's steps, what plain apply runs).
     */
    async function checksBeforeWriting(client: Client, stop: "start" | "resume"): Promise<UpgradeStage> {
      const resuming = stop === "resume";
      if (resuming) {
        const config = await client.query<{ organization_slug: string }>(
          `SELECT organization_slug FROM ${WORK_SCHEMA}.config`,
        );
        const recorded = config.rows[0]?.organization_slug;
        if (recorded && recorded !== org.slug) {
          throw new ReleaseError(
            "invalid-input",
            `${upgrade.organizationSource ?? "--legacy-organization"} ${org.slug} differs from the organization this interrupted upgrade started with (${recorded}).`,
            `Resume it with the same organization (${upgrade.organizationSource ?? "--legacy-organization"} ${recorded}), or start over: DROP SCHEMA ${STAGING_SCHEMA} CASCADE; DROP SCHEMA ${WORK_SCHEMA} CASCADE (the legacy tables are untouched until cutover).`,
          );
        }
      }
      if (resuming && (await stepDone(client, "cutover"))) return "after-cutover";
      if (!resuming && (await upgradeContractedHere(client, org))) return "contracted";
      const ledger = await readLedger(client);
      if (ledger.length > 0) {
        throw new ReleaseError(
          "invalid-input",
          `This database already records ${ledger.length} applied migration(s): it is not a legacy database to upgrade.`,
          `Use ${commandToRun(options.printCommand, ["apply"])} (without --upgrade-legacy) to continue its release.`,
        );
      }
      const inspection = await inspectLegacyDatabase(client);
      if (!inspection) {
        throw new ReleaseError(
          "invalid-input",
          'This database does not have the Prisma-era NeonHub schema (a "Message" table with a text "role" and no "conversationId"), so there is nothing to upgrade.',
          `Run ${commandToRun(options.printCommand, ["plan"])} to see what it is; an empty database takes ${commandToRun(options.printCommand, ["apply"])}.`,
        );
      }
      // What this role cannot do stops here, before the first write: no staging schema is left behind.
      refuseUpgradeProblems(
        await upgradeProblems(
          client,
          stop,
          { command: upgradeCommand("apply", org.slug), ownerRole: options.ownerRole },
          inspection.unreadable,
          print,
        ),
        stop,
      );
      refuseDefects(inspection, stop, print);
      // What the legacy tables hold or carry that the release does not would go with them: refused by name.
      refuseUncarried(await findUncarried(client, mappings, stop), stop, print);
      return "before-cutover";
    }

    function summary(complete: boolean, phase: "backfill" | "done", durationMs: number): LegacyUpgradeResult {
      const total = copied.copied;
      return {
        database: redactUrl(options.databaseUrl),
        organization: { slug: org.slug, id: org.id },
        complete,
        phase,
        contractedEarlier: false,
        expandedMigrations: expanded,
        backfill: { rows: copied.rows, rowsThisRun: copied.rowsThisRun, batches: copied.batches },
        rowsPerSecond: durationMs > 0 ? Math.round((total * 1000) / durationMs) : 0,
        durationMs,
        longestLock: clock.longest,
      };
    }
  }
}

/**
 * Whether this database is one the upgrade is for: an upgrade in progress, or the Prisma-era schema with an
 * empty neonhub-db ledger. Read-only.
 */
export async function legacyUpgradeNeeded(client: ClientBase): Promise<boolean> {
  if (await schemaExists(client, WORK_SCHEMA)) return true;
  if ((await readLedger(client)).length > 0) return false;
  return (await inspectLegacyDatabase(client)) !== undefined;
}

/**
 * The upgrade when the release settings ask for it (`legacyUpgrade`) and the database needs it; undefined
 * otherwise (an upgraded or new database: the release runs as usual). What `pulumi up` runs first.
 */
export async function upgradeLegacyIfNeeded(
  options: ReleaseOptions,
  upgrade: LegacyUpgradeOptions,
): Promise<LegacyUpgradeResult | undefined> {
  if (!(await legacyUpgradeNeededAt(options, "apply"))) return undefined;
  return upgradeLegacyDatabase(options, upgrade);
}

/**
 * legacyUpgradeNeeded on a connection of its own, for the entry points that decide before they run. Its reads
 * (a legacy table's rows among them) wait for a table lock as `command`'s reads before a write do: plan's at
 * most --lock-timeout, apply's (connected as `neonhub-db:upgrade-check`) at most --migration-lock-timeout.
 */
export async function legacyUpgradeNeededAt(
  options: ReleaseOptions,
  command: "plan" | "apply",
): Promise<boolean> {
  // The command acts as the owner role whichever way this decides, and so does this check, on its own
  // connection: a role it could not act as is refused first, as plan and apply refuse it, and the ledger and
  // the legacy tables are read as the command reads them (a member of the role without INHERIT may not read
  // them as itself).
  const read = async (client: ClientBase) => {
    if (options.ownerRole) await actAsOwnerRole(client, options.ownerRole);
    return legacyUpgradeNeeded(client);
  };
  return command === "plan"
    ? withCommandConnection(options, "plan", readCommandWaits(options, "plan"), read)
    : withCommandConnection(options, "apply", releaseReadWaits(options, "apply"), read, "upgrade-check");
}
