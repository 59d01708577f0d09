// The real Pulumi engine for the schema release: the `pulumi` CLI (the one `npm run test:engine` provides, on
// PATH, or the one scripts/pulumi-toolchain.js built into .local/pulumi/bin), a file backend in a temporary folder, and the
// Automation API running an inline program in this process (no Node.js language host is needed). The engine
// starts @pulumi/pulumi's dynamic-provider plugin itself, in the stack's project folder.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { afterAll } from "vitest";
import { PROJECT_ROOT } from "../../../core";
import { scratchDir } from "../../support/scratch";

// The toolchain script's environment (file backend, local passphrase, no plugin downloads). Only its pure
// parts are used: finding or building the CLI asks the Go module proxy, and tests stay on loopback.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const toolchain = require("../../../scripts/pulumi-toolchain") as {
  engineEnv(
    toolchain: { source: "path" | "built"; binDir: string },
    base?: NodeJS.ProcessEnv,
  ): NodeJS.ProcessEnv;
};

const BUILT = path.join(PROJECT_ROOT, ".local", "pulumi");

function findPulumi(): { source: "path" | "built"; root?: string; binDir: string } {
  // scripts/test-engine.js (npm run test:engine) provides the CLI and says where.
  const provided = process.env.NEONHUB_PULUMI;
  if (provided) {
    const binDir = path.dirname(provided);
    return binDir === path.join(BUILT, "bin")
      ? { source: "built", root: BUILT, binDir }
      : { source: "path", binDir };
  }
  const onPath = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return { source: "path", binDir: path.dirname(onPath) };
  if (existsSync(path.join(BUILT, "bin", "pulumi"))) {
    return { source: "built", root: BUILT, binDir: path.join(BUILT, "bin") };
  }
  throw new Error(
    "No pulumi CLI: install Pulumi, or build one with `node scripts/pulumi-toolchain.js` (docs/engine.md).",
  );
}

export interface EngineStack {
  stack: Stack;
  /** The stack's state as the file backend stores it (secrets encrypted). */
  rawState(): string;
}

/** A new stack of an inline program whose project folder is `workDir`; removed with its backend afterwards. */
export async function engineStack(workDir: string, program: PulumiFn): Promise<EngineStack> {
  const found = findPulumi();
  const backend = scratchDir("neonhub-state-");
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(toolchain.engineEnv(found))) {
    if (value !== undefined && !/^(PG[A-Z]+|DIRECT_URL|DATABASE_URL)$/.test(key)) env[key] = value;
  }
  env.PULUMI_BACKEND_URL = `file://${backend}`;
  const pulumiCommand = await PulumiCommand.get({ root: found.root, skipVersionCheck: true });
  const stack = await LocalWorkspace.createStack(
    { stackName: "engine-test", projectName: "neonhub-db", program },
    { workDir, envVars: env, pulumiCommand, projectSettings: { name: "neonhub-db", runtime: "nodejs" } },
  );
  afterAll(async () => {
    await stack.workspace.removeStack("engine-test", { force: true }).catch(() => {});
    rmSync(backend, { recursive: true, force: true });
  });
  const stateFile = path.join(backend, ".pulumi", "stacks", "neonhub-db", "engine-test.json");
  return { stack, rawState: () => readFileSync(stateFile, "utf8") };
}
