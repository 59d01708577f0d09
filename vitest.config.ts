import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";
import { OWN_PROCESS_GLOBS } from "./test/support/isolation";

const TEST_FILES = [
  "test/**/*.test.ts",
  "core/**/*.test.ts",
  "infra/**/*.test.ts",
  "policy/**/*.test.ts",
  "cli/**/*.test.ts",
];

// What both projects share. Not by `extends: true`: that would also give each project the root's
// globalSetup, and start one cluster per project. The root's runs once and provides to both.
const COMMON = {
  // `forks`, not threads: Pulumi's closure serializer needs `trace_events`, which worker threads lack.
  pool: "forks",
  // The heaviest tests (a calibration, every migration's Down section) take 20-30 s alone on 2 cores; room
  // for a machine that is busy with more than the suite.
  testTimeout: 150_000,
  hookTimeout: 180_000,
} as const;

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    // One file more than there are cores: vitest's default (one fewer) ran the files one at a time on a
    // 2-core machine, leaving the cores idle about 40% of the run while each file waited on its database.
    maxWorkers: availableParallelism() + 1,
    projects: [
      { test: { ...COMMON, name: "own-process", include: [...OWN_PROCESS_GLOBS], isolate: true } },
      {
        test: {
          ...COMMON,
          name: "shared-process",
          include: TEST_FILES,
          exclude: [...configDefaults.exclude, ...OWN_PROCESS_GLOBS],
          isolate: false,
        },
      },
    ],
  },
});
