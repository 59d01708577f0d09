// The schema-release provider's methods, as the dynamic-provider host runs them (provider.ts loads this file
// from the project root). They adapt the release engine to Pulumi's resource contract:
// - check validates the inputs and, for the migrations, reads the ledger (read-only) when the database is
//   reachable, so that a changed applied migration fails the preview, naming the file, and lints the
//   pending migrations (core/lint/): findings show in the preview, errors fail a production one; a production
//   database it cannot reach fails it too (unreached-database.ts);
// - the migrations' check carries its reading of the ledger's lost rows in the inputs (ledger-reading.ts), so
//   that a row put back since the last refresh no longer fails the diff;
// - check also asks the core's plan what the vector-index step would do (a table that outgrew its index), and
//   carries the pending decisions in the inputs (pending-index-work.ts);
// - diff compares the manifest (and those decisions) with the recorded state, without a database;
// - create and update apply the part, then record what the database holds; a failure records that too;
// - read re-reads the database (drift), delete forgets, or drops when the stack opted in;
// - every read waits for a table lock another session holds at most the stack's lock timeout (lockTimeoutMs),
//   then fails check or read with the engine's lock-timeout error, naming the blocker (release.ts partContext).
import type * as pulumi from "@pulumi/pulumi";
import { ReleaseError, describeFinding, isReleaseError, planRelease, withReleaseSession } from "../../core";
import { recordedConnection } from "./connection";
import { diffRelease } from "./diff";
import { dropRelease, keepSchemaInstead } from "./drop";
import { RELEASE_PROBLEM, isUnknown, parseInputs, type InputProblem } from "./inputs";
import { LEDGER_READING, ledgerReadingOf, type LedgerReading } from "./ledger-reading";
import { legacyUpgradeFailures, legacyUpgradeOf, runLegacyUpgrade } from "./legacy-upgrade";
import { PENDING_INDEX_WORK, pendingIndexWork } from "./pending-index-work";
import { DescribedFailure, describeFailure } from "./failure";
import {
  LABEL,
  applyPart,
  lastRunOf,
  manifestsOnDisk,
  partContext,
  recordedState,
  refuseChangedFiles,
  refusePendingMigrations,
  stackOutputCommand,
  type PartContext,
} from "./release";
import { rememberShownFindings, shownByCheck } from "./shown-findings";
import type { StackNamed } from "./stack-name";
import { givenUrls, shownCheck, shownResult, writeShown } from "./shown-text";
import { RELEASE_PARTS, type ResolvedInputs, type ResolvedOutputs } from "./types";
import {
  PREVIEW_WITHOUT_DATABASE,
  isUnreached,
  unreachedFailure,
  unreachedFails,
} from "./unreached-database";

type Props = Record<string, unknown>;

const INPUT_SOURCE = "the schema release's databaseUrl input";
/**
 * Where refresh and destroy take the migrator's password from: the stack's own directUrl output, named as the
 * recorded outputs name the stack (stackNamed: a placeholder, and which stack it is, for a state without it).
 */
function setDirectUrl(named: StackNamed): string {
  const output = stackOutputCommand(named, "directUrl");
  return `set DIRECT_URL to the migrator's connection string (${named.note === undefined ? output : `${output}; ${named.note}`})`;
}

/** A failed create/update whose outputs still say what the database holds (Pulumi records them). */
class PartialFailure extends DescribedFailure {
  constructor(
    failure: unknown,
    message: string,
    readonly id: string,
    readonly properties: Props,
    readonly reasons: string[],
  ) {
    super(failure, message);
  }
}

function knownInputs(props: Props): ResolvedInputs {
  const { inputs, failures } = parseInputs(props, { allowUnknown: false });
  if (failures.length > 0) {
    const described = failures.map((f) => (f.property ? `${f.property} ${f.reason}` : f.reason));
    throw new ReleaseError("invalid-input", described.join("; "));
  }
  return inputs;
}

