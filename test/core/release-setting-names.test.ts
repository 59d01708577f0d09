// Keys of release settings as --set and --config give them: every key the user wrote is either used or
// refused by name, never dropped.
import { describe, expect, it } from "vitest";
import { ReleaseError, mergeSettings, resolveReleaseSettings, settingFromFlag } from "../../core";
import { runCli } from "../support/cli";

/** The error resolving these --set flags gives, as the CLI resolves them. */
function refusal(...flags: string[]): ReleaseError {
  try {
    resolveReleaseSettings(mergeSettings(...flags.map(settingFromFlag)), "--set");
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error(`expected ${flags.join(" ")} to be refused`);
}

describe("keys an object's prototype also has", () => {
  it("are refused by name, at the top and inside vectorIndexes", () => {
    expect(refusal("__proto__.x=1").message).toBe('--set: __proto__ is not a release setting (got {"x":1}).');
    expect(refusal("vectorIndexes.__proto__.method=hnsw").message).toBe(
      '--set: vectorIndexes.__proto__ is not a setting (got {"method":"hnsw"}).',
    );
    expect(refusal("vectorIndexes.constructor=1").message).toBe(
      "--set: vectorIndexes.constructor is not a setting (got 1).",
    );
    expect(refusal("vectorIndexes.indexes.idx_chunk_embedding_cosine.toString=1").message).toBe(
      "--set: vectorIndexes.indexes.idx_chunk_embedding_cosine.toString is not a setting (got 1).",
    );
  });

  it("make the CLI exit 1 before it connects", async () => {
    const run = await runCli(["plan", "--json", "--set", "__proto__.x=1"], {
      DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none",
    });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain("__proto__ is not a release setting");
  });
});

describe("a mistyped key", () => {
  it("is refused with the name it is nearest, at every level", () => {
    const cases: [string, string][] = [
      ["rowLevelSecurty=off", "Did you mean rowLevelSecurity? "],
      ["vectorIndex.method=hnsw", "Did you mean vectorIndexes? "],
      ["vectorIndexes.metod=hnsw", "Did you mean vectorIndexes.method? "],
      [
        "vectorIndexes.indexes.idx_chunk_embedding_cosine.efconstruction=80",
        "Did you mean vectorIndexes.indexes.idx_chunk_embedding_cosine.efConstruction? ",
      ],
      [
        "vectorIndexes.indexes.idx_chunk_embeding_cosine.m=20",
        "Did you mean vectorIndexes.indexes.idx_chunk_embedding_cosine? ",
      ],
    ];
    for (const [flag, hint] of cases)
      expect(refusal(flag).fix, flag).toMatch(new RegExp(`^${hint.replace(/[.?]/g, "\\$&")}`));
  });

  it("far from every name gets no guess", () => {
    expect(refusal("zzz=1").fix).toMatch(/^Known settings: /);
  });
});

describe("a stack's name for a release setting", () => {
  it("says what the setting is called here", () => {
    expect(refusal("releaseLockTimeoutSeconds=5").message).toBe(
      "--set: releaseLockTimeoutSeconds is the stack's name of the release setting called lockTimeoutSeconds here (got 5).",
    );
    // The value given was right: the fix is the flag that gives it under this name.
    expect(refusal("releaseLockTimeoutSeconds=5").fix).toBe("For example --set lockTimeoutSeconds=5.");
    expect(refusal("releaseLockTimeoutSeconds=0").fix).toBe("For example --set lockTimeoutSeconds=60.");
    expect(refusal("neonhub-db:vectorIndexes.method=hnsw").message).toBe(
      '--set: neonhub-db:vectorIndexes is a stack\'s config key for the release setting called vectorIndexes here (got {"method":"hnsw"}).',
    );
    expect(refusal("neonhub-db:server=rds").message).toBe(
      '--set: neonhub-db:server is a stack\'s config key, not a release setting (got "rds").',
    );
  });

  it("points a stack setting the CLI takes as a flag at the flag", () => {
    expect(refusal("seedSets=demo").fix).toBe("Give it to the CLI as --seed NAME (repeatable).");
    expect(refusal("neonhub-db:environment=production").fix).toBe("Give it to the CLI as --environment.");
  });
});

/** The `--set key=value` flags a fix writes, as the words a shell reads back (single quotes undone). */
function flagsIn(fix: string): string[] {
  return [...fix.matchAll(/--set ('(?:[^']|'\\'')*'|[^\s]+?)(?=[.]?(?:\s|$))/g)].map((m) =>
    m[1]!.startsWith("'") ? m[1]!.slice(1, -1).replace(/'\\''/g, "'") : m[1]!,
  );
}

describe("a refused --set flag's fix", () => {
  it("writes its example as --set key=value flags, which the CLI takes as they are", () => {
    const refused = [
      "releaseLockTimeoutSeconds=5",
      "lockTimeoutSeconds=0",
      "vectorIndexes.method=foo",
      "vectorIndexes.concurrently=no",
      "zzz=1",
      "neonhub-db:vectorIndexes.method=hnsw",
      "legacyUpgrade.organization=1",
      "legacyUpgrade.x=1",
    ];
    for (const flag of refused) {
      const fix = refusal(flag).fix ?? "";
      expect(fix, flag).not.toContain("{");
      const flags = flagsIn(fix);
      expect(flags.length, fix).toBeGreaterThan(0);
      expect(
        () => resolveReleaseSettings(mergeSettings(...flags.map(settingFromFlag)), "--set"),
        fix,
      ).not.toThrow();
    }
  });

  it("through the CLI: --set releaseLockTimeoutSeconds=5 is answered with --set lockTimeoutSeconds=5", async () => {
    const run = await runCli(["plan", "--json", "--set", "releaseLockTimeoutSeconds=5"], {
      DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none",
    });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
    expect(error.code).toBe("invalid-input");
    expect(error.fix).toBe("For example --set lockTimeoutSeconds=5.");
  });

  it("stays a document for a --config file, which holds one", () => {
    let fix = "";
    try {
      resolveReleaseSettings({ lockTimeoutSeconds: 0 }, "--config release.yaml");
    } catch (error) {
      fix = (error as ReleaseError).fix ?? "";
    }
    expect(fix).toBe('For example {"lockTimeoutSeconds":60}.');
  });
});
