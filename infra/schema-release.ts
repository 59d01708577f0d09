// The schema release in the Pulumi graph: migrations ─► seed sets ─► vector indexes, three dynamic resources
// over the release engine, run as the migrator (never the admin) after the access layer. The release
// manifest is computed here, from the files, so that `pulumi preview` shows what is pending by name without
// a database. See docs/schema-release.md.
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  PROJECT_ROOT,
  buildReleaseManifest,
  defaultReleaseSteps,
  type DefaultStepOptions,
  type LockSafetySettings,
  type ReleaseEnvironment,
  type ReleaseSummary,
} from "../core";
import { SchemaMigrations } from "./dynamic/schema-migrations";
import { refusedAtProgramTime } from "./program-refusal";
import { SeedSets } from "./dynamic/seed-sets";
import { VectorIndexes } from "./dynamic/vector-indexes";
import { bytesChecksumMap, manifestMap, type ReleasePartArgs } from "./dynamic/part-args";

export interface SchemaReleaseArgs {
  /** The migrator's connection string (DIRECT_URL). Secret. The admin's must never be used here. */
  directUrl: pulumi.Input<string>;
  /** The NOLOGIN role that owns the schema; the release acts as it. */
  ownerRole: pulumi.Input<string>;
  /** Name of the application database. */
  database: pulumi.Input<string>;
  /** Seed sets to apply after the migrations, in order (folders of seeds/). None by default. */
  seedSets?: string[];
  /**
   * The release steps' other options (core/default-steps.ts: the row-level security mode, ...), as plain
   * JSON: they travel in the resources' inputs to the provider, which builds the same steps from them.
   */
  stepOptions?: Omit<DefaultStepOptions, "seedSets">;
  /** Drop the schema (every Down section) when the resources are deleted. False: destroy keeps the data. */
  dropOnDelete?: boolean;
  /** How long a release waits for another one holding the lock. Default 60 s. */
  lockTimeoutMs?: number;
  /** The stack's kind: on `production`, preview fails on a blocking migration (core/lint/). */
  environment?: ReleaseEnvironment;
  /** The migrations' lock_timeout, statement_timeout and retries; engine defaults when unset. */
  lockSafety?: Partial<LockSafetySettings>;
  /** How long to wait for the server to accept a connection. Default 10 s. */
  connectTimeoutMs?: number;
  /** The migrations folder, relative to the project root. Default `migrations`. */
  migrationsDir?: string;
}

export const SCHEMA_RELEASE_DEFAULTS = {
  seedSets: [] as string[],
  dropOnDelete: false,
  lockTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  migrationsDir: "migrations",
};

export class SchemaRelease extends pulumi.ComponentResource {
  public readonly migrations: SchemaMigrations;
  public readonly seeds: SeedSets;
  public readonly vectorIndexes: VectorIndexes;
  /** Applied migrations, last migration, row-level security, seed sets and vector indexes, as recorded. */
  public readonly summary: pulumi.Output<ReleaseSummary>;

  constructor(name: string, args: SchemaReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:SchemaRelease", name, args, opts);
    const migrationsDir = args.migrationsDir ?? SCHEMA_RELEASE_DEFAULTS.migrationsDir;
    // Every part gets every option: each builds the project's steps and applies those it owns. An option
    // that matters to a part changes that part's manifest, which is what its diff compares.
    const steps = { ...args.stepOptions, seedSets: args.seedSets ?? SCHEMA_RELEASE_DEFAULTS.seedSets };
    const manifest = releaseManifest(migrationsDir, steps);
    const common: ReleasePartArgs = {
      databaseUrl: pulumi.secret(args.directUrl),
      database: args.database,
      ownerRole: args.ownerRole,
      migrationsDir,
      steps,
      lockTimeoutMs: args.lockTimeoutMs ?? SCHEMA_RELEASE_DEFAULTS.lockTimeoutMs,
      connectTimeoutMs: args.connectTimeoutMs ?? SCHEMA_RELEASE_DEFAULTS.connectTimeoutMs,
      dropOnDelete: args.dropOnDelete ?? SCHEMA_RELEASE_DEFAULTS.dropOnDelete,
      ...(args.environment ? { environment: args.environment } : {}),
      ...(args.lockSafety ? { lockSafety: args.lockSafety } : {}),
      // Not a setting of the release: no diff line, no update (infra/dynamic/diff.ts compares settings only).
      stack: pulumi.getStack(),
    };

    // A component's dependsOn does not reach its children: the first one takes it, the others follow it.
    this.migrations = new SchemaMigrations(
      `${name}-migrations`,
      {
        ...common,
        migrations: manifestMap(manifest.migrations),
        migrationBytesChecksums: bytesChecksumMap(manifest.migrations),
        rowLevelSecurity: manifestMap(manifest.rowLevelSecurity),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.seeds = new SeedSets(
      `${name}-seeds`,
      { ...common, seedSets: manifestMap(manifest.seedSets) },
      { parent: this, dependsOn: [this.migrations] },
    );
    this.vectorIndexes = new VectorIndexes(
      `${name}-vector-indexes`,
      { ...common, vectorIndexes: manifestMap(manifest.vectorIndexes) },
      { parent: this, dependsOn: [this.seeds] },
    );

    this.summary = pulumi
      .all([
        this.migrations.appliedMigrations,
        this.migrations.lastMigration,
        this.migrations.status,
        this.seeds.status,
        this.vectorIndexes.status,
      ])
      .apply(
        ([appliedMigrations, lastMigration, security, seeds, indexes]): ReleaseSummary => ({
          appliedMigrations: appliedMigrations ?? 0,
          lastMigration: lastMigration ?? null,
          rowLevelSecurity: security ?? [],
          seedSets: seeds ?? [],
          vectorIndexes: indexes ?? [],
        }),
      );
    this.registerOutputs({ summary: this.summary });
  }
}

/** The release's identity from the files, or a clean error naming the file (no stack trace in preview). */
function releaseManifest(migrationsDir: string, steps: DefaultStepOptions) {
  return refusedAtProgramTime("Schema release", () =>
    buildReleaseManifest({
      migrationsDir: path.resolve(PROJECT_ROOT, migrationsDir),
      steps: defaultReleaseSteps(steps),
    }),
  );
}
