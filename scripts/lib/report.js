// How setup scripts talk: progress on stderr with a prefix, failures as SetupError (message = problem + fix).
"use strict";

class SetupError extends Error {
  /**
   * @param {string} message the problem and its fix
   * @param {{ code?: string, fix?: string | null }} [error] the release engine's own error code and fix, when
   *   the failure is a neonhub-db command's (its --json error document), for the --json document to keep
   */
  constructor(message, error = {}) {
    super(message);
    this.name = "SetupError";
    this.code = error.code ?? "setup";
    this.fix = error.fix ?? null;
  }
}

function log(message) {
  process.stderr.write(`[neonhub-db] ${message}\n`);
}

/**
 * The --json document of a failed run, in the shape of neonhub-db's (cli/error-document.ts): `error.code` is
 * the engine's own when an engine command failed, `setup` for a setup step's problem (its message holds the
 * fix), `internal` for a bug; `warnings` is empty, as progress is not a warning.
 */
function errorDocument(err) {
  if (err instanceof SetupError) {
    return { error: { code: err.code, message: err.message, fix: err.fix }, warnings: [] };
  }
  return {
    error: {
      code: "internal",
      message: String(err),
      fix: "This is a bug in the setup scripts: report it with the command you ran and its stderr (the stack trace).",
    },
    warnings: [],
  };
}

/**
 * Runs main(), turning a SetupError into its message and exit code 1 (no stack: the message is the help).
 * `json`: the run was asked for --json, which promises one JSON document on stdout, a failure's included (as
 * neonhub-db's commands print theirs); stderr says it as without --json.
 */
function runMain(main, { json = false } = {}) {
  Promise.resolve()
    .then(main)
    .then(
      (code) => process.exit(typeof code === "number" ? code : 0),
      (err) => {
        if (err instanceof SetupError) process.stderr.write(`[neonhub-db] error: ${err.message}\n`);
        else process.stderr.write(`[neonhub-db] unexpected error: ${err && err.stack ? err.stack : err}\n`);
        if (json) process.stdout.write(`${JSON.stringify(errorDocument(err), null, 2)}\n`);
        process.exit(1);
      },
    );
}

module.exports = { SetupError, errorDocument, log, runMain };
