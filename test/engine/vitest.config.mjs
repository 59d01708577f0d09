import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:engine` (scripts/test-engine.js, which provides the Pulumi CLI first): the schema release
// through the real Pulumi engine, kept out of `npm test`. Same throwaway cluster as the main suite.
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
