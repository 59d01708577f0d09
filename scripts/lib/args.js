// node:util's parseArgs for the setup scripts, with each script's own error messages: `describe` turns the
// parser's refusal (an unknown option, a missing value) into the script's words.
"use strict";

const util = require("node:util");

/**
 * @param {string[]} argv
 * @param {import("node:util").ParseArgsConfig["options"]} options
 * @param {{ unknown: (arg: string) => Error, missingValue: (flag: string) => Error }} describe
 */
function parseCommandLine(argv, options, describe) {
  try {
    return util.parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // "Unknown option '--x'", "Option '--stack <value>' argument missing", "... argument is ambiguous ..."
    const flag = /'(?:-\w, )?(-{1,2}[\w-]+)/.exec(error.message || "")?.[1] ?? String(error.message);
    if (
      error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" &&
      !/does not take an argument/.test(error.message)
    )
      throw describe.missingValue(flag);
    throw describe.unknown(flag);
  }
}

module.exports = { parseCommandLine };
