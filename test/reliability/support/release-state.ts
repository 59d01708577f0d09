// What a release left in a database, read the way an operator would (the CLI's --json) and straight from
// the tables (the ledger, the seed records), so that the two can be held against each other.
import { readdirSync } from "node:fs";
import type { ReleasePlan, ReleaseResult, ReleaseStatus, VerifyReport } from "../../../core";
import { runCli, type CliRun } from "../../support/cli";
import { withClient } from "../../support/database";

export function migrationNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -".sql".length))
    .sort();
}

/** The migration ledger's names in the order they were applied; [] before the first apply. */
export async function ledgerNames(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const exists = await c.query<{ ok: boolean }>(
      "SELECT to_regclass('neonhub_release.migrations') IS NOT NULL AS ok",
    );
    if (!exists.rows[0]!.ok) return [];
    const result = await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id");
    return result.rows.map((r) => r.name);
  });
}

interface CommandJson {
  apply: ReleaseResult;
  plan: ReleasePlan;
  status: ReleaseStatus;
  verify: VerifyReport;
}

/** Runs a CLI command with --json; `value` is its document (undefined when it printed none). */
export async function cliJson<C extends keyof CommandJson>(
  command: C,
  url: string,
  args: readonly string[] = [],
): Promise<CliRun & { value: CommandJson[C] }> {
  const run = await runCli([command, "--json", ...args], { DATABASE_URL: url });
  let value: CommandJson[C];
  try {
    value = JSON.parse(run.stdout) as CommandJson[C];
  } catch {
    throw new Error(`${command} printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { ...run, value };
}
