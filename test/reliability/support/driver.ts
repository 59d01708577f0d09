// Starting the release driver (release-driver.ts) the way the CLI is started: a child process of its own.
import path from "node:path";
import { startProcess, type ProcessResult, type RunningProcess } from "../../support/kill-points";
import type { DriverOptions } from "./release-driver";

const DRIVER = path.join(__dirname, "release-driver.ts");

export function startDriver(
  command: "apply" | "plan" | "verify",
  options: DriverOptions,
  databaseUrl: string,
): RunningProcess {
  return startProcess(
    process.execPath,
    ["--require", require.resolve("tsx/cjs"), DRIVER, command, JSON.stringify(options)],
    { DATABASE_URL: databaseUrl },
  );
}

export function runDriver(
  command: "apply" | "plan" | "verify",
  options: DriverOptions,
  databaseUrl: string,
): Promise<ProcessResult> {
  return startDriver(command, options, databaseUrl).done;
}
