// The schema release's config keys (neonhub-db:seedSets, dropSchemaOnDelete, releaseLockTimeoutSeconds),
// validated with the rest of the stack's config.
import { describe, expect, it } from "vitest";
import {
  ReleaseError,
  completeVectorIndexOptions,
  resolveLockSafety,
  resolveReleaseSettings,
  settingFromFlag,
} from "../../core";
import { InvalidConfigError, parseStackConfig, type RawStackConfig } from "../../infra/config";

const ADMIN_URL = "postgresql://postgres:LocalPw123@127.0.0.1:54329/postgres";

function raw(values: Record<string, string>): RawStackConfig {
  return { stack: "test", values: { adminUrl: ADMIN_URL, ...values }, isSecret: (key) => key === "adminUrl" };
}

function problemsOf(values: Record<string, string>): string[] {
  try {
    parseStackConfig(raw(values));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as InvalidConfigError).problems.map((p) => p.message);
  }
  throw new Error("expected InvalidConfigError");
}

describe("schema release config", () => {
  it("seeds nothing, keeps the schema on destroy and waits 60 s for the lock by default", () => {
    expect(parseStackConfig(raw({})).release).toEqual({
      seedSets: [],
      vectorIndexes: completeVectorIndexOptions(),
      rowLevelSecurity: "enforce",
      dropSchemaOnDelete: false,
      lockTimeoutMs: 60_000,
      safety: {
        environment: "development",
        lockSafety: { lockTimeoutMs: 5_000, statementTimeoutMs: 0, lockRetries: 5 },
      },
    });
  });

  it("waits for table locks and retries as a CLI run does when the stack leaves its migrations' settings unset", () => {
    const { lockTimeoutMs, statementTimeoutMs, lockRetries } = resolveLockSafety(undefined);
    expect(parseStackConfig(raw({})).release.safety.lockSafety).toEqual({
      lockTimeoutMs,
      statementTimeoutMs,
      lockRetries,
    });
  });

  it("reads the seed sets as a list, the drop opt-in and the lock timeout in seconds", () => {
    const release = parseStackConfig(
      raw({ seedSets: '["demo"]', dropSchemaOnDelete: "true", releaseLockTimeoutSeconds: "5" }),
    ).release;
    expect(release).toEqual({
      seedSets: ["demo"],
      vectorIndexes: completeVectorIndexOptions(),
      rowLevelSecurity: "enforce",
      dropSchemaOnDelete: true,
      lockTimeoutMs: 5_000,
      safety: {
        environment: "development",
        lockSafety: { lockTimeoutMs: 5_000, statementTimeoutMs: 0, lockRetries: 5 },
      },
    });
  });

  it("reads the environment and the migrations' lock timeout, statement timeout and retries", () => {
    const release = parseStackConfig(
      raw({
        environment: "production",
        migrationLockTimeoutSeconds: "3",
        migrationStatementTimeoutSeconds: "600",
        migrationLockRetries: "0",
      }),
    ).release;
    expect(release.safety).toEqual({
      environment: "production",
      lockSafety: { lockTimeoutMs: 3_000, statementTimeoutMs: 600_000, lockRetries: 0 },
    });
    expect(problemsOf({ environment: "prod", migrationLockRetries: "-1" })).toEqual([
      expect.stringMatching(
        /neonhub-db:environment: must be one of production, staging, development \(got "prod"\)/,
      ),
      expect.stringMatching(
        /neonhub-db:migrationLockRetries: must be a whole number from 0 to 100 \(got "-1"\)/,
      ),
    ]);
  });

  it("takes the vector index options as an object, resolved with every default written out", () => {
    const options = { method: "hnsw", indexes: { idx_chunk_embedding_cosine: { m: 24 } } };
    expect(parseStackConfig(raw({ vectorIndexes: JSON.stringify(options) })).release.vectorIndexes).toEqual({
      ...completeVectorIndexOptions(),
      ...options,
    });
    expect(problemsOf({ vectorIndexes: '{"method":"flat"}' })).toEqual([
      `neonhub-db:vectorIndexes.method: must be "ivfflat" or "hnsw" (got "flat"). Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes.method' hnsw`,
    ]);
    expect(problemsOf({ vectorIndexes: '["hnsw"]' })[0]).toMatch(
      /vectorIndexes: must be an object of index options/,
    );
  });

  it("refuses a misspelt key and values of the wrong type instead of ignoring or coercing them", () => {
    const refused = (options: unknown) => problemsOf({ vectorIndexes: JSON.stringify(options) });
    expect(refused({ metod: "hnsw" })).toEqual([
      expect.stringMatching(
        /^neonhub-db:vectorIndexes\.metod: is not a setting \(got "hnsw"\)\. Did you mean vectorIndexes\.method\? Known here: method, .*\. Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes\.method' hnsw$/,
      ),
    ]);
    expect(refused({ concurrently: "no" })).toEqual([
      expect.stringMatching(
        /^neonhub-db:vectorIndexes\.concurrently: must be true or false \(got "no"\)\. Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes\.concurrently' true$/,
      ),
    ]);
    expect(refused({ targetRecall: "high" })).toEqual([
      expect.stringMatching(
        /^neonhub-db:vectorIndexes\.targetRecall: must be a number \(got "high"\)\. Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes\.targetRecall' 0\.95$/,
      ),
    ]);
    expect(refused({ indexes: { idx_chunk_embedding_cosine: { m: "32" } } })).toEqual([
      expect.stringMatching(
        /^neonhub-db:vectorIndexes\.indexes\.idx_chunk_embedding_cosine\.m: must be a whole number \(got "32"\)\. Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes\.indexes\.idx_chunk_embedding_cosine\.m' 16$/,
      ),
    ]);
  });

  it("reports an unknown seed set, a non-boolean opt-in and a lock timeout out of range together", () => {
    const problems = problemsOf({
      seedSets: "demo,prod-data",
      dropSchemaOnDelete: "yes",
      releaseLockTimeoutSeconds: "0",
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(
      /neonhub-db:seedSets: names "prod-data", which is not a seed set \(available: demo\)/,
    );
    expect(problems[1]).toMatch(/neonhub-db:dropSchemaOnDelete: must be true or false/);
    expect(problems[2]).toMatch(/neonhub-db:releaseLockTimeoutSeconds: .*1 to 3600/);
  });

  it("enforces row-level security unless the stack says off, and refuses anything else", () => {
    expect(parseStackConfig(raw({ rowLevelSecurity: "off" })).release.rowLevelSecurity).toBe("off");
    expect(problemsOf({ rowLevelSecurity: "disabled" })).toEqual([
      expect.stringMatching(/^neonhub-db:rowLevelSecurity: must be one of enforce, off \(got "disabled"\)/),
    ]);
  });

  it("gives a release setting the verdict and the words --set gives it; only the key and the example differ", () => {
    // [stack key, CLI key, value as written]
    const cases: [string, string, string][] = [
      ["rowLevelSecurity", "rowLevelSecurity", " off"],
      ["rowLevelSecurity", "rowLevelSecurity", ""],
      ["rowLevelSecurity", "rowLevelSecurity", "disabled"],
      ["releaseLockTimeoutSeconds", "lockTimeoutSeconds", "0"],
      ["releaseLockTimeoutSeconds", "lockTimeoutSeconds", "1.5"],
      ["releaseLockTimeoutSeconds", "lockTimeoutSeconds", "soon"],
      ["vectorIndexes", "vectorIndexes", '{"parallelWorkers": 99}'],
      [
        "vectorIndexes",
        "vectorIndexes",
        '{"indexes": {"idx_chunk_embedding_cosine": {"m": 32, "efConstruction": 40}}}',
      ],
    ];
    for (const [stackKey, cliKey, value] of cases) {
      let cli: ReleaseError | undefined;
      try {
        resolveReleaseSettings(settingFromFlag(`${cliKey}=${value}`), "--set");
      } catch (error) {
        cli = error as ReleaseError;
      }
      expect(cli, `--set ${cliKey}=${value}`).toBeInstanceOf(ReleaseError);
      const [stack, ...others] = problemsOf({ [stackKey]: value });
      expect(others).toEqual([]);
      // "--set: lockTimeoutSeconds must be ... (got 0)." and "neonhub-db:releaseLockTimeoutSeconds: must be ... (got 0). Example: ..."
      const cliBody = /^--set: \S+ (.*)\.$/.exec(cli!.message)![1]!;
      expect(stack, `${stackKey}=${value}`).toMatch(/^neonhub-db:\S+: /);
      expect(stack!.slice(stack!.indexOf(": ") + 2)).toMatch(
        new RegExp(`^${escape(cliBody)}\\. Example: pulumi config set --stack test `),
      );
    }
  });

  it("gives a refused vector-index option an example of that option", () => {
    expect(problemsOf({ vectorIndexes: '{"parallelWorkers": 99}' })).toEqual([
      "neonhub-db:vectorIndexes.parallelWorkers: must be a whole number from 0 to 64 (got 99). Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes.parallelWorkers' 2",
    ]);
    expect(problemsOf({ vectorIndexes: '{"maxMaintenanceWorkMem": "lots"}' })).toEqual([
      `neonhub-db:vectorIndexes.maxMaintenanceWorkMem: must be MB as a number, or a size such as "512MB" or "2GB" (got "lots"). Example: pulumi config set --stack test --path 'neonhub-db:vectorIndexes.maxMaintenanceWorkMem' 2GB`,
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
