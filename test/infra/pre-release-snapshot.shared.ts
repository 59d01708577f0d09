// The pre-release snapshot as the prod program builds it, for RDS and for Aurora (one program per test file:
// the mock runtime runs a program once per process).
import { beforeAll, describe, expect, it } from "vitest";
import type * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MIGRATIONS_DIR, readMigrationFiles } from "../../core";
import { preReleaseSnapshotName } from "../../infra/pre-release-snapshot";
import { MockWorld, installMocks, promiseOf, runProgram, stackConfig } from "./harness";

export function describePreReleaseSnapshot(
  kind: string,
  type: string,
  sourceKey: string,
  nameKey: string,
  extraConfig: Record<string, string>,
): void {
  describe(`prod stack (${kind}): pre-release snapshot`, () => {
    let world: MockWorld;
    let program: Record<string, unknown>;
    beforeAll(async () => {
      world = await installMocks({
        stack: "prod",
        config: stackConfig("prod", {
          "neonhub-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
          ...extraConfig,
        }),
      });
      program = await runProgram(() => import("../../index"));
    });

    it("takes a snapshot named after the release, kept in AWS when replaced or destroyed", async () => {
      const snapshot = world.one(type);
      const expected = preReleaseSnapshotName("neonhub-db-prod", readMigrationFiles(DEFAULT_MIGRATIONS_DIR));
      expect(snapshot.inputs[sourceKey]).toBe("neonhub-db-prod");
      expect(snapshot.inputs[nameKey]).toBe(expected);
      expect(snapshot.opts.retainOnDelete).toBe(true);
      expect(await promiseOf(program.preReleaseSnapshotId as pulumi.Output<string>)).toBe(expected);
    });

    it("runs the migrations only after the snapshot", () => {
      const migrationsResource = world.resources.find((r) => r.name === "schema-migrations");
      expect(migrationsResource).toBeDefined();
      const dependsOn = [migrationsResource!.opts.dependsOn].flat() as pulumi.Resource[];
      expect(dependsOn.some((r) => r.constructor.name === "PreReleaseSnapshot")).toBe(true);
      expect(dependsOn.some((r) => r.constructor.name === "DatabaseAccess")).toBe(true);
    });
  });
}
