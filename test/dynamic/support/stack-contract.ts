// What every stack's program must do with the schema release, checked on a mock-runtime run of index.ts.
import { homedir, tmpdir } from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";
import { PROJECT_ROOT } from "../../../core";
import { promiseOf } from "../../infra/harness";
import type { ProgramRun } from "./program";
import { DYNAMIC_TYPES } from "./release-inputs";

const ACCESS = "neonhub:db:DatabaseAccess";
const RELEASE = "neonhub:db:SchemaRelease";

/** The three dynamic resources run after every resource of the access layer, one after the other. */
export function expectOrderedAfterAccess(run: ProgramRun): void {
  const access = run.one(ACCESS);
  const release = run.one(RELEASE, "schema");
  const accessChildren = run.registrations.filter((r) => r.parent === access.urn).map((r) => r.urn);
  expect(accessChildren.length).toBeGreaterThan(10);

  const migrations = run.one(DYNAMIC_TYPES.migrations, "schema-migrations");
  const seeds = run.one(DYNAMIC_TYPES.seedSets, "schema-seeds");
  const indexes = run.one(DYNAMIC_TYPES.vectorIndexes, "schema-vector-indexes");
  for (const part of [migrations, seeds, indexes]) expect(part.parent).toBe(release.urn);
  // Every role, grant, default privilege and extension: none may still be missing when migrations run.
  expect(migrations.dependencies).toEqual(expect.arrayContaining(accessChildren));
  expect(seeds.dependencies).toContain(migrations.urn);
  expect(indexes.dependencies).toContain(seeds.urn);
  expect(run.registrations.indexOf(migrations)).toBeGreaterThan(run.registrations.indexOf(access));
}

/** Runs as the migrator, with the secret kept secret, and a provider that captured nothing of this run. */
export function expectMigratorAndCleanProvider(run: ProgramRun, extraSecrets: string[] = []): void {
  for (const type of Object.values(DYNAMIC_TYPES)) {
    const resource = run.world.one(type);
    expect(resource.secretInputs.has("databaseUrl"), `${type} databaseUrl is secret`).toBe(true);
    const url = new URL(resource.inputs.databaseUrl as string);
    expect(url.username).toBe("neonhub_migrator");
    expect(run.world.passwords).toContain(decodeURIComponent(url.password));
    expect(resource.inputs).toMatchObject({
      ownerRole: "neonhub_owner",
      database: "neonhub",
      migrationsDir: "migrations",
    });

    const provider = resource.inputs.__provider as string;
    expect(resource.secretInputs.has("__provider"), `${type} provider captured no secret`).toBe(false);
    expect(provider).toContain("exports.handler");
    for (const secret of [...run.world.passwords, ...extraSecrets]) expect(provider).not.toContain(secret);
    // No path of the machine that ran the program: the host resolves everything from the project root.
    for (const local of [PROJECT_ROOT, homedir(), tmpdir()]) expect(provider).not.toContain(local);
    expect(provider).not.toMatch(/node-pg-migrate|require\("pg"\)/);
  }
}

/** `schemaRelease` is a non-secret stack output with the release summary's shape. */
export async function expectSummaryOutput(run: ProgramRun): Promise<void> {
  const output = run.program.schemaRelease as pulumi.Output<unknown>;
  expect(pulumi.Output.isInstance(output)).toBe(true);
  expect(await pulumi.isSecret(output)).toBe(false);
  expect(Object.keys((await promiseOf(output)) as object).sort()).toEqual([
    "appliedMigrations",
    "lastMigration",
    "rowLevelSecurity",
    "seedSets",
    "vectorIndexes",
  ]);
}
