// The schema release's dynamic resources as the program registers them, captured under Pulumi's mock runtime:
// their inputs, among them `__provider`, the provider serialized by Pulumi's closure serializer. These are
// exactly the properties the engine hands the dynamic-provider host.
import * as pulumi from "@pulumi/pulumi";
import type { SchemaReleaseArgs } from "../../../infra/schema-release";
import type { ReleasePart } from "../../../infra/dynamic/types";
import { installMocks, settle, type Inputs, type MockWorld } from "../../infra/harness";

export const DYNAMIC_TYPES: Record<ReleasePart, string> = {
  migrations: "pulumi-nodejs:dynamic/neonhub:SchemaMigrations",
  seedSets: "pulumi-nodejs:dynamic/neonhub:SeedSets",
  vectorIndexes: "pulumi-nodejs:dynamic/neonhub:VectorIndexes",
};

/** A URN of the form the engine sends; the host does not interpret it. */
export function urnOf(part: ReleasePart, name: string): string {
  return `urn:pulumi:test::neonhub-db::neonhub:db:SchemaRelease$${DYNAMIC_TYPES[part]}::${name}`;
}

/**
 * Runs `work` and fails (instead of hanging) when Pulumi's serializer rejects a promise nobody awaits, which
 * is how a provider that cannot be serialized shows under the mock runtime.
 */
export async function guardUnhandledRejections<T>(work: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  let onRejection: ((reason: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_, reject) => {
    onRejection = (reason) =>
      reject(
        new Error(
          `unhandled rejection under the mock runtime: ${(reason as Error)?.stack ?? String(reason)}`,
        ),
      );
    process.on("unhandledRejection", onRejection);
    timer = setTimeout(
      () => reject(new Error(`the mock runtime did not settle within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work(), failure]);
  } finally {
    if (onRejection) process.off("unhandledRejection", onRejection);
    clearTimeout(timer);
  }
}

let world: MockWorld | undefined;

/** Registers a SchemaRelease named `name` under the mock runtime; returns each dynamic resource's inputs. */
export async function releaseInputs(
  name: string,
  args: SchemaReleaseArgs,
): Promise<Record<ReleasePart, Inputs>> {
  world ??= await installMocks({ stack: "test", config: {} });
  const mocked = world;
  const { SchemaRelease } = await import("../../../infra/schema-release");
  return guardUnhandledRejections(async () => {
    const release = new SchemaRelease(name, args);
    await new Promise((resolve) => pulumi.all([release.urn, release.summary]).apply(resolve));
    await settle();
    const inputs = (part: ReleasePart, suffix: string) =>
      mocked.one(DYNAMIC_TYPES[part], `${name}-${suffix}`).inputs;
    return {
      migrations: inputs("migrations", "migrations"),
      seedSets: inputs("seedSets", "seeds"),
      vectorIndexes: inputs("vectorIndexes", "vector-indexes"),
    };
  });
}
