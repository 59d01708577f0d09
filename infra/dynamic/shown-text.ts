// Every text the schema-release provider hands to Pulumi, masked in one place: check's failures, a thrown
// error's message (and the reasons and outputs of a failed create or update), the outputs it records, and the
// lines it writes to the host's stderr, which the Pulumi CLI prints. Pulumi shows all of them in the clear in a
// preview or an up (outputs not marked secret are stored and printed as they are), and the engine's texts
// may quote what an operator wrote: a migration's comment, a statement, a setting. Here too a text's `<stack>`
// note, which each printed command of an old state's message carries, is said once (stack-name.ts).
import type * as pulumi from "@pulumi/pulumi";
import { isReleaseError, redactSecrets } from "../../core";
import { DescribedFailure } from "./failure";
import { oneStackNote } from "./stack-name";

type Props = Record<string, unknown>;

/** Where the host's stderr is written: the Pulumi CLI's output. */
type Writer = (text: string) => void;

/**
 * The connection strings this call may echo whole: its databaseUrl input and DIRECT_URL (read and delete
 * connect with it). Given to redactSecrets, a password with a space or a quote, which its pattern would end
 * early, is masked whole as well.
 */
export function givenUrls(props: Props): string[] {
  return [props.databaseUrl, process.env.DIRECT_URL].filter(
    (url): url is string => typeof url === "string" && url !== "",
  );
}

/** A text for Pulumi, its passwords masked and its `<stack>` note said once. */
export function shownText(text: string, given: readonly string[]): string {
  return redactSecrets(oneStackNote(text), given);
}

/**
 * A value for Pulumi with every string in it masked: the recorded outputs (a last run's error, drift, a pending
 * item's reason). Keys are left as they are (file and item names); so is `__provider`, the provider's own code.
 */
export function shownValue<T>(value: T, given: readonly string[]): T {
  if (typeof value === "string") return shownText(value, given) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => shownValue(item, given)) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, key === "__provider" ? item : shownValue(item, given)]),
  ) as T;
}

/** Check's failures with their reasons masked (the property names an input, never its value). */
export function shownCheck(
  result: pulumi.dynamic.CheckResult,
  given: readonly string[],
): pulumi.dynamic.CheckResult {
  if (!result.failures) return result;
  return {
    ...result,
    failures: result.failures.map((f) => ({ ...f, reason: shownText(f.reason, given) })),
  };
}

/**
 * An error for Pulumi: its message masked (the engine shows it as the resource's error). A failed create or
 * update's `id`, `properties` and `reasons` (the outputs the engine records, ErrorResourceInitFailed) are kept,
 * masked too. What the dynamic-provider host prints of it is decided here as well (hostLine): a user's mistake
 * without a stack trace, a bug with its own.
 */
export function shownError(error: unknown, given: readonly string[]): Error {
  const message = shownText(error instanceof Error ? error.message : String(error), given);
  const shown = hostLine(new Error(message), originOf(error), given);
  const failure = (error ?? {}) as { id?: unknown; properties?: unknown; reasons?: unknown };
  if (typeof failure.id === "string") {
    Object.assign(shown, {
      id: failure.id,
      properties: shownValue(failure.properties ?? {}, given),
      reasons: Array.isArray(failure.reasons) ? shownValue(failure.reasons, given) : [],
    });
  }
  return shown;
}

/** The error first thrown: the one a handler's DescribedFailure describes, else the error itself. */
function originOf(error: unknown): unknown {
  let origin = error;
  while (origin instanceof DescribedFailure) origin = origin.cause;
  return origin;
}

/**
 * The line the dynamic-provider host writes to its stderr, `${error}: ${error.stack}` (its check, diff, read
 * and delete do; create and update do not), which the Pulumi CLI shows under the stack, while the engine shows
 * the message as the resource's error. A user's mistake (a ReleaseError, the engine's refusals and failures
 * with their fix) is printed there once, by the engine: the host's line names its code only, with no stack
 * trace and not the message again. Anything else is a bug, and the line keeps the stack trace where it was
 * thrown (masked), not the frames of this function.
 */
function hostLine(shown: Error, origin: unknown, given: readonly string[]): Error {
  if (isReleaseError(origin)) {
    shown.stack = `${origin.code} error, shown as the resource's error`;
    shown.toString = () => "neonhub-db";
  } else if (origin instanceof Error && origin.stack) {
    shown.stack = shownText(origin.stack, given);
  }
  return shown;
}

/** Runs one provider method, every text it hands back or throws masked. */
export async function shownResult<T>(
  given: readonly string[],
  run: () => Promise<T>,
  shown: (result: T) => T = (result) => shownValue(result, given),
): Promise<T> {
  try {
    return shown(await run());
  } catch (error) {
    throw shownError(error, given);
  }
}

/** A line for the host's stderr, masked. */
export function writeShown(
  line: string,
  given: readonly string[],
  write: Writer = (t) => process.stderr.write(t),
) {
  write(`${shownText(line, given)}\n`);
}
