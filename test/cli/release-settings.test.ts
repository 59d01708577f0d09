// The CLI's release settings against a real database: what --config and --set change, merged leaf by leaf
// over what the database recorded, and compared as the release resolves them.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ReleasePlan, ReleaseStatus } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";

describe("release settings given to the CLI over the recorded ones", () => {
  const db = useTestDatabase("settings");
  const dir = scratchDir("release-settings");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });
  const settingLines = async (...args: string[]) => {
    const run = await cli("plan", "--json", ...args);
    expect(run.code, run.stdout + run.stderr).not.toBe(1);
    const plan = JSON.parse(run.stdout) as ReleasePlan;
    return plan.vectorIndexes
      .filter((item) => item.decision === "setting")
      .map((i) => `${i.name}: ${i.reason}`);
  };

  beforeAll(async () => {
    await withClient(db.current.url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
    const file = path.join(dir, "r1.yaml");
    writeFileSync(
      file,
      "vectorIndexes:\n  method: hnsw\n  maxMaintenanceWorkMem: 1GB\n  indexes:\n    idx_chunk_embedding_cosine: {m: 24, efConstruction: 80}\n",
    );
    const run = await cli("apply", "--config", file);
    expect(run.code, run.stderr).toBe(0);
  }, 180_000);

  it("plan with nothing given has nothing to change", async () => {
    expect(await settingLines()).toEqual([]);
  });

  it("one per-index value changes that value only, keeping the other recorded ones", async () => {
    expect(await settingLines("--set", "vectorIndexes.indexes.idx_message_embedding_cosine.m=20")).toEqual([
      "setting vectorIndexes.indexes.idx_message_embedding_cosine.m: (unset) -> 20",
    ]);
  });

  it("a value that resolves to the recorded one is no change", async () => {
    expect(await settingLines("--set", "vectorIndexes.maxMaintenanceWorkMem=1024")).toEqual([]);
    expect(await settingLines("--set", "vectorIndexes.maxMaintenanceWorkMem=1024MB")).toEqual([]);
    expect(
      await settingLines("--set", "vectorIndexes.indexes.idx_message_embedding_cosine.method=hnsw"),
    ).toEqual([]);
    expect(await settingLines("--set", "vectorIndexes.indexes.idx_chunk_embedding_cosine.m=24")).toEqual([]);
  });

  it("a real change still shows, once", async () => {
    expect(await settingLines("--set", "vectorIndexes.maxMaintenanceWorkMem=2GB")).toEqual([
      "setting vectorIndexes.maxMaintenanceWorkMem: 1GB -> 2GB",
    ]);
  });

  it("reads the release settings out of a Pulumi stack file, as the stack program reads them", async () => {
    const stackFile = (body: string) => {
      const file = path.join(dir, `Pulumi.${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(
        file,
        `config:\n  neonhub-db:server: existing\n  neonhub-db:adminUrl:\n    secure: v1:AAAA\n${body}`,
      );
      return file;
    };
    // The recorded settings, as `pulumi config set --path` leaves them in the stack's file.
    const same = stackFile(
      [
        '  neonhub-db:releaseLockTimeoutSeconds: "30"',
        "  neonhub-db:vectorIndexes:",
        "    method: hnsw",
        '    targetRecall: "0.95"',
        "    indexes:",
        "      idx_chunk_embedding_cosine:",
        "        m: 24",
        "        efConstruction: 80",
        "",
      ].join("\n"),
    );
    expect(await settingLines("--config", same)).toEqual([]);
    const changed = stackFile(
      "  neonhub-db:vectorIndexes:\n    method: ivfflat\n  neonhub-db:environment: production\n",
    );
    const run = await cli("plan", "--json", "--config", changed);
    expect(run.code, run.stderr).toBe(2);
    const plan = JSON.parse(run.stdout) as ReleasePlan;
    expect(
      plan.vectorIndexes.filter((i) => i.decision === "setting").map((i) => `${i.name}: ${i.reason}`),
    ).toEqual(["setting vectorIndexes.method: hnsw -> ivfflat"]);
    // The stack's environment is the run's, as the stack runs with it (production lints strictest), unless
    // --environment says otherwise; the run says which it took.
    expect(plan.safety.environment).toBe("production");
    expect(run.stderr).toContain(
      "this run is in production, as the stack file says (--environment overrides it)",
    );
    const overridden = await cli("plan", "--json", "--config", changed, "--environment", "staging");
    expect((JSON.parse(overridden.stdout) as ReleasePlan).safety.environment).toBe("staging");
    expect(overridden.stderr).toContain(
      "the stack file says production; this run is in staging, as --environment says",
    );
    // Its other per-run settings are not read from it; the run says so, with the flag.
    const waits = stackFile("  neonhub-db:migrationLockRetries: 2\n");
    expect((await cli("plan", "--config", waits)).stderr).toContain(
      "neonhub-db:migrationLockRetries (2) is a setting of each run, not read from the file: give it as --lock-retries 2",
    );
  });

  it("status shows the recorded release settings, as text and in --json", async () => {
    const json = await cli("status", "--json");
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as ReleaseStatus;
    expect(status.releaseSettings.vectorIndexes).toMatchObject({
      method: "hnsw",
      maxMaintenanceWorkMem: "1GB",
      indexes: { idx_chunk_embedding_cosine: { m: 24, efConstruction: 80 } },
    });
    const text = await cli("status");
    expect(text.stdout).toContain("  release settings recorded by the last release:\n");
    expect(text.stdout).toContain("    vectorIndexes.method: hnsw\n");
    expect(text.stdout).toContain("    vectorIndexes.indexes.idx_chunk_embedding_cosine.m: 24\n");
  });

  it("records no lock timeout: it is each run's own wait, not a setting later runs keep", async () => {
    const run = await cli("apply", "--json", "--set", "lockTimeoutSeconds=5");
    expect(run.code, run.stderr).toBe(0);
    const sections = await withClient(
      db.current.url,
      async (c) =>
        (
          await c.query<{ section: string; value: object }>(
            "SELECT section, value FROM neonhub_release.release_settings",
          )
        ).rows,
    );
    expect(sections.map((s) => s.section)).toEqual(["vectorIndexes"]);
    expect(JSON.stringify(sections)).not.toMatch(/lockTimeout/i);
    const status = JSON.parse((await cli("status", "--json")).stdout) as ReleaseStatus;
    expect(Object.keys(status.releaseSettings)).toEqual(["vectorIndexes"]);
  });
});

describe("a release setting given to a command that reads none of it", () => {
  const db = useTestDatabase("unread_settings");
  const dir = scratchDir("unread-settings");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });
  const recorded = () =>
    withClient(db.current.url, async (c) => {
      const rls = await c.query("SELECT * FROM neonhub_release.row_level_security");
      const settings = await c.query("SELECT section, value FROM neonhub_release.release_settings");
      return JSON.stringify([rls.rows, settings.rows]);
    });

  beforeAll(async () => {
    await withClient(db.current.url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
    const run = await cli("apply");
    expect(run.code, run.stderr).toBe(0);
  }, 180_000);

  // health judges the vector indexes by the release settings and reads nothing of row-level security or of
  // the legacy upgrade: given to it, they were taken and ignored, while --row-level-security was refused.
  it.each([
    [
      ["--set", "rowLevelSecurity=off"],
      "--set rowLevelSecurity",
      "`neonhub-db plan --set rowLevelSecurity=off`",
    ],
    [
      ["--set", "legacyUpgrade.organization=acme"],
      "--set legacyUpgrade",
      "`neonhub-db plan --set legacyUpgrade.organization=acme`",
    ],
  ])(
    "health %j is refused as its flag is, naming the commands that read it",
    async (flags, what, example) => {
      const before = await recorded();
      const run = await cli("health", "--json", ...flags);
      expect(run.code, run.stderr).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
      expect(error).toEqual({
        code: "invalid-input",
        message: `${what} goes with plan or apply, not health.`,
        fix: `Leave it out, or run ${example} (see \`neonhub-db --help\`).`,
      });
      expect(run.stderr).not.toContain("unexpected error");
      expect(await recorded()).toBe(before);
    },
  );

  it("health --config with one in the file is refused, naming the file and the setting", async () => {
    const file = path.join(dir, "release.json");
    writeFileSync(file, JSON.stringify({ vectorIndexes: { method: "hnsw" }, rowLevelSecurity: "off" }));
    const run = await cli("health", "--config", file);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`--config ${file}: rowLevelSecurity goes with plan or apply, not health.`);
    expect(run.stderr).toContain(
      `fix: Leave it out of the file, or run \`neonhub-db plan --config ${file}\``,
    );
  });

  it("health --config with a stack's file leaves them out and says so: the file holds every command's", async () => {
    const file = path.join(dir, "Pulumi.dev.yaml");
    writeFileSync(
      file,
      'config:\n  neonhub-db:rowLevelSecurity: "off"\n  neonhub-db:vectorIndexes:\n    method: hnsw\n',
    );
    const run = await cli("health", "--json", "--config", file);
    expect(run.code, run.stderr).not.toBe(1);
    expect(run.stderr).toContain(
      `--config ${file}: rowLevelSecurity is not read by health (it goes with plan and apply); this run leaves it out.`,
    );
    // The setting health reads is taken from it: the indexes are judged against hnsw, which without it they are not.
    expect(run.stdout).toContain("hnsw");
    expect((await cli("health", "--json")).stdout).not.toContain("hnsw");
  });

  it("plan and apply still read it", async () => {
    const before = await recorded();
    const plan = await cli("plan", "--json", "--set", "rowLevelSecurity=off");
    expect(plan.code, plan.stderr).toBe(2);
    const { rowLevelSecurity } = JSON.parse(plan.stdout) as ReleasePlan;
    expect(rowLevelSecurity.map((item) => item.action)).toContain("update");
    expect(await recorded()).toBe(before);
  });
});
