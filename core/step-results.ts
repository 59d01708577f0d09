// The steps' answers grouped by kind, typed as each kind's own (core/results.ts): what apply did per step and
// per item, and what status records. The release (core/release.ts) runs the steps in order; these gather.
import type { ClientBase } from "pg";
import type { Logger } from "./logger";
import type { MigrationResult, StepItemResult, StepKind, StepResult, StepStatus } from "./results";
import type { CommandPrinter } from "./command-to-run";
import type { ReleaseStep, RunningStep } from "./steps";

/** Each step kind's answers under the release's keys (`seeds` is `seedSets` in plans, results and status). */
export interface ByStepKey<M extends { [K in StepKind]: unknown }> {
  rowLevelSecurity: M["rowLevelSecurity"][];
  seedSets: M["seeds"][];
  vectorIndexes: M["vectorIndexes"][];
}

export type ItemResultMap = { [K in StepKind]: StepItemResult<K> };
export type StatusMap = { [K in StepKind]: StepStatus<K> };
export type StepItemResults = ByStepKey<ItemResultMap>;
export type StepStatuses = ByStepKey<StatusMap>;

/** What the steps of an apply did: per item, and per step (its time, how many items ran or were skipped). */
export interface StepRun extends StepItemResults {
  steps: StepResult[];
}

/**
 * Gathers one answer per step (`answerOf(step, index in steps)`) under the release's keys. A step of kind K
 * answers with K's type (the ReleaseStep<K> contract), which is what the one cast below states.
 */
export function byStepKey<M extends { [K in StepKind]: unknown }>(
  steps: readonly ReleaseStep[],
  answerOf: (step: ReleaseStep, index: number) => readonly M[StepKind][],
): ByStepKey<M> {
  const of = <K extends StepKind>(kind: K): M[K][] =>
    steps.flatMap((step, i) => (step.kind === kind ? (answerOf(step, i) as M[K][]) : []));
  return {
    rowLevelSecurity: of("rowLevelSecurity"),
    seedSets: of("seeds"),
    vectorIndexes: of("vectorIndexes"),
  };
}

/**
 * Runs each step's apply in order, timing it; tells `onRunning` each step as it starts (and the item the step
 * names), and `undefined` once none runs. `printCommand`: how the steps' fixes name the apply to run again.
 */
export async function runSteps(
  client: ClientBase,
  steps: readonly ReleaseStep[],
  log: Logger,
  options: {
    onRunning?: (running: RunningStep | undefined) => void;
    printCommand?: CommandPrinter;
  } = {},
): Promise<StepRun> {
  const { onRunning, printCommand } = options;
  const answers = new Map<ReleaseStep, StepItemResult[]>();
  const timings: StepResult[] = [];
  for (const step of steps) {
    const started = Date.now();
    onRunning?.({ step: step.kind });
    const items = await step.apply(client, log, { onRunning, printCommand });
    answers.set(step, items);
    timings.push(stepResult(step.kind, Date.now() - started, items));
  }
  onRunning?.(undefined);
  const items = byStepKey<ItemResultMap>(steps, (step) => answers.get(step) ?? []);
  return { ...items, steps: timings };
}

/** A step's line of an apply's result. */
export function stepResult(step: StepKind, durationMs: number, items: readonly StepItemResult[]): StepResult {
  const skipped = items.filter((item) => item.skipped !== undefined).length;
  return { step, durationMs, ran: items.length - skipped, skipped };
}

/** Whether any item of the steps changed something. */
export function anyStepChanged(run: StepItemResults): boolean {
  return [...run.rowLevelSecurity, ...run.seedSets, ...run.vectorIndexes].some(
    (item) => item.action !== "unchanged",
  );
}

/** The migrations an apply ran, as results. */
export function appliedResults(
  migrations: readonly { name: string; checksum: string; durationMs: number }[],
): MigrationResult[] {
  return migrations.map(({ name, checksum, durationMs }) => ({
    name,
    checksum,
    outcome: "applied",
    durationMs,
  }));
}
