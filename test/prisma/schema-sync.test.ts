// The committed Prisma schema (prisma/schema.prisma) against the released database, and Prisma's own CLI on
// it: a new migration that changes what the app sees fails here, naming the model and field, until the
// schema is regenerated (`neonhub-db prisma-schema --out prisma/schema.prisma`).
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  compareSchemas,
  describeDifference,
  generatePrismaSchema,
  prismaSchemaCommand,
  PROJECT_ROOT,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { useReleasedDatabase } from "../security/released-database";
import { scratchDir } from "../support/scratch";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runPrisma } = require("../../scripts/prisma.js") as {
  runPrisma: (
    args: string[],
    options?: { stdio?: "pipe" },
  ) => { status: number | null; stdout: string; stderr: string };
};

const SCHEMA_FILE = path.join(PROJECT_ROOT, "prisma", "schema.prisma");

describe("prisma/schema.prisma", () => {
  const released = useReleasedDatabase("prisma_sync");

  it("is what the released database's catalog says, model by model and field by field", async () => {
    const { schema, models } = await generatePrismaSchema({ databaseUrl: released.current.roles.url("app") });
    expect(models).toBe(34);
    const differences = compareSchemas(schema, readFileSync(SCHEMA_FILE, "utf8")).map(describeDifference);
    expect(differences, "regenerate it: neonhub-db prisma-schema --out prisma/schema.prisma").toEqual([]);
  });

  it("says so from the CLI (--check, exit 0), as the read-only login", async () => {
    const result = await runCli(["prisma-schema", "--check", "--out", SCHEMA_FILE], {
      DATABASE_URL: released.current.roles.url("readonly"),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/matches the database \(34 models, 9 enums\)/);
  });

  it("--check names the file it checked in its fix, and refuses a directory or a file that is no schema", async () => {
    const env = { DATABASE_URL: released.current.roles.url("readonly") };
    const dir = scratchDir("prisma-check-");
    // A copy that lost a field: exit 2, and the fix regenerates that file, not prisma/schema.prisma.
    const stale = path.join(dir, "mod.prisma");
    writeFileSync(stale, readFileSync(SCHEMA_FILE, "utf8").replace(/^ {2}image .*\n/m, ""));
    const differs = await runCli(["prisma-schema", "--check", "--out", stale], env);
    expect(differs.code, differs.stderr).toBe(2);
    expect(differs.stderr).toContain(`${stale} does not match the database (1 difference):`);
    expect(differs.stderr).toContain(
      `fix: regenerate it from the released database: \`neonhub-db prisma-schema --out ${stale}\`\n`,
    );

    // A directory, with --check or without: invalid input naming a file path, before anything is written.
    const checkDir = await runCli(["prisma-schema", "--check", "--out", dir], env);
    expect(checkDir.code).toBe(1);
    expect(checkDir.stderr).toContain(`--out ${dir}: ${dir} is a directory, not a file.`);
    expect(checkDir.stderr).toContain(
      `fix: Give the path of the schema file, e.g. \`neonhub-db prisma-schema --check --out ${path.join(dir, "schema.prisma")}\``,
    );
    const writeDir = await runCli(["prisma-schema", "--out", dir, "--json"], env);
    expect(writeDir.code).toBe(1);
    const refusal = (JSON.parse(writeDir.stdout) as { error: { code: string; message: string; fix: string } })
      .error;
    expect(refusal.code).toBe("invalid-input");
    expect(refusal.message).toBe(`--out ${dir}: ${dir} is a directory, not a file.`);
    expect(refusal.fix).toContain(`neonhub-db prisma-schema --out ${path.join(dir, "schema.prisma")}`);
    expect(writeDir.stdout + writeDir.stderr).not.toMatch(/EISDIR|\n\s+at /);
    const missingDir = await runCli(["prisma-schema", "--out", `${dir}/no-such-folder/`], env);
    expect(missingDir.code).toBe(1);
    expect(missingDir.stderr).toContain("names a directory, not a file.");

    // A device: read, /dev/zero never ends (the process ran out of memory), so it is refused unopened.
    for (const args of [["--check"], []]) {
      const device = await runCli(["prisma-schema", ...args, "--out", "/dev/zero"], env);
      expect(device.code).toBe(1);
      expect(device.stderr).toContain(
        "--out /dev/zero: /dev/zero is not a regular file (a device or a FIFO).",
      );
    }

    // Not a Prisma schema: said so, not counted as a difference per block of the database.
    const garbage = path.join(dir, "garbage.prisma");
    writeFileSync(garbage, "garbage {\n");
    const notSchema = await runCli(["prisma-schema", "--check", "--out", garbage], env);
    expect(notSchema.code).toBe(1);
    expect(notSchema.stderr).toContain(
      `--check: ${garbage} is not a Prisma schema: no model, generator or datasource block was read from it.`,
    );
    expect(notSchema.stderr).not.toMatch(/differences?/);
  });

  it("is valid for Prisma, and the client generates, with no network (prisma validate, prisma generate)", () => {
    const validate = runPrisma(["validate"], { stdio: "pipe" });
    expect(validate.status, validate.stderr).toBe(0);
    expect(validate.stdout).toMatch(/is valid/);
    const dir = scratchDir("prisma-schema-");
    const broken = path.join(dir, "schema.prisma");
    copyFileSync(SCHEMA_FILE, broken);
    writeFileSync(
      broken,
      readFileSync(broken, "utf8").replace(
        "  agent     Agent    @relation",
        "  agent     Agnt     @relation",
      ),
    );
    const refused = runPrisma(["validate", "--schema", broken], { stdio: "pipe" });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/Agnt/);
  });
});

