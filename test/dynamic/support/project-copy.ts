// A copy of the project's root in a temporary folder (the release engine, the dynamic providers, the
// migrations and seeds, with node_modules linked), for host tests that must change a seed or migration file
// without touching the repository. It also shows that the provider finds everything from its working
// directory, wherever the project lives.
import { spawnSync } from "node:child_process";
import { cpSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll } from "vitest";
import { PROJECT_ROOT, type ReleaseManifest } from "../../../core";
import { scratchDir } from "../../support/scratch";

const COPIED = [
  "core",
  path.join("infra", "dynamic"),
  "migrations",
  "seeds",
  "package.json",
  "tsconfig.json",
];

/** A private project root, removed after the file's tests. */
export function projectCopy(): string {
  const root = scratchDir("neonhub-project-");
  for (const entry of COPIED)
    cpSync(path.join(PROJECT_ROOT, entry), path.join(root, entry), { recursive: true });
  symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/**
 * The release manifest as the program would compute it in the copy (its own engine, files and step options),
 * so that a test's inputs match what the host there sees even while the repository is being edited.
 */
export function manifestInCopy(root: string, steps: Record<string, unknown>): ReleaseManifest {
  const script = [
    'const { buildReleaseManifest } = require("./core");',
    'const { defaultReleaseSteps } = require("./core/default-steps");',
    "const steps = defaultReleaseSteps(JSON.parse(process.argv[1]));",
    'const manifest = buildReleaseManifest({ migrationsDir: "migrations", steps });',
    "process.stdout.write(JSON.stringify(manifest));",
  ].join("\n");
  const result = spawnSync(process.execPath, ["-r", "tsx/cjs", "-e", script, JSON.stringify(steps)], {
    cwd: root,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`computing the manifest in ${root} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as ReleaseManifest;
}
