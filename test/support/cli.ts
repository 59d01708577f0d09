// Runs the real CLI (bin/neonhub-db.js) as a child process, the way an operator or CI does.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const CLI = path.resolve(__dirname, "..", "..", "bin", "neonhub-db.js");

/** node-pg-migrate's own CLI, as the upstream project's users run it. */
const UPSTREAM_CLI = path.resolve(
  __dirname,
  "..",
  "..",
  "node_modules",
  "node-pg-migrate",
  "bin",
  "node-pg-migrate.js",
);

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runScript(CLI, args, { PATH: process.env.PATH, ...env });
}

/**
 * The CLI with --json on the database of `url`: its exit code and its document. A run that crashed ("unexpected
 * error", a bug's report) fails the test here, whatever the test then reads of the document.
 */
export async function cliJson<T>(url: string, ...args: string[]): Promise<{ code: number | null; doc: T }> {
  const run = await runCli([...args, "--json"], { DATABASE_URL: url });
  if (run.stderr.includes("unexpected error"))
    throw new Error(`neonhub-db ${args[0]} crashed:\n${run.stderr}`);
  return { code: run.code, doc: JSON.parse(run.stdout) as T };
}

/** Runs a Node script of the project as a child process and collects its output and exit code. */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return collected(process.execPath, [script, ...args], env);
}

/** Runs `file` from the project root and collects its output and exit code. */
function collected(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: path.resolve(__dirname, "..", ".."),
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `node-pg-migrate <args>` against `databaseUrl`, run the way the upstream CLI's users run it. */
export function runUpstreamCli(args: readonly string[], databaseUrl: string): Promise<CliRun> {
  return runScript(UPSTREAM_CLI, args, { PATH: process.env.PATH, DATABASE_URL: databaseUrl });
}

/** A folder holding `neonhub-db`, this CLI, as `npm install` puts it on an operator's PATH; made once. */
let binFolder: string | undefined;
function cliOnPath(): string {
  if (binFolder === undefined) {
    binFolder = mkdtempSync(path.join(tmpdir(), "neonhub-bin-"));
    symlinkSync(CLI, path.join(binFolder, "neonhub-db"));
    const made = binFolder;
    process.once("exit", () => rmSync(made, { recursive: true, force: true }));
  }
  return binFolder;
}

/**
 * A command the CLI printed for the operator to run (`neonhub-db ...`), run as one pastes it into a shell: a
 * POSIX shell reads its quoting and expands its "$DIRECT_URL", in `env` alone, and finds `neonhub-db` (this
 * CLI) on the PATH.
 */
export function runPrinted(command: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const PATH = [cliOnPath(), path.dirname(process.execPath), process.env.PATH].join(path.delimiter);
  return collected("sh", ["-c", command], { PATH, ...env });
}