// The methods the host calls: every text each hands back to Pulumi, or throws, is masked (shown-text.ts).
export async function check(olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
  const given = givenUrls(news);
  // Not shownValue: the inputs hand the databaseUrl on to diff, create and update as it is.
  return shownResult(
    given,
    () => checkInputs(olds, news),
    (result) => shownCheck(result, given),
  );
}

export async function diff(id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
  return shownResult(givenUrls(news), () => diffInputs(id, olds, news));
}

export async function create(props: Props): Promise<pulumi.dynamic.CreateResult> {
  return shownResult(givenUrls(props), () => createPart(props));
}

export async function update(id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
  return shownResult(givenUrls(news), () => updatePart(id, olds, news));
}

export async function read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
  return shownResult(givenUrls(props), () => readPart(id, props));
}

export async function remove(id: string, props: Props): Promise<void> {
  return shownResult(givenUrls(props), () => removePart(id, props));
}

async function checkInputs(_olds: Props, news: Props): Promise<pulumi.dynamic.CheckResult> {
  const { inputs, failures } = parseInputs(news, { allowUnknown: true });
  if (failures.length === 0 && inputs.part === "migrations" && !isUnknown(inputs.databaseUrl)) {
    // The ledger as read now, so that a row put back since the last refresh no longer fails the diff.
    const { [LEDGER_READING]: _stale, ...rest } = news;
    const ledger = await checkLedger(inputs);
    failures.push(...ledger.failures);
    return { inputs: ledger.reading ? { ...rest, [LEDGER_READING]: ledger.reading } : rest, failures };
  }
  if (failures.length === 0 && inputs.part === "vectorIndexes" && !isUnknown(inputs.databaseUrl)) {
    // The rows decide whether an index needs a rebuild: asked now, so that preview shows it without a refresh.
    const { [PENDING_INDEX_WORK]: _stale, ...rest } = news;
    try {
      const work = await pendingIndexWork(inputs, INPUT_SOURCE);
      return { inputs: work === undefined ? rest : { ...rest, [PENDING_INDEX_WORK]: work }, failures };
    } catch (error) {
      // A lock wait that ran out (pendingIndexWork warns of everything else).
      return { inputs: rest, failures: [{ property: RELEASE_PROBLEM, reason: describeFailure(error) }] };
    }
  }
  return { inputs: news, failures };
}

/** What check found of the ledger: why the preview fails, and the reading when the plan answered. */
interface LedgerCheck {
  failures: InputProblem[];
  reading?: LedgerReading;
}

/**
 * The ledger against the files, read-only. A database it cannot reach fails a production preview, the gate
 * before a merge; elsewhere it is left to `up`, which checks again. One that does not exist yet is left to `up`
 * everywhere: the server answered, and there is nothing applied to check against.
 */
async function checkLedger(inputs: ResolvedInputs): Promise<LedgerCheck> {
  let context: PartContext | undefined;
  try {
    context = partContext(inputs, inputs.databaseUrl, INPUT_SOURCE, "check");
    const legacy = legacyUpgradeOf(inputs);
    const upgrade = legacy ? await legacyUpgradeFailures(context, legacy) : undefined;
    if (upgrade) return { failures: upgrade };
    const plan = await planRelease({ ...context.options, steps: [] });
    // The safety lint's warnings show in the preview. Every reason apply would refuse fails it, as plan's
    // top-level problems list them (core/plan-problems.ts): the ledger's, the lint's errors (a blocking
    // statement on a table with data on a production stack; on any stack a statement PostgreSQL cannot run or
    // a malformed exemption), a server without pgvector.
    // Apply, in the same host during an up, does not print them again (shown-findings.ts).
    const shown = plan.safety.findings.filter((f) => f.level !== "error");
    for (const finding of shown) context.options.log.info(describeFinding(finding));
    rememberShownFindings(context.target, shown, manifestsOnDisk(context).migrations ?? {});
    const failures = plan.problems.map((problem) => ({
      property: RELEASE_PROBLEM,
      reason: `${problem.message} fix: ${problem.fix}`,
    }));
    return { failures, reading: ledgerReadingOf(plan) };
  } catch (error) {
    const unreached = isReleaseError(error) && isUnreached(error);
    if (unreached && unreachedFails(inputs.environment)) {
      const cause = describeFailure(error).split("\n")[0]!;
      const reason = unreachedFailure(context?.target ?? "its databaseUrl", cause);
      return { failures: [{ property: RELEASE_PROBLEM, reason }] };
    }
    if (unreached || (isReleaseError(error) && error.code === "missing-database")) {
      const skipped =
        unreached && inputs.environment === "production"
          ? `; ${PREVIEW_WITHOUT_DATABASE}=1: not the production gate`
          : "";
      context?.options.log.warn(`ledger not checked (${describeFailure(error).split("\n")[0]})${skipped}`);
      return { failures: [] };
    }
    return { failures: [{ property: RELEASE_PROBLEM, reason: describeFailure(error) }] };
  }
}

