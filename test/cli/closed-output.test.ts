// A reader that closes the CLI's stdout or stderr before the command ends (`neonhub-db plan --json | head -1`,
// `apply 2>&1 | head`, `| grep -q`) does not stop the command: it runs to its end and exits with its own code.
// Node's unhandled EPIPE ended the process with exit 1 (and a stack, when stderr was open) at its next write,
// an apply with its stderr closed between two migrations. The real CLI, its pipe's reading end closed before
// it starts, on a real database.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, releaseStatus } from "../../core";
import { CLI } from "../support/cli";
import { useTestDatabase } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";

interface ClosedRun {
  code: number | null;
  /** What the stream left open received. */
  output: string;
}

/** Runs the CLI with the reading end of its `closed` stream shut before it writes anything. */
function runWithClosed(
  closed: "stdout" | "stderr",
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ClosedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child[closed].destroy();
    let output = "";
    child[closed === "stdout" ? "stderr" : "stdout"].on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("a closed stdout or stderr", () => {
  const db = useTestDatabase("closedout");
  const dir = fixtureMigrationsCopy();
  const env = () => ({ DATABASE_URL: db.current.url });

  it("plan --json with its stdout closed exits 2 for its pending migrations, with no error on stderr", async () => {
    const run = await runWithClosed("stdout", ["plan", "--migrations-dir", dir, "--json"], env());
    expect(run.output).not.toContain("EPIPE");
    expect(run.output).not.toContain("error");
    expect(run.code).toBe(2);
  });

  it("apply with its stderr closed applies every migration and exits 0, its --json document whole", async () => {
    const run = await runWithClosed("stderr", ["apply", "--migrations-dir", dir, "--json"], env());
    expect(run.code).toBe(0);
    const result = JSON.parse(run.output) as { migrations: { name: string }[] };
    expect(result.migrations.map((m) => m.name)).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    const status = await releaseStatus({ databaseUrl: db.current.url, migrationsDir: dir });
    expect(status.pendingMigrations).toEqual([]);
    expect(status.ledger).toHaveLength(3);
  });
});
