// `npm run local` with a Pulumi CLI on PATH makes the local stack and sets its admin connection before
// `pulumi up` (scripts/lib/local-pulumi.js). Those steps run here with the real CLI; `up` itself needs the
// Node.js language host, which cannot be built here (docs/engine.md). `pulumi stack init` has no
// --config-file and writes its passphrase salt beside the project file it finds: the tracked
// Pulumi.local.yaml must stay as it is.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";

type LocalPulumi = typeof import("../../scripts/lib/local-pulumi");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localPulumi = require("../../scripts/lib/local-pulumi") as LocalPulumi;

const run = promisify(execFile);
const PULUMI = process.env.NEONHUB_PULUMI;

describe("the local stack made through the Pulumi CLI", () => {
  let root: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    if (!PULUMI) throw new Error("NEONHUB_PULUMI is not set: run through `npm run test:engine`");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "neonhub-local-stack-"));
    fs.mkdirSync(path.join(root, "project"));
    for (const file of ["Pulumi.yaml", "Pulumi.local.yaml"]) {
      fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(root, "project", file));
    }
    env = {
      ...process.env,
      PATH: [path.dirname(PULUMI), process.env.PATH ?? ""].join(path.delimiter),
      PULUMI_HOME: path.join(root, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(root, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "engine-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    fs.mkdirSync(path.join(root, "state"));
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("makes the stack once, keeps the secret in the machine's copy, and leaves the tracked stack file alone", async () => {
    const paths = localPulumi.localStackPaths(path.join(root, "project"), {});
    const tracked = fs.readFileSync(path.join(paths.projectRoot, "Pulumi.local.yaml"), "utf8");
    const configGet = async () =>
      (
        await run(
          PULUMI!,
          ["config", "get", "neonhub-db:adminUrl", "--stack", "local", "--config-file", paths.configFile],
          { cwd: paths.projectRoot, env },
        )
      ).stdout.trim();

    localPulumi.prepareLocalStack("postgresql://postgres:first@127.0.0.1:54329/postgres", env, paths);
    expect(await configGet()).toBe("postgresql://postgres:first@127.0.0.1:54329/postgres");
    const copy = fs.readFileSync(paths.configFile, "utf8");
    expect(copy).toMatch(/^encryptionsalt: /m);
    expect(copy).not.toContain("first@");

    // A second run finds the stack, keeps the salt (the secret still decrypts) and sets the new connection.
    localPulumi.prepareLocalStack("postgresql://postgres:second@127.0.0.1:54329/postgres", env, paths);
    expect(await configGet()).toBe("postgresql://postgres:second@127.0.0.1:54329/postgres");
    const stacks = JSON.parse(
      (await run(PULUMI!, ["stack", "ls", "--json"], { cwd: paths.projectRoot, env })).stdout,
    ) as { name: string }[];
    expect(stacks.map((s) => s.name)).toEqual(["local"]);
    // Its state holds no roles yet: `npm run local` would first drop the ones --no-pulumi made.
    expect(localPulumi.stackManagesAccess(env, paths)).toBe(false);

    expect(fs.readFileSync(path.join(paths.projectRoot, "Pulumi.local.yaml"), "utf8")).toBe(tracked);
  });
});
