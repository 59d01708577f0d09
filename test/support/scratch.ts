// Temporary folders for tests, all inside the run's scratch folder (made by global-setup.ts), which the run's
// teardown removes whether tests passed or failed. A file's own afterAll may remove its folder sooner; a
// folder made in a hook or a test, where afterAll cannot be registered, or by a process that was killed,
// still goes with the run's.
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";

/** A new, empty folder named `prefix` plus a random suffix, in the run's scratch folder. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(inject("scratchDir"), prefix));
}
