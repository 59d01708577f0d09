// How setup scripts talk: progress on stderr with a prefix, failures as SetupError (message = problem + fix).
"use strict";

class SetupError extends Error {
  constructor(message) {
    super(message);
    this.name = "SetupError";
  }
}

function log(message) {
  process.stderr.write(`[neonhub-db] ${message}\n`);
}

/** Runs main(), turning a SetupError into its message and exit code 1 (no stack: the message is the help). */
function runMain(main) {
  Promise.resolve()
    .then(main)
    .then(
      (code) => process.exit(typeof code === "number" ? code : 0),
      (err) => {
        if (err instanceof SetupError) process.stderr.write(`[neonhub-db] error: ${err.message}\n`);
        else process.stderr.write(`[neonhub-db] unexpected error: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
      },
    );
}

module.exports = { SetupError, log, runMain };
