// A decimal vector-index option set the documented way on a stack: Pulumi stores a decimal as a string in
// the stack's file (even with --type float), so the program gets "0.9" and takes it as the number it is,
// with the same range check; a JSON --config or --set, which can write a number, still refuses "0.9".
import { beforeAll, describe, expect, it } from "vitest";
import {
  ReleaseError,
  completeVectorIndexOptions,
  resolveReleaseSettings,
  settingFromFlag,
} from "../../core";
import { InvalidConfigError, parseStackConfig } from "../../infra/config";
import { runStack, type ProgramRun } from "./support/program";
import { DYNAMIC_TYPES } from "./support/release-inputs";

const ADMIN_URL = "postgresql://postgres:LocalAdminSecret0123456789@127.0.0.1:54329/postgres";

let run: ProgramRun;

beforeAll(async () => {
  run = await runStack(
    "local",
    {
      "neonhub-db:adminUrl": ADMIN_URL,
      // What `pulumi config set --path 'neonhub-db:vectorIndexes.targetRecall' 0.9` leaves for the program.
      "neonhub-db:vectorIndexes": '{"method":"hnsw","targetRecall":"0.9"}',
    },
    ["neonhub-db:adminUrl"],
  );
});

describe("a decimal option Pulumi stored as a string", () => {
  it("reaches the release as a number", () => {
    expect(run.world.one(DYNAMIC_TYPES.vectorIndexes).inputs.steps).toMatchObject({
      vectorIndexes: completeVectorIndexOptions({ method: "hnsw", targetRecall: 0.9 }),
    });
  });

  it("gets the number's range check on the stack", () => {
    let error: unknown;
    try {
      parseStackConfig({
        stack: "local",
        values: { adminUrl: ADMIN_URL, vectorIndexes: '{"targetRecall":"1.5"}' },
        isSecret: (key) => key === "adminUrl",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as Error).message).toContain(
      "neonhub-db:vectorIndexes.targetRecall: must be a recall above 0 and at most 1 (got 1.5)",
    );
  });

  it("is still refused from the CLI, which can write a number", () => {
    expect(() =>
      resolveReleaseSettings(settingFromFlag('vectorIndexes.targetRecall="0.9"'), "--set"),
    ).toThrow(ReleaseError);
    expect(() =>
      resolveReleaseSettings({ vectorIndexes: { targetRecall: "0.9" } }, "--config r.json"),
    ).toThrow(/vectorIndexes\.targetRecall must be a number \(got a string of 3 characters\)/);
  });
});
