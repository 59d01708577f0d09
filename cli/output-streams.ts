// Where the CLI writes: the process's stdout and stderr, each of which a reader may close before the command
// ends (`neonhub-db health --json | head -1`, `apply 2>&1 | head`, `| grep -q`, a log collector that stopped).
// Node reports that as an EPIPE 'error' event that nothing handles: the process printed a stack (or nothing,
// stderr being the closed one) and exited 1 on the spot, an apply between two migrations. The reader going
// away is no failure of the command: what it would still have printed is dropped, and it runs to its end and
// exits with its own code. Any other write error stays Node's.

/** A line writer for `stream` that drops writes once its reader has gone (EPIPE). */
export function outputWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let readerGone = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    readerGone = true;
  });
  return (text) => {
    // destroyed: the failed write that raised the EPIPE already ended the stream, before the event arrives.
    if (!readerGone && !stream.destroyed) stream.write(text);
  };
}
