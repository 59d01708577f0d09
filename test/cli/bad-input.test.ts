// The CLI driven with bad input: a wrong --config file, --set value, --owner-role or --migrations-dir is an
// `invalid-input` (or `permission`, `migration-files`) error that names the input and the fix, echoes no file's
// content, and leaves the database as it was.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, quoteIdentifier } from "../../core";
import { runCli, type CliRun } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";
import { useReleasedDatabase } from "../security/released-database";

interface ErrorDocument {
  error: { code: string; message: string; fix?: string };
}

const errorOf = (run: CliRun) => (JSON.parse(run.stdout) as ErrorDocument).error;

describe("--config and --set values the CLI refuses", () => {
  const db = useTestDatabase("badinput");
  const dir = scratchDir("bad-input");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });
  const file = (name: string, content: string | Buffer) => {
    const at = path.join(dir, name);
    writeFileSync(at, content);
    return at;
  };

  it.each([
    ["a pgpass line", "127.0.0.1:5432:neonhub:migrator:S3cretPgpassValue", "a string"],
    ["an environment file's line", "PGPASSWORD=S3cretPgpassValue", "a string"],
    ["a list", "- S3cretPgpassValue\n- other", "a list"],
  ])("a file that holds %s is named with the kind, never its content", async (_, content, kind) => {
    const config = file(`scalar-${kind.replace(/ /g, "-")}.txt`, content);
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--config ${config} holds ${kind}, not a mapping of settings.`);
    expect(run.stderr).not.toContain("S3cretPgpassValue");
    const json = await cli("plan", "--json", "--config", config);
    expect(json.code).toBe(1);
    expect(errorOf(json)).toMatchObject({ code: "invalid-input" });
    expect(json.stdout + json.stderr).not.toContain("S3cretPgpassValue");
  });

  it("a binary file is refused in a line, not with its bytes", async () => {
    // Bytes that are no UTF-8: read as replacement characters, which YAML takes for one long string.
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + ((i * 37) % 128)));
    const config = file("binary.bin", bytes);
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--config ${config} holds a string, not a mapping of settings.`);
    expect(run.stderr.length).toBeLessThan(1000);
  });

  it("a setting's value read from a file is described, not echoed", async () => {
    const config = file(
      "value.yaml",
      "vectorIndexes:\n  method: S3cretPgpassValue\nrowLevelSecurity: S3cretPgpassValue\n",
    );
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'vectorIndexes.method must be "ivfflat" or "hnsw" (got a string of 17 characters)',
    );
    expect(run.stderr).not.toContain("S3cretPgpassValue");
  });

  it("a short value typed with --set is still echoed", async () => {
    const run = await cli("plan", "--set", "vectorIndexes.method=hsnw");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--set: vectorIndexes.method must be "ivfflat" or "hnsw" (got "hsnw")');
  });

  it.each([
    ["an empty file", ""],
    ["a file of comments alone", "# vectorIndexes:\n#   method: hnsw\n"],
  ])("%s is refused, naming it", async (_, content) => {
    const config = file(`empty-${content.length}.yaml`, content);
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--config ${config} is empty: it holds no release settings.`);
  });

  it.each([
    [
      "1e99",
      /must be at most 2097151 MB \(PostgreSQL's maintenance_work_mem maximum, 2147483647 kB\) \(got 1e\+99\)/,
    ],
    ["9999999999", /must be at most 2097151 MB .*\(got 9999999999\)/],
    ['"3TB"', /must be at most 2097151 MB .*\(got "3TB"\)/],
    ["1.5", /must be a whole number of MB \(got 1\.5\)/],
  ])("--set vectorIndexes.maxMaintenanceWorkMem=%s is out of range", async (value, problem) => {
    const run = await cli("apply", "--json", "--set", `vectorIndexes.maxMaintenanceWorkMem=${value}`);
    expect(run.code).toBe(1);
    expect(errorOf(run).code).toBe("invalid-input");
    expect(errorOf(run).message).toMatch(problem);
  });

  it("a file of more than 1 MiB is refused before it is read, and a device before it is opened", async () => {
    const big = file("big.yaml", Buffer.alloc(1024 * 1024 + 1, "a"));
    const run = await cli("plan", "--config", big);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `--config ${big} holds 1,048,577 bytes, more than the 1,048,576 a file of release settings may: it is not one.`,
    );
    // Read, /dev/zero never ends: the process would run out of memory.
    const device = await cli("plan", "--config", "/dev/zero");
    expect(device.code).toBe(1);
    expect(device.stderr).toContain("--config /dev/zero is not a regular file.");
    const folder = await cli("plan", "--config", dir);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain(`--config ${dir} is a directory.`);
  });

  it("a YAML alias inside itself is refused naming the key, not as a bug", async () => {
    const config = file("cycle.yaml", "vectorIndexes: &a\n  method: hnsw\n  x: *a\n");
    const run = await cli("plan", "--json", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/unexpected error|circular|\n\s+at /);
    expect(errorOf(run)).toMatchObject({
      code: "invalid-input",
      message: `--config ${config}: vectorIndexes.x is not a setting (got an object).`,
    });
  });

  it("a YAML tag the parser does not know is refused, and nothing but the CLI's error reaches stderr", async () => {
    const config = file("tag.yaml", "vectorIndexes:\n  method: !!js/function hnsw\n");
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `--config ${config} holds YAML this tool does not read: Unresolved tag: tag:yaml.org,2002:js/function at line 2, column 11.`,
    );
    expect(run.stderr).not.toMatch(/YAMLWarning|\(node:\d+\)/);
  });

  it("a YAML syntax error is named by its line, with no stray colon", async () => {
    const config = file("syntax.yaml", "vectorIndexes:\n  method: [hnsw\n");
    const run = await cli("plan", "--config", config);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`--config ${config} is neither JSON nor YAML: .* at line 3, column 1\\.\n`),
    );
  });

  it("--set with a number JSON cannot hold shows it as Infinity, not as null", async () => {
    const run = await cli("plan", "--set", "vectorIndexes.targetRecall=1e999");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--set: vectorIndexes.targetRecall must be a number (got Infinity).");
  });

  it("the largest maintenance_work_mem is accepted", async () => {
    const run = await cli("plan", "--set", "vectorIndexes.maxMaintenanceWorkMem=2097151");
    expect(run.code, run.stderr).not.toBe(1);
  });
});

describe("--migrations-dir that is no folder", () => {
  const db = useTestDatabase("badmigdir");
  const dir = scratchDir("bad-migrations-dir");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });

  it("a folder that is not there says so, as given, and to correct the flag", async () => {
    const missing = path.relative(path.resolve(__dirname, "..", ".."), path.join(dir, "nope"));
    const run = await cli("plan", "--migrations-dir", missing);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The migrations folder ${missing} does not exist.`);
    expect(run.stderr).toContain("fix: Correct --migrations-dir");
  });

  it("a file says it is a file", async () => {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "a-file.sql");
    writeFileSync(file, "SELECT 1;\n");
    const run = await cli("plan", "--migrations-dir", file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The migrations folder ${file} is a file, not a folder.`);
    expect(run.stderr).toContain("fix: Correct --migrations-dir");
  });
});

describe("a path the command line names, without a database URL", () => {
  // Not "No database URL given": the mistyped path is named first, as every other mistake of the command line.
  const cli = (...args: string[]) => runCli(args, {});
  const dir = scratchDir("paths-before-url");

  it("a --migrations-dir that is not there or is a file, a --file that is not there or is a folder", async () => {
    const missingFolder = path.join(dir, "no-such-migrations");
    for (const command of ["plan", "status", "verify"]) {
      const run = await cli(command, "--migrations-dir", missingFolder, "--json");
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error).toMatchObject({
        code: "migration-files",
        message: `The migrations folder ${missingFolder} does not exist.`,
      });
    }
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "a-file.sql");
    writeFileSync(file, "SELECT 1;\n");
    const notFolder = await cli("apply", "--migrations-dir", file);
    expect(notFolder.stderr).toContain(`The migrations folder ${file} is a file, not a folder.`);
    const missingFile = await cli("load-chunks", "--file", path.join(dir, "nope.ndjson"), "--dataset", "d");
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toContain(
      `Cannot read the chunk file ${path.join(dir, "nope.ndjson")}: ENOENT.`,
    );
    const folder = await cli("load-chunks", "--file", dir, "--dataset", "d");
    expect(folder.stderr).toContain(`The chunk file ${dir} is a directory.`);
    const config = await cli("plan", "--config", path.join(dir, "nope.yaml"));
    expect(config.stderr).toContain("cannot be read: ENOENT");
    for (const run of [notFolder, missingFile, folder, config]) {
      expect(run.code).toBe(1);
      expect(run.stderr).not.toContain("No database URL given");
    }
  });

  it("prisma-schema --check of a file that is not there, or is no Prisma schema; --out naming a folder", async () => {
    mkdirSync(dir, { recursive: true });
    const missing = path.join(dir, "no-such-schema.prisma");
    const run = await cli("prisma-schema", "--check", "--out", missing, "--json");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error).toMatchObject({ code: "invalid-input", message: `--check: cannot read ${missing}.` });
    expect(error.fix).toContain(`write it first: \`neonhub-db prisma-schema --out ${missing}\``);
    const notSchema = path.join(dir, "notes.txt");
    writeFileSync(notSchema, "not a schema\n");
    const garbage = await cli("prisma-schema", "--check", "--out", notSchema);
    expect(garbage.stderr).toContain(`--check: ${notSchema} is not a Prisma schema`);
    const folder = await cli("prisma-schema", "--out", `${dir}/`);
    expect(folder.stderr).toContain(`--out ${dir}/: ${dir} is a directory, not a file.`);
    for (const refused of [run, garbage, folder]) {
      expect(refused.code).toBe(1);
      expect(refused.stderr).not.toContain("No database URL given");
    }
    // A file prisma-schema would write needs not exist: without --check, the missing URL is what is named.
    const toWrite = await cli("prisma-schema", "--out", path.join(dir, "new.prisma"));
    expect(toWrite.code).toBe(1);
    expect(toWrite.stderr).toContain("No database URL given");
  });
});

