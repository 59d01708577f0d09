// What every schema-release resource takes, and how its inputs are laid out for the provider.
import * as pulumi from "@pulumi/pulumi";
import type { Manifest, Manifests, MigrationBytesChecksums, ReleasePart, StepSettings } from "./types";

export interface ReleasePartArgs {
  /** The migrator's connection string (DIRECT_URL). Secret; never the admin's. */
  databaseUrl: pulumi.Input<string>;
  /** Name of the application database. */
  database: pulumi.Input<string>;
  /** The role that owns the schema: the release acts as it (SET ROLE). */
  ownerRole: pulumi.Input<string>;
  /** The migrations folder, relative to the project root. */
  migrationsDir: string;
  /** Options of the project's release steps (core/default-steps.ts): the seed sets, ... */
  steps: StepSettings;
  /** How long to wait for another release holding the lock. */
  lockTimeoutMs: number;
  /** How long to wait for the server to accept a connection. */
  connectTimeoutMs: number;
  /** Whether deleting the resource drops what it created; by default Pulumi only forgets it. */
  dropOnDelete: boolean;
  /** The stack's kind for the migration safety lint (`production` fails preview on a blocking migration). */
  environment?: string;
  /** The migrations' lock_timeout, statement_timeout and retries, in milliseconds and counts. */
  lockSafety?: Record<string, number>;
  /** The stack the program runs for, which the commands the provider's fixes print name (`--stack`). */
  stack: string;
}

/** Output properties every part records (declared so the SDK exposes them). */
const COMMON_OUTPUTS = ["target", "connection", "status", "pending", "lastRun"] as const;

/** The dynamic resource's properties: inputs, the part's manifests, and its outputs declared as undefined. */
export function partProperties(
  part: ReleasePart,
  args: ReleasePartArgs,
  manifests: Manifests & MigrationBytesChecksums,
  outputs: readonly string[] = [],
): pulumi.Inputs {
  const declared = Object.fromEntries([...COMMON_OUTPUTS, ...outputs].map((key) => [key, undefined]));
  return { ...declared, ...args, ...manifests, databaseUrl: pulumi.secret(args.databaseUrl), part };
}

/** The name → checksum map of a core manifest list. */
export function manifestMap(entries: readonly { name: string; checksum: string }[]): Manifest {
  return Object.fromEntries(entries.map((entry) => [entry.name, entry.checksum]));
}

/** The name → sha256 of its bytes of each migration whose checksum is not that (it holds exemption comments). */
export function bytesChecksumMap(entries: readonly { name: string; bytesChecksum?: string }[]): Manifest {
  return Object.fromEntries(
    entries.flatMap((entry) => (entry.bytesChecksum ? [[entry.name, entry.bytesChecksum]] : [])),
  );
}
