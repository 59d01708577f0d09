// The engine's refusals found while the stack program runs (a migration file the release would refuse, read to
// build the release's manifest or to name the pre-release snapshot): a user's mistake, so a pulumi.RunError,
// which Pulumi's Node.js runtime prints as its message alone, once. Any other error thrown there is printed
// with its stack trace ("Running program ... failed with an unhandled exception"), which a bug keeps.
import * as pulumi from "@pulumi/pulumi";
import { isReleaseError } from "../core";

/** `read()` at program time, a ReleaseError it throws as a RunError: `<what>: <message and fix>`. */
export function refusedAtProgramTime<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isReleaseError(error)) throw new pulumi.RunError(`${what}: ${error.describe()}`);
    throw error;
  }
}
