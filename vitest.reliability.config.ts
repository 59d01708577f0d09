import { defineConfig } from "vitest/config";

// `npm run test:reliability`: the long fault scenarios of test/reliability (docs/reliability.md), a run of its
// own inside `npm test`, with a throwaway cluster of its own (globalSetup). One file at a time: they kill
// processes, restart a server and measure memory, and each is sized for the run's total to stay within minutes.
export default defineConfig({
  test: {
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
    include: ["test/reliability/**/*.scenario.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