async function diffInputs(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
  const { inputs } = parseInputs(news, { allowUnknown: true });
  const result = diffRelease(olds as Partial<ResolvedOutputs>, inputs);
  if (result.refusals.length > 0) {
    throw new ReleaseError("ledger-mismatch", result.refusals.join("\n"));
  }
  if (result.lines.length > 0) {
    const where = typeof olds.target === "string" ? ` on ${olds.target}` : "";
    writeShown(`${LABEL[inputs.part]}${where}: ${result.lines.join("; ")}`, givenUrls(news));
  }
  return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: false };
}

async function createPart(props: Props): Promise<pulumi.dynamic.CreateResult> {
  const { inputs, context } = prepare(props);
  return { id: context.target, outs: await apply(inputs, context, props.__provider) };
}

async function updatePart(_id: string, _olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
  const { inputs, context } = prepare(news);
  return { outs: await apply(inputs, context, news.__provider) };
}

function prepare(props: Props): { inputs: ResolvedInputs; context: PartContext } {
  try {
    const inputs = knownInputs(props);
    return { inputs, context: partContext(inputs, inputs.databaseUrl, INPUT_SOURCE, "up") };
  } catch (error) {
    throw new DescribedFailure(error);
  }
}

async function apply(inputs: ResolvedInputs, context: PartContext, provider: unknown): Promise<Props> {
  try {
    refuseChangedFiles(inputs, context);
    // The lint's findings check printed earlier in this up are not printed again by apply.
    if (inputs.part === "migrations") {
      const checksums = manifestsOnDisk(context).migrations ?? {};
      context.options.safetyFindingShown = shownByCheck(context.target, checksums);
    }
    // A Prisma-era database the settings ask to upgrade: upgraded (or its interrupted upgrade resumed) first.
    const legacy = legacyUpgradeOf(inputs);
    if (legacy) await runLegacyUpgrade(context, legacy);
  } catch (error) {
    throw new DescribedFailure(error);
  }
  // One connection for the whole operation: the checks, the apply and the recorded state.
  return withReleaseSession(context.options, `pulumi:${inputs.part}`, async (session) => {
    try {
      await refusePendingMigrations(context, session);
    } catch (error) {
      // Nothing ran: the recorded state stays as it was.
      throw new DescribedFailure(error);
    }
    try {
      const result = await applyPart(session);
      return plain(
        await recordedState(
          inputs,
          context,
          { plan: false, applied: true, lastRun: lastRunOf(inputs.part, result) },
          session,
        ),
      );
    } catch (error) {
      const message = describeFailure(error);
      const lastRun = {
        at: new Date().toISOString(),
        changed: false,
        durationMs: 0,
        items: [],
        error: message,
      };
      // The apply may have lost its connection: the recorded state is read over a fresh one.
      const truth = await withReleaseSession(context.options, `pulumi:${inputs.part}`, (fresh) =>
        recordedState(inputs, context, { plan: true, applied: false, lastRun }, fresh),
      ).catch(() => undefined);
      if (!truth) throw new DescribedFailure(error, message);
      // The host turns this into ErrorResourceInitFailed, so the engine records these outputs; it adds
      // __provider to successful results only, and delete needs it.
      throw new PartialFailure(error, message, context.target, { ...plain(truth), __provider: provider }, [
        message,
      ]);
    }
  }).catch((error: unknown) => {
    // A connection that could not be opened: described like any other failure, without the password.
    if (error instanceof Error && !isReleaseError(error)) throw error;
    throw new DescribedFailure(error);
  });
}

