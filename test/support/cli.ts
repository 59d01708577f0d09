// Runs the real CLI (bin/neonhub-db.js) as a child process, the way an operator or CI does.
import { spawn } from "node:child_process";
import path from "node:path";

export const CLI = path.resolve(__dirname, "..", "..", "bin", "neonhub-db.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runScript(CLI, args, { PATH: process.env.PATH, ...env });
}

/** Runs a Node script of the project as a child process and collects its output and exit code. */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
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
