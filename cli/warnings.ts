// The CLI's logger: progress and warnings on stderr, and each warning kept, so that a command's --json
// document holds the warnings too (`warnings`) and CI reading stdout alone sees what a person sees on stderr.
import type { Logger } from "../core";

export interface WarningLogger extends Logger {
  /** Every warning written so far, in order, as its stderr line says it (without the prefix). */
  readonly warnings: readonly string[];
}

export function warningLogger(stderrLine: (line: string) => void): WarningLogger {
  const warnings: string[] = [];
  return {
    warnings,
    info: (m) => stderrLine(`[neonhub-db] ${m}`),
    warn: (m) => {
      warnings.push(m);
      stderrLine(`[neonhub-db] warning: ${m}`);
    },
  };
}
