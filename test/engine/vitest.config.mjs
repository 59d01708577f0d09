import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:engine` (scripts/test-engine.js, which provides the Pulumi CLI first): the schema release
// through the real Pulumi engine; `npm test` runs it beside the reliability scenarios. A throwaway cluster
// of its own, as the main suite has (globalSetup).
export default defineConfig({
  test: {
    root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", ".."),
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
    include: ["test/engine/**/*.engine.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