describe("--owner-role that the release could not act as", () => {
  const target = useReleasedDatabase("badowner");
  const asMigrator = (...args: string[]) =>
    runCli(args, { DATABASE_URL: target.current.roles.url("migrator") });
  // revert keeps every migration but the last (its preview and --confirm read the same).
  const keep = readdirSync(DEFAULT_MIGRATIONS_DIR)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .at(-2)!
    .replace(/\.sql$/, "");
  // The legacy upgrade's plan and run too, asked for by the flag or by the release setting: each acts as the
  // owner role, so each refuses a role it could not act as before it reads anything (here a released database,
  // which the upgrade would otherwise refuse as not the legacy one).
  const upgrade = ["--upgrade-legacy", "--legacy-organization", "acme"];
  const upgradeSetting = ["--set", "legacyUpgrade.organization=acme"];
  const commands = [
    ["plan"],
    ["revert", "--to", keep],
    ["revert", "--to", keep, "--confirm"],
    ["apply"],
    ["plan", ...upgrade],
    ["apply", ...upgrade],
    ["plan", ...upgradeSetting],
    ["apply", ...upgradeSetting],
  ];
  const noSuchRole = '--owner-role names the role "nosuch_role", which does not exist on this server.';

  it.each(commands.map((command) => [command.join(" "), command] as const))(
    "%s --owner-role <no such role> is invalid-input, as apply says it",
    async (_, command) => {
      const run = await asMigrator(...command, "--json", "--owner-role", "nosuch_role");
      expect(run.code, run.stderr).toBe(1);
      expect(errorOf(run)).toMatchObject({ code: "invalid-input", message: noSuchRole });
      expect(run.stderr).not.toContain("unexpected error");
    },
  );

  it.each(commands.map((command) => [command.join(" "), command] as const))(
    "%s --owner-role <the app's role>, as the migrator: name the owner role instead",
    async (_, command) => {
      const { names } = target.current.roles;
      const run = await asMigrator(...command, "--json", "--owner-role", names.app);
      expect(run.code, run.stderr).toBe(1);
      const error = errorOf(run);
      expect(error).toMatchObject({
        code: "permission",
        message: `--owner-role "${names.app}": user "${names.migrator}" may not act as that role (not a member of it).`,
      });
      expect(error.fix).toContain(`--owner-role ${names.owner}`);
      expect(error.fix).not.toContain("DIRECT_URL");
    },
  );

  // A role the migrator holds that is not the owner nor a member of it (a helper role granted to the login): the
  // flag names the wrong role, which the login may act as, so "not a member" would send the operator looking at
  // the login's grants. Each command that acts as the owner names the role that owns the release's objects.
  const helper = () => `${target.current.db.name}_helper`;
  beforeAll(async () => {
    await withClient(target.current.db.url, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(helper())} NOLOGIN`);
      await c.query(
        `GRANT ${quoteIdentifier(helper())} TO ${quoteIdentifier(target.current.roles.names.migrator)}`,
      );
    });
  });
  afterAll(async () => {
    await withClient(target.current.db.adminUrl, (c) =>
      c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(helper())}`),
    );
  });
  const ledgerRows = () =>
    withClient(
      target.current.db.url,
      async (c) =>
        (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM neonhub_release.migrations")).rows[0]!
          .n,
    );

  it.each(commands.slice(0, 4).map((command) => [command.join(" "), command] as const))(
    "%s --owner-role <a role the login holds that is not the owner's>: names the owner, not 'not a member'",
    async (_, command) => {
      const { names } = target.current.roles;
      const before = await ledgerRows();
      const run = await asMigrator(...command, "--json", "--owner-role", helper());
      expect(run.code, run.stderr).toBe(1);
      const error = errorOf(run);
      expect(error.code).toBe("permission");
      expect(error.message).toContain(
        `--owner-role "${helper()}" is not the role that owns the release's objects: "${names.owner}" owns them`,
      );
      expect(error.message).toContain(`User "${names.migrator}" may act as "${helper()}"`);
      expect(error.message).not.toContain("not a member of it).");
      expect(error.fix).toBe(
        `Name the role that owns them: --owner-role ${names.owner}. Nothing was written.`,
      );
      expect(await ledgerRows()).toBe(before);
    },
  );

  // The cluster's superuser may act as every role, the owner's included: an --owner-role that is not the
  // owner's is the flag naming the wrong role for it too, not the "permission denied" its first read met.
  it.each(
    commands
      .slice(0, 4)
      .flatMap((command) => [
        [command.join(" "), "a role the login holds", command, "helper"] as const,
        [command.join(" "), "the app's role", command, "app"] as const,
      ]),
  )(
    "%s --owner-role <%s>, as the superuser: names the owner, as for the migrator",
    async (_, __, command, role) => {
      const { names } = target.current.roles;
      const named = role === "helper" ? helper() : names.app;
      const before = await ledgerRows();
      const run = await runCli(
        [...command, "--json", "--owner-role", named, "--migrations-dir", DEFAULT_MIGRATIONS_DIR],
        { DATABASE_URL: target.current.db.url },
      );
      expect(run.code, run.stderr).toBe(1);
      const error = errorOf(run);
      expect(error.code).toBe("permission");
      const admin = decodeURIComponent(new URL(target.current.db.url).username);
      expect(error.message).toContain(
        `--owner-role "${named}" is not the role that owns the release's objects: "${names.owner}" owns them`,
      );
      expect(error.message).toContain(`User "${admin}" may act as "${named}"`);
      expect(error.fix).toBe(
        `Name the role that owns them: --owner-role ${names.owner}. Nothing was written.`,
      );
      expect(run.stderr).not.toContain("unexpected error");
      expect(await ledgerRows()).toBe(before);
    },
  );

  it("plan with the owner role still plans, and revert's preview still lists", async () => {
    const { names } = target.current.roles;
    expect((await asMigrator("plan", "--owner-role", names.owner)).code).not.toBe(1);
    const preview = await asMigrator("revert", "--to", keep, "--owner-role", names.owner);
    expect(preview.code, preview.stderr).not.toBe(1);
    expect(preview.stdout).toContain(
      readdirSync(DEFAULT_MIGRATIONS_DIR)
        .sort()
        .at(-1)!
        .replace(/\.sql$/, ""),
    );
  });
});

