// What must not be left on the server when the process is stopped. Ctrl-C (SIGINT) and a kill or a CI
// timeout (SIGTERM) end Node at once: no `finally` runs. Code that made such a thing (baseline's scratch
// database) registers its undoing here while the thing exists; on the signal the undoing runs, bounded in
// time, and the signal is then raised again, so the process ends as it would have (a shell sees 130 or 143).
// A second signal meanwhile ends it at once. SIGKILL cannot be caught: what it leaves, the next run finds.

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** How long the undoing may take before the process ends anyway. */
const UNDO_WITHIN_MS = 10_000;

type Undo = () => Promise<void>;

const registered = new Set<Undo>();

function onSignal(signal: NodeJS.Signals): void {
  // From now on the signal's default: a second Ctrl-C does not wait for the undoing.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  const undos = [...registered];
  registered.clear();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, UNDO_WITHIN_MS).unref());
  void Promise.race([Promise.allSettled(undos.map((undo) => undo())), deadline]).then(() => {
    process.kill(process.pid, signal);
  });
}

/**
 * Registers `undo` to run if SIGINT or SIGTERM stops the process; the function returned unregisters it (call
 * it once the thing is undone the ordinary way). `undo` must not throw for a thing already gone.
 */
export function undoOnInterrupt(undo: Undo): () => void {
  if (registered.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  registered.add(undo);
  return () => {
    if (!registered.delete(undo) || registered.size > 0) return;
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
