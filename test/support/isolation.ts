// Which test files need a process of their own. Pulumi's mock runtime (test/infra/harness.ts) is one per
// process: a second stack program in the same process finds it already set up and records nothing. Every
// other file shares its worker's process with the files before it, which spares loading the same modules
// again for each file (the main run took 304–366 s of CPU, against 376–393 s with a process per file).
// test/lint/test-isolation.test.ts checks that no file outside these reaches `runtime.setMocks`.
export const OWN_PROCESS_FOLDERS: readonly string[] = ["test/infra/", "test/dynamic/", "test/policy/"];
export const OWN_PROCESS_FILES: readonly string[] = [
  "test/security/secrets-config.test.ts",
  "test/security/secrets-program.test.ts",
  "test/security/secrets-preview.test.ts",
];

/** The same set as vitest include globs. */
export const OWN_PROCESS_GLOBS: readonly string[] = [
  ...OWN_PROCESS_FOLDERS.map((folder) => `${folder}**/*.test.ts`),
  ...OWN_PROCESS_FILES,
];

/** Whether a test file (a path relative to the project root, with forward slashes) needs its own process. */
export function needsOwnProcess(file: string): boolean {
  return OWN_PROCESS_FILES.includes(file) || OWN_PROCESS_FOLDERS.some((folder) => file.startsWith(folder));
}
