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

/**
 * After a command's result is printed, what is left is closing its connection, which the server does on its
 * own when the connection drops: a signal then changes nothing the result says. It is told to `tell` (a line
 * on stderr) instead of stopping the process, which ends as the result says (its exit code) once the
 * connection is closed; a second signal ends it at once, as the signal does by default. A signal stops the
 * process as before while an undoing registered here still waits to run. Returns what ends the hold.
 */
export function holdSignalsAfterResult(tell: (signal: NodeJS.Signals) => void): () => void {
  const release = () => {
    for (const s of SIGNALS) process.removeListener(s, onLateSignal);
  };
  function onLateSignal(signal: NodeJS.Signals): void {
    release();
    tell(signal);
  }
  for (const s of SIGNALS) process.on(s, onLateSignal);
  return release;
}