describe("flags written wrong", () => {
  const run = (...args: string[]) => runCli(args, { DATABASE_URL: "" });

  it("a value flag followed by another flag says its value is missing", async () => {
    const result = await run("status", "--lock-timeout", "--json");
    expect(result.code).toBe(1);
    expect(errorOf(result)).toMatchObject({
      code: "invalid-input",
      message: "--lock-timeout needs a value: what follows it is the flag --json.",
    });
    expect(errorOf(result).fix).not.toContain("--lock-timeout=<value>");
  });

  it("a value that starts with a dash keeps its own advice", async () => {
    const result = await run("plan", "--owner-role", "-x");
    expect(result.stderr).toContain('--owner-role needs a value, and what follows it starts with "-"');
  });

  it("an --owner-role longer than PostgreSQL keeps a name is refused, naming the role it would act as", async () => {
    // 60 ASCII bytes and two 2-byte characters: PostgreSQL keeps whole characters within 63 bytes.
    const kept = `${"r".repeat(60)}é`;
    const result = await run("plan", "--owner-role", `${kept}éé`, "--json");
    expect(result.code).toBe(1);
    expect(errorOf(result)).toEqual({
      code: "invalid-input",
      message: `--owner-role is 66 bytes long: PostgreSQL keeps at most 63 bytes of a role's name, and would act as the role named "${kept}".`,
      fix: "Give the role's name as the database has it (SELECT rolname FROM pg_roles).",
    });
    expect((await run("plan", "--owner-role", "r".repeat(63), "--json")).stdout).not.toContain("bytes long");
  });

  it("--json=true is refused with a JSON document", async () => {
    const result = await run("status", "--json=true");
    expect(result.code).toBe(1);
    expect(errorOf(result)).toMatchObject({ code: "invalid-input", message: "--json takes no value." });
  });

  it("--help lists load-chunks' --file and --dataset among the options", async () => {
    const result = await run("--help");
    expect(result.stdout).toMatch(/^ {2}--file F\s+load-chunks: /m);
    expect(result.stdout).toMatch(/^ {2}--dataset ID\s+load-chunks: /m);
  });
});
