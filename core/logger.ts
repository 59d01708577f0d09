// The engine never writes to the console itself: callers hand it a Logger (the CLI prints to stderr, the
// dynamic providers to Pulumi's log, tests collect lines).

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

/** A logger that keeps every line, for tests and for summaries. */
export function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(`warning: ${m}`),
  };
}