describe("a database that moved on from prisma/schema.prisma", () => {
  const released = useReleasedDatabase("prisma_drift");

  it("is reported by model and field: column, type, nullability, default, unique, foreign key, enum label", async () => {
    await withClient(released.current.db.url, async (c) => {
      await c.query(`ALTER TABLE "Chunk" ADD COLUMN "language" text`);
      await c.query(`ALTER TABLE "Message" ALTER COLUMN "authorId" SET NOT NULL`);
      await c.query(`ALTER TABLE "Organization" ALTER COLUMN "plan" SET DEFAULT 'pro'`);
      await c.query(`ALTER TABLE "AgentRunMetric" ALTER COLUMN "value" TYPE integer`);
      await c.query(`DROP INDEX "Organization_slug_key"`);
      await c.query(`ALTER TABLE "Content" DROP CONSTRAINT "Content_brandId_fkey"`);
      await c.query(`ALTER TYPE "MessageRole" ADD VALUE 'function'`);
    });
    const { schema } = await generatePrismaSchema({ databaseUrl: released.current.db.url });
    const named = compareSchemas(schema, readFileSync(SCHEMA_FILE, "utf8")).map(
      (d) => `${d.block} ${d.item}`,
    );
    expect(named).toEqual(
      expect.arrayContaining([
        "model Chunk language",
        "model Message authorId",
        "model Message author",
        "model Organization plan",
        "model Organization slug",
        "model AgentRunMetric value",
        "model Content brand",
        "model Brand contents",
        "enum MessageRole function",
      ]),
    );
    const text = compareSchemas(schema, readFileSync(SCHEMA_FILE, "utf8")).map(describeDifference).join("\n");
    expect(text).toContain(
      "model Chunk, field language: the database has `language String?`; the file has none",
    );

    const cli = await runCli(["prisma-schema", "--check"], { DATABASE_URL: released.current.db.url });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/model Chunk, field language/);
    expect(cli.stderr).toMatch(
      /fix: regenerate it from the released database: `neonhub-db prisma-schema --out/,
    );
  });

  it("refuses an empty database and a missing file with what to do", async () => {
    const empty = await runCli(["prisma-schema"], { DATABASE_URL: released.current.db.adminUrl });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no tables in schema public[\s\S]*fix: Apply the release first/);
    const missing = await runCli(["prisma-schema", "--check", "--out", "no/such/schema.prisma"], {
      DATABASE_URL: released.current.db.url,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*no\/such\/schema\.prisma\.[\s\S]*fix: .*write it first/);
    // The default file is the current folder's (an app checks its own copy): the error says where it looked.
    const elsewhere = scratchDir("neonhub-prisma-cwd-");
    await expect(
      prismaSchemaCommand({ databaseUrl: released.current.db.url, check: true, cwd: elsewhere }),
    ).rejects.toThrow(
      `--check: cannot read ${path.join(elsewhere, "prisma", "schema.prisma")} (the default, prisma/schema.prisma, is read from the current folder, ${elsewhere}).`,
    );
    // Writing into a folder that does not exist: the user's error, not a bug with a stack trace.
    const unwritable = await runCli(["prisma-schema", "--out", "no/such/schema.prisma"], {
      DATABASE_URL: released.current.db.url,
    });
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(
      /--out no\/such\/schema\.prisma: cannot write .* \(ENOENT\)[\s\S]*fix: /,
    );
    expect(unwritable.stderr).not.toContain("unexpected");
    const noUrl = await runCli(["prisma-schema"], {});
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toMatch(/No database URL given[\s\S]*DATABASE_URL/);
  });
});

// An app's schema checked against a database whose release is behind this one (an earlier release not yet
// upgraded, or one reverted to it, as here): the difference is the unapplied migrations' (the sign bits' column
// of 20261203120000), and regenerating the file, as the fix said, would have written the earlier release's
// schema over this one's.
describe("a database whose release is behind this one's migrations", () => {
  const db = useTestDatabase("prisma_behind");
  const KEPT = "20261203100100_search_count_from_index";
  const FIRST_PENDING = "20261203120000_tenant_search_prefilter";

  it("--check names the pending migrations in its fix, not regenerating; --out warns; --json lists them", async () => {
    const url = db.current.url;
    const env = { DATABASE_URL: url };
    await withClient(url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
    const released = await runCli(["apply"], env);
    expect(released.code, released.stderr).toBe(0);
    const reverted = await runCli(["revert", "--to", KEPT, "--confirm"], env);
    expect(reverted.code, reverted.stderr).toBe(0);
    const files = readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f.endsWith(".sql"));
    const pending = files.filter((f) => f >= FIRST_PENDING).length;

    const check = await runCli(["prisma-schema", "--check", "--out", SCHEMA_FILE], env);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("model Chunk, field embeddingBits: the database has none");
    expect(check.stderr).toContain(
      `fix: the database has ${pending} migrations of this release not applied yet (${FIRST_PENDING}, ...): ` +
        "it renders the earlier release's schema, which regenerating the file would write: apply the release " +
        "first (`neonhub-db apply`), then check again.",
    );
    expect(check.stderr).not.toContain("regenerate it from the released database");

    const json = await runCli(["prisma-schema", "--check", "--json", "--out", SCHEMA_FILE], env);
    expect(json.code).toBe(2);
    const result = JSON.parse(json.stdout) as { pendingMigrations?: string[] };
    expect(result.pendingMigrations?.[0]).toBe(FIRST_PENDING);
    expect(result.pendingMigrations).toHaveLength(pending);

    const out = path.join(scratchDir("prisma-behind-out-"), "schema.prisma");
    const written = await runCli(["prisma-schema", "--out", out], env);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toContain(
      `warning: the database has ${pending} migrations of this release not applied yet (${FIRST_PENDING}, ...)`,
    );

    // Upgraded, the file matches and says nothing of migrations.
    const upgraded = await runCli(["apply"], env);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const after = await runCli(["prisma-schema", "--check", "--out", SCHEMA_FILE], env);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).not.toContain("not applied yet");
  }, 180_000);
});
