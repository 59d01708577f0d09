// Everything a piece of code prints while it runs: console calls and direct writes to stdout and stderr
// (Pulumi's log goes to the console when no engine is attached, as under the mock runtime).
const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug"] as const;

export async function capturePrinted(fn: () => unknown): Promise<string> {
  const chunks: string[] = [];
  const record = (...args: unknown[]) => {
    chunks.push(args.map((a) => (typeof a === "string" ? a : (JSON.stringify(a) ?? String(a)))).join(" "));
  };
  const saved = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
  const writes = [process.stdout, process.stderr].map((stream) => [stream, stream.write] as const);
  for (const method of CONSOLE_METHODS) console[method] = record;
  for (const [stream] of writes) {
    stream.write = ((chunk: unknown) => (record(String(chunk)), true)) as typeof stream.write;
  }
  try {
    await fn();
  } finally {
    for (const [method, original] of saved) console[method] = original;
    for (const [stream, original] of writes) stream.write = original;
  }
  return chunks.join("\n");
}
