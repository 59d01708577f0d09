import { defineConfig } from "vitest/config";

// `forks`, not threads: Pulumi's closure serializer needs `trace_events`, which worker threads lack.
export default defineConfig({
  test: {
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
    include: [
      "test/**/*.test.ts",
      "core/**/*.test.ts",
      "infra/**/*.test.ts",
      "policy/**/*.test.ts",
      "cli/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
