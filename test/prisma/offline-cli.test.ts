// Prisma's CLI where its schema engine could not be downloaded (docs/prisma.md, "Prisma's CLI offline"). The
// cross-checks the docs suggest must either work or refuse: `prisma migrate diff` exiting 0 with no output
// reads as "no DDL", which is what it did with a stand-in engine that only exited.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { scratchDir } from "../support/scratch";

interface PrismaRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runPrisma, downloadedEngine } = require("../../scripts/prisma.js") as {
  runPrisma: (args: string[], options?: { stdio?: "pipe"; env?: NodeJS.ProcessEnv }) => PrismaRun;
  downloadedEngine: () => boolean;
};

const STAND_IN = path.join(PROJECT_ROOT, "scripts", "lib", "schema-engine-offline.js");
const REFUSAL = /schema engine is not installed, so `prisma (migrate diff|db pull)` did not run/;

/** The committed schema plus one model the database does not have: a diff must show it. */
function schemaWithExtraModel(): string {
  const file = path.join(scratchDir("prisma-offline-"), "schema.prisma");
  const committed = readFileSync(path.join(PROJECT_ROOT, "prisma", "schema.prisma"), "utf8");
  writeFileSync(file, `${committed}\nmodel Extra {\n  id Int @id\n}\n`);
  return file;
}

/** Prisma's own CLI, as an app runs it with PRISMA_SCHEMA_ENGINE_BINARY naming the stand-in. */
function prismaWithStandIn(args: string[], env: NodeJS.ProcessEnv): PrismaRun {
  const cli = path.join(PROJECT_ROOT, "node_modules", "prisma", "build", "index.js");
  return spawnSync(process.execPath, [cli, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...env, PRISMA_SCHEMA_ENGINE_BINARY: STAND_IN, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("Prisma's CLI commands that need the schema engine", () => {
  const released = useReleasedDatabase("prisma_offline");
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DIRECT_URL: released.current.roles.url("migrator"),
  });
  const diffs = (schema: string): [string, string[]][] => [
    ["from the database", ["migrate", "diff", "--from-config-datasource", "--to-schema", schema, "--script"]],
    ["from empty", ["migrate", "diff", "--from-empty", "--to-schema", schema, "--script"]],
  ];

  it("through scripts/prisma.js: migrate diff shows the extra model, or refuses with what is missing", () => {
    const schema = schemaWithExtraModel();
    for (const [label, args] of diffs(schema)) {
      const result = runPrisma(args, { stdio: "pipe", env: env() });
      if (downloadedEngine()) {
        expect(result.status, `${label}: ${result.stderr}`).toBe(0);
        expect(result.stdout, label).toMatch(/CREATE TABLE "Extra"/);
      } else {
        expect(result.status, label).toBe(1);
        expect(result.stdout.trim(), label).toBe("");
        expect(result.stderr, label).toMatch(REFUSAL);
        expect(result.stderr, label).toMatch(/With network access, `npx prisma version` downloads it/);
      }
    }
  });

  it("through scripts/prisma.js: db pull --print prints the database's schema, or refuses", () => {
    const result = runPrisma(["db", "pull", "--print"], { stdio: "pipe", env: env() });
    if (downloadedEngine()) {
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/model Campaign \{/);
    } else {
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(REFUSAL);
    }
  });

  it("through Prisma's CLI with the stand-in named (an app's folder): exits 1 with the stand-in's explanation", () => {
    const schema = schemaWithExtraModel();
    for (const [label, args] of [
      ...diffs(schema),
      ["db pull", ["db", "pull", "--print"]] as [string, string[]],
    ]) {
      const result = prismaWithStandIn(args, env());
      expect(result.status, `${label}: ${result.stdout}`).toBe(1);
      expect(result.stdout.trim(), label).toBe("");
      expect(result.stderr, label).toMatch(/schema engine is not installed, so this command did not run/);
    }
  }, 120_000);

  it("leaves the commands that run without the engine alone: --help", () => {
    const help = runPrisma(["migrate", "diff", "--help"], { stdio: "pipe", env: env() });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/--from-config-datasource/);
  });
});
