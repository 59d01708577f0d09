// How hard the pack enforces, per stack: a violation blocks `pulumi up` on production and is only reported on
// the stacks that exist to experiment. The Pulumi CLI starts the pack with the stack's name in its environment
// (PULUMI_STACK, and PULUMI_NODEJS_STACK for Node.js packs), so the level follows the stack with no flag to
// forget. A stack this file does not know is treated as production.
import type { EnforcementLevel } from "@pulumi/policy";

/** Stacks on which violations are advisory. */
export const ADVISORY_STACKS: ReadonlySet<string> = new Set(["dev", "local"]);

/** The stack the CLI runs the pack for, or undefined when it is not run by the CLI (e.g. `policy publish`). */
export function stackFromEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  return env.PULUMI_STACK || env.PULUMI_NODEJS_STACK || undefined;
}

/** "advisory" for the stacks in ADVISORY_STACKS, "mandatory" for every other stack and for none. */
export function enforcementLevelForStack(stack: string | undefined): EnforcementLevel {
  // A fully qualified name ("acme/neonhub-db/dev") ends with the stack's own name.
  const name = stack?.split("/").pop();
  return name !== undefined && ADVISORY_STACKS.has(name) ? "advisory" : "mandatory";
}