/** Outputs as JSON values (dates as ISO strings, no undefined), as the host's protobuf Struct needs. */
function plain(outputs: ResolvedOutputs): Props {
  return JSON.parse(JSON.stringify(outputs)) as Props;
}

function recordedOutputs(props: Props): ResolvedOutputs | undefined {
  const recorded = props as Partial<ResolvedOutputs>;
  if (!RELEASE_PARTS.includes(recorded.part as never)) return undefined;
  if (typeof recorded.target !== "string" || typeof recorded.connection !== "string") return undefined;
  return recorded as ResolvedOutputs;
}

async function readPart(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
  const recorded = recordedOutputs(props);
  if (!recorded) return { id, props };
  const connection = recordedConnection(recorded);
  let context: PartContext;
  try {
    context = partContext(recorded, connection.url, connection.source, "refresh");
  } catch (error) {
    // The recorded settings no longer build (a seed set removed from the project): nothing to compare with.
    writeShown(`${recorded.part}: not refreshed: ${describeFailure(error)}`, givenUrls(props));
    return { id, props };
  }
  try {
    const fresh = await withReleaseSession(context.options, `pulumi:${recorded.part}:read`, (session) =>
      recordedState(
        recorded,
        context,
        { plan: true, applied: false, lastRun: recorded.lastRun ?? null },
        session,
      ),
    );
    return { id, props: plain(fresh) };
  } catch (error) {
    if (isReleaseError(error) && error.code === "missing-database") {
      // The database is gone, and the release with it: the engine drops the resource from the state.
      context.options.log.warn("the database no longer exists");
      return { id: "", props: {} };
    }
    if (isReleaseError(error) && ["connection", "authentication"].includes(error.code)) {
      // Keep the recorded state rather than fail every refresh that cannot reach the database.
      context.options.log.warn(
        `not refreshed, the recorded state is kept: ${describeFailure(error).split("\n")[0]} Connected with ${connection.source}; ${setDirectUrl(context.stack)} to refresh it.`,
      );
      return { id, props };
    }
    throw new DescribedFailure(error);
  }
}

async function removePart(_id: string, props: Props): Promise<void> {
  const recorded = recordedOutputs(props);
  if (!recorded) return;
  const where = `${LABEL[recorded.part]} on ${recorded.target}`;
  if (!recorded.dropOnDelete) {
    writeShown(`${where}: kept in the database (dropOnDelete is false); Pulumi forgets it`, []);
    return;
  }
  if (recorded.part !== "migrations") {
    // Its rows and indexes live in the migrations' tables, which the migrations resource drops after it.
    writeShown(`${where}: goes with the tables the schema migrations drop`, []);
    return;
  }
  const connection = recordedConnection(recorded);
  const context = partContext(recorded, connection.url, connection.source, "destroy");
  try {
    await dropRelease(context.options, context.stack);
  } catch (error) {
    const message = describeFailure(error);
    const credentials =
      isReleaseError(error) && ["connection", "authentication"].includes(error.code)
        ? ` Connected with ${connection.source}; ${setDirectUrl(context.stack)}, or keep the schema: ${keepSchemaInstead(context.stack)} before destroying.`
        : "";
    throw new DescribedFailure(error, `${message}${credentials}`);
  }
}
