// The corpus and readings the tenant-share tests share: one tenant holding every row of a 16-dimension table
// with the real default exact threshold (10,000 visible rows), calibrated, then grown or outgrown by others
// (single-tenant-share, single-tenant-growth, multi-tenant-share).
import { expect } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  checkHealth,
  EMBEDDING_TABLES,
  defaultReleaseSteps,
  planRelease,
  readSearchCalibrations,
  releaseStatus,
} from "../../core";
import type { ReleasedDatabase } from "../security/released-database";
import type { CorpusShape } from "./corpus";
import type { ClientBase } from "pg";

export const ONE_TENANT_SHAPE: CorpusShape = {
  rows: 12_000,
  dimension: 16,
  organizations: 1,
  topics: 40,
  topicsPerOrganization: 3,
  latentDimension: 8,
  spread: 1,
  noise: 0.1,
  seed: 23,
};

/** New tenants, each below the exact threshold, together taking the first tenant's share to about half. */
export const NEW_TENANTS = 11;
export const NEW_TENANT_ROWS = 1_080;

/** The embedded table these tests search. */
export const CHUNK = EMBEDDING_TABLES[0]!;

/** The release's steps, without seed sets. */
export const releaseSteps = () => defaultReleaseSteps({ seedSets: [] });

/** What plan would do with the chunks' vector index. */
export async function chunkIndexPlan(target: { readonly current: ReleasedDatabase }) {
  const plan = await planRelease({
    databaseUrl: target.current.roles.url("migrator"),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    ownerRole: target.current.roles.names.owner,
    steps: releaseSteps(),
  });
  return plan.vectorIndexes.find((i) => i.name === CHUNK.indexName);
}

/** What status says of the chunks' tenant search. */
export async function chunkTenantSearchInStatus(target: { readonly current: ReleasedDatabase }) {
  const status = await releaseStatus({
    databaseUrl: target.current.roles.url("migrator"),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    steps: releaseSteps(),
  });
  return status.vectorIndexes.find((v) => v.name === CHUNK.indexName)?.tenantSearch;
}

/** The chunks' index's calibration record. */
export async function chunkCalibration(owner: ClientBase) {
  return (await readSearchCalibrations(owner)).find((c) => c.indexName === CHUNK.indexName);
}

/** Plan, `status` and `health` each name `who` (a tenant as they print it) as a reason to calibrate again. */
export async function expectRecalibrationFor(target: { readonly current: ReleasedDatabase }, who: string) {
  const plan = await chunkIndexPlan(target);
  expect(plan, plan?.reason).toMatchObject({ action: "update", reason: expect.stringContaining(who) });
  expect((await chunkTenantSearchInStatus(target))?.crossedThreshold).toContain(who);
  const health = await checkHealth({
    databaseUrl: target.current.roles.url("migrator"),
    steps: releaseSteps(),
  });
  expect(health.healthy).toBe(false);
  expect(health.findings).toContainEqual(
    expect.objectContaining({
      severity: "action",
      subject: CHUNK.indexName,
      problem: expect.stringContaining(who),
    }),
  );
}
