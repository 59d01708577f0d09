// The CLI and `pulumi up` never disagree about the release settings: a database released through the dynamic
// providers with `vectorIndexes.method: hnsw` is planned by `neonhub-db plan` (given no settings) with the
// settings the release recorded, so it says nothing to do; a deliberate change of a setting shows as such,
// in the CLI's plan and in the provider's diff (the preview).
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeVectorIndexOptions, type ReleasePlan } from "../../core";
import type { ReleasePart } from "../../infra/dynamic/types";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import { projectCopy } from "./support/project-copy";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const PARTS: ReleasePart[] = ["migrations", "seedSets", "vectorIndexes"];
const URN = Object.fromEntries(PARTS.map((part) => [part, urnOf(part, `recorded-${part}`)])) as Record<
  ReleasePart,
  string
>;

describe("release settings recorded by `pulumi up`, read by `neonhub-db plan`", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Record<ReleasePart, Props>;
  const state: Partial<Record<ReleasePart, { id: string; properties: Props }>> = {};

  // As the stack plans: acting as its owner role, which owns what the providers released (this migrator does
  // not become it at login).
  const plan = async (...extra: string[]) => {
    const run = await runCli(["plan", "--seed", "demo", "--json", "--owner-role", db.owner, ...extra], {
      DATABASE_URL: db.migratorUrl,
    });
    return { ...run, plan: run.code === 1 ? undefined : (JSON.parse(run.stdout) as ReleasePlan) };
  };

  beforeAll(async () => {
    const root = projectCopy();
    db = await createReleaseDatabase({ extensions: true });
    inputs = await releaseInputsFor("recorded", db, {
      seedSets: ["demo"],
      stepOptions: { vectorIndexes: completeVectorIndexOptions({ method: "hnsw" }) },
    });
    host = await hostReaching(db, root);
    for (const part of PARTS) state[part] = await host.create(URN[part], inputs[part]);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("the providers built HNSW indexes and recorded the settings they applied", async () => {
    const recorded = await withClient(db.superuserUrl, async (client) => {
      const indexes = await client.query<{ def: string }>(
        "SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'idx_chunk_embedding_cosine'",
      );
      const settings = await client.query<{ value: { method: string } }>(
        "SELECT value FROM neonhub_release.release_settings WHERE section = 'vectorIndexes'",
      );
      return { index: indexes.rows[0]?.def, settings: settings.rows[0]?.value };
    });
    expect(recorded.index).toContain("USING hnsw");
    expect(recorded.settings).toMatchObject({ method: "hnsw", concurrently: false, targetRecall: 0.95 });
  });

  it("`neonhub-db plan` with no settings plans with the recorded ones: nothing to do", async () => {
    const { code, plan: result, stderr } = await plan();
    expect(stderr).not.toContain("error");
    expect(code).toBe(0);
    expect(result?.pending).toBe(false);
    expect(result?.vectorIndexes.map((i) => i.action)).toEqual(["unchanged", "unchanged"]);
  });

  it("a deliberate change shows as a change of the setting, in the CLI's plan", async () => {
    const { code, plan: result } = await plan("--set", "vectorIndexes.method=ivfflat");
    expect(code).toBe(2);
    expect(result?.vectorIndexes).toEqual(
      expect.arrayContaining([
        {
          name: "setting vectorIndexes.method",
          action: "update",
          reason: "hnsw -> ivfflat",
          decision: "setting",
        },
        expect.objectContaining({
          name: "idx_chunk_embedding_cosine",
          action: "rebuild",
          decision: "rebuild",
        }),
      ]),
    );
    // The same change from a settings file, in YAML.
    const file = path.join(tmpdir(), `release-settings-${process.pid}.yaml`);
    writeFileSync(file, "vectorIndexes:\n  method: ivfflat\n");
    const fromFile = await plan("--config", file);
    expect(fromFile.code).toBe(2);
    expect(fromFile.plan?.vectorIndexes[0]).toEqual(result?.vectorIndexes[0]);
  });

  it("and in the provider's diff, which `pulumi preview` prints", async () => {
    const current = state.vectorIndexes!;
    const ivfflat = {
      ...inputs.vectorIndexes,
      steps: {
        ...(inputs.vectorIndexes.steps as Props),
        vectorIndexes: completeVectorIndexOptions({ method: "ivfflat" }),
      },
    };
    const unchanged = await host.diff(
      URN.vectorIndexes,
      current.id,
      current.properties,
      inputs.vectorIndexes,
    );
    expect(unchanged.changes).toBe("none");
    const diff = await host.diff(URN.vectorIndexes, current.id, current.properties, ivfflat);
    expect(diff.changes).toBe("some");
    await host.waitFor("setting vectorIndexes.method: hnsw -> ivfflat");
  });

  it("refuses a misspelt setting and values of the wrong type, naming the key, the value and an example", async () => {
    const cases: [string[], RegExp][] = [
      [["--set", "vectorIndexes.metod=hnsw"], /vectorIndexes\.metod is not a setting \(got "hnsw"\)/],
      [
        ["--set", "vectorIndexes.concurrently=no"],
        /vectorIndexes\.concurrently must be true or false \(got "no"\)/,
      ],
      [
        ["--set", 'vectorIndexes.targetRecall="0.9"'],
        /vectorIndexes\.targetRecall must be a number \(got "0\.9"\)/,
      ],
      [["--set", "vectorIndex.method=hnsw"], /vectorIndex is not a release setting/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout } = await runCli(["plan", "--json", ...args], { DATABASE_URL: db.migratorUrl });
      expect(code).toBe(1);
      const { error } = JSON.parse(stdout) as { error: { code: string; message: string; fix: string } };
      expect(error.code).toBe("invalid-input");
      expect(error.message).toMatch(message);
      expect(error.fix).toMatch(/example/i);
    }
  });
});
