// One linter for the whole repo. @pulumi/eslint-plugin catches Outputs interpolated into template
// literals, which silently render as "Calling [toString] on an [Output<T>]..." instead of the value.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";

export default tseslint.config(
  { ignores: ["node_modules/", ".local/", "prisma/generated/", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
    },
  },
  // The release engine's public surface is core/index.ts: nothing outside core/ imports a module inside it.
  {
    files: ["**/*.ts", "**/*.js", "**/*.mjs"],
    ignores: ["core/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "(^|/)core/.+",
              message: "Import the release engine through core/index.ts only (add an export there).",
            },
          ],
        },
      ],
    },
  },
  // The policy pack runs on its own (the Pulumi CLI loads policy/index.ts): it prints the engine's `pulumi config`
  // words from their one dependency-free module rather than load the whole engine through core/index.ts.
  {
    files: ["policy/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "(^|/)core/(?!pulumi-config-command$).+",
              message:
                "The policy pack loads no module of the release engine but core/pulumi-config-command.ts (docs/ci.md).",
            },
          ],
        },
      ],
    },
  },
  // Unit tests of the engine's internal formulas and rules (pure functions that are not its API: lists,
  // memory, calibration search, health thresholds) test them where they live.
  {
    files: [
      "test/vector-indexes/formulas.test.ts",
      "test/vector-indexes/build-memory.test.ts",
      "test/observability/health-rules.test.ts",
      "test/core/hostile-inputs.test.ts",
      "test/core/transaction-guard.test.ts",
      "test/core/transaction-messages.test.ts",
      "test/search/findings.test.ts",
    ],
    rules: { "no-restricted-imports": "off" },
  },
  // The engine is Pulumi-free: the CLI and the tests use it without a Pulumi runtime.
  {
    files: ["core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@pulumi/*"], message: "core/ must not depend on Pulumi (docs/architecture.md)." },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: globals.node,
    },
    rules: {
      "@typescript-eslint/no-require-imports": "off",
      "no-redeclare": ["error", { builtinGlobals: false }],
    },
  },
);
