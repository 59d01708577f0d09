// The quick-start scripts as a user meets them: `npm run local` on a fresh folder, twice, then stopped, and
// the messages a missing prerequisite produces. Each run uses its own cluster folder and port.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { runScript, type CliRun } from "../support/cli";
import cluster from "../../scripts/lib/cluster";
import postgres from "../../scripts/lib/postgres";
import { scratchDir } from "../support/scratch";
import { createTestDatabase, dropTestDatabase, pgBindir, withClient } from "../support/database";

// The setup scripts are plain CommonJS so that they run before `npm ci` has installed anything.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const deps = require("../../scripts/lib/deps") as typeof import("../../scripts/lib/deps");
type LocalPulumi = typeof import("../../scripts/lib/local-pulumi");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localPulumi = require("../../scripts/lib/local-pulumi") as LocalPulumi;

const ROOT = path.resolve(__dirname, "..", "..");

function freshRoot(): string {
  const dir = scratchDir("neonhub-local-");
  // The server runs as the postgres user, which must be able to enter the folder.
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runLocal(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runScript(path.join(ROOT, "scripts", "local.js"), args, {
    ...process.env,
    DATABASE_URL: "",
    // Other test files use the project's node_modules right now: the script must never reinstall them.
    [deps.NO_INSTALL_ENV]: "1",
    ...env,
  });
}

/** An installation that claims a version, with an empty extension folder (no pgvector). */
function fakeInstallation(version: string, pgCtlFrom?: string): string {
  const dir = freshRoot();
  const bin = path.join(dir, "bin");
  const share = path.join(dir, "share");
  mkdirSync(path.join(share, "extension"), { recursive: true });
  mkdirSync(bin);
  writeFileSync(path.join(bin, "postgres"), `#!/bin/sh\necho "postgres (PostgreSQL) ${version}"\n`, {
    mode: 0o755,
  });
  writeFileSync(
    path.join(bin, "pg_config"),
    `#!/bin/sh\ncase "$1" in --sharedir) echo "${share}";; --pkglibdir) echo "${dir}/lib";; --bindir) echo "${bin}";; esac\n`,
    { mode: 0o755 },
  );
  // With pgCtlFrom: that installation's pg_ctl, enough to stop a cluster or tell whether it runs.
  if (pgCtlFrom) symlinkSync(path.join(pgCtlFrom, "pg_ctl"), path.join(bin, "pg_ctl"));
  return bin;
}

/**
 * The `local` stack's files as a run through Pulumi leaves them (its state in the file backend, in Pulumi's
 * per-project layout, and the machine's copy of its config), beside stacks that are not the local one.
 */
function seedStackFiles(env: Record<string, string>): { local: string[]; others: string[] } {
  const { stateDir, configFile } = localPulumi.localStackPaths(ROOT, env);
  const at = (...parts: string[]) => path.join(stateDir, ".pulumi", ...parts);
  const local = [
    at("stacks", "neonhub-db", "local.json"),
    at("stacks", "neonhub-db", "local.json.bak"),
    at("history", "neonhub-db", "local", "local-1.history.json"),
    at("backups", "neonhub-db", "local", "local.1.json"),
    at("locks", "organization", "neonhub-db", "local", "lock-1.json"),
    configFile,
  ];
  const others = [
    at("meta.yaml"),
    at("stacks", "neonhub-db", "engine-test.json"),
    at("stacks", "neonhub-db", "localhost.json"),
    at("history", "neonhub-db", "engine-test", "engine-test-1.history.json"),
    at("stacks", "another-project", "local.json"),
  ];
  for (const file of [...local, ...others]) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, "{}");
  }
  return { local, others };
}

describe("npm run local", () => {
  const root = freshRoot();
  let env: Record<string, string> = {};

  it("brings the environment up, then a second run changes nothing, then stop stops it", async () => {
    env = { NEONHUB_LOCAL_ROOT: root, NEONHUB_PG_PORT: String(await freePort()) };
    // A shell that ran `set -a; eval "$(npm run -s local -- env)"` and then pointed its URLs elsewhere: the
    // release must still go to the local cluster, and the other database must stay untouched.
    const other = await createTestDatabase("local_other");
    const foreign = {
      ...env,
      DIRECT_URL: other.url,
      DATABASE_URL: other.url,
      DIRECT_DATABASE_URL: other.url,
      ADMIN_URL: other.url,
      PGDATABASE: other.name,
    };
    // A `local` stack left from an earlier cluster in this folder: it describes roles and a release of a
    // database that is gone, so the new cluster must not inherit it; other stacks are not the cluster's.
    const stale = seedStackFiles(env);
    let first: CliRun;
    try {
      // Two at once on a fresh folder: the second waits for the first (a lock), then finds nothing to change.
      const runs = await Promise.all([
        runLocal(["--json"], foreign),
        new Promise<CliRun>((resolve) => setTimeout(() => resolve(runLocal(["--json"], foreign)), 100)),
      ]);
      for (const run of runs) expect(run.stderr).not.toMatch(/error/i);
      expect(runs.map((run) => run.code)).toEqual([0, 0]);
      const changed = runs.map((run) => (JSON.parse(run.stdout) as { changed: boolean }).changed);
      expect([...changed].sort()).toEqual([false, true]);
      const [made, waited] = changed[0] ? runs : [runs[1], runs[0]];
      first = made;
      expect(waited.stderr).toContain("is using the local cluster; waiting for it");
      const released = await withClient(other.url, (c) =>
        c.query(
          "SELECT to_regnamespace('neonhub_release') AS schema, to_regclass('public.\"Chunk\"') AS chunk",
        ),
      );
      expect(released.rows[0]).toEqual({ schema: null, chunk: null });
    } finally {
      await dropTestDatabase(other);
    }
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const up = JSON.parse(first.stdout) as {
      changed: boolean;
      databaseUrl: string;
      directUrl: string;
      adminUrl: string;
      release: { appliedMigrations: number };
    };
    expect(up.changed).toBe(true);
    // Production's logins: the app (DATABASE_URL) and the migrator (DIRECT_URL); the admin apart.
    expect(up.databaseUrl).toMatch(/^postgresql:\/\/neonhub_app:\*\*\*\*@127\.0\.0\.1:\d+\/neonhub$/);
    expect(up.directUrl).toMatch(/^postgresql:\/\/neonhub_migrator:\*\*\*\*@127\.0\.0\.1:\d+\/neonhub$/);
    expect(up.adminUrl).toMatch(/^postgresql:\/\/postgres:\*\*\*\*@/);
    expect(up.release.appliedMigrations).toBeGreaterThan(0);
    for (const file of stale.local) expect(existsSync(file), file).toBe(false);
    for (const file of stale.others) expect(existsSync(file), file).toBe(true);

    // The same cluster again: its stack's state describes it, and stays.
    const current = seedStackFiles(env);
    const second = await runLocal([], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("nothing changed");
    for (const file of [...current.local, ...current.others]) expect(existsSync(file), file).toBe(true);
    expect(second.stderr).toContain("No Pulumi CLI on PATH");

    // The printed .env really connects, and the schema is there: the app login sees the demo organization
    // only once it names it (row-level security in force), the migrator owns the schema and the ledger.
    const envFile = await runLocal(["env"], env);
    const value = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(envFile.stdout)?.[1];
    const databaseUrl = value("DATABASE_URL");
    expect(databaseUrl).toBeDefined();
    expect(value("DIRECT_URL")).toBeDefined();
    expect(value("DIRECT_DATABASE_URL")).toBe(value("DIRECT_URL"));
    // The superuser only with --admin, for baseline and adopt; never in what an app's .env is made from.
    expect(envFile.stdout).not.toMatch(/postgres:[^@]*@|ADMIN_URL/);
    const asJson = JSON.parse((await runLocal(["env", "--json"], env)).stdout) as Record<string, string>;
    expect(asJson.DATABASE_URL).toBe(databaseUrl);
    expect(asJson.DIRECT_URL).toBe(value("DIRECT_URL"));
    expect(asJson.ADMIN_URL).toBeUndefined();
    const adminEnv = await runLocal(["env", "--admin"], env);
    expect(adminEnv.stdout.trim()).toMatch(
      /^ADMIN_URL=postgresql:\/\/postgres:[^*@]+@127\.0\.0\.1:\d+\/neonhub$/,
    );
    const adminUrl = adminEnv.stdout.trim().slice("ADMIN_URL=".length);
    expect(JSON.parse((await runLocal(["env", "--admin", "--json"], env)).stdout)).toEqual({
      ADMIN_URL: adminUrl,
    });
    expect((await runLocal(["status", "--admin"], env)).code).not.toBe(0);
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user");
      expect(rows[0]).toEqual({ rolcreatedb: true });
    } finally {
      await admin.end();
    }
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const tables = await client.query(`SELECT to_regclass('"Chunk"') AS chunk`);
      expect(tables.rows[0].chunk).toBe('"Chunk"');
      expect((await client.query(`SELECT slug FROM "Organization"`)).rows).toEqual([]);
      await client.query("BEGIN");
      await client.query(
        `SELECT set_config('app.current_organization_id', organization_id_for_slug('demo'), true)`,
      );
      expect((await client.query(`SELECT slug FROM "Organization"`)).rows).toEqual([{ slug: "demo" }]);
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
    const migrator = new Client({ connectionString: value("DIRECT_URL") });
    await migrator.connect();
    try {
      const { rows } = await migrator.query(
        `SELECT current_user AS role, (SELECT count(*)::int FROM neonhub_release.migrations) AS applied`,
      );
      expect(rows[0]).toEqual({ role: "neonhub_owner", applied: up.release.appliedMigrations });
    } finally {
      await migrator.end();
    }

    // One command at a time: `status destroy` must not quietly destroy.
    const two = await runLocal(["status", "stop"], env);
    expect(two.code).toBe(1);
    expect(two.stderr).toContain('One command at a time, got "status stop"');
    // status and stop need pg_ctl only: an installation without pgvector does (nothing installed or built).
    const major = readFileSync(path.join(root, "local", "data", "PG_VERSION"), "utf8").trim();
    const noVector = { ...env, NEONHUB_PG_BINDIR: fakeInstallation(`${major}.0`, pgBindir()) };
    const status = await runLocal(["status"], noVector);
    expect(status.stderr).toBe("");
    expect(status.stdout).toBe(`Local cluster runs on 127.0.0.1:${env.NEONHUB_PG_PORT}.\n`);
    const stop = await runLocal(["stop"], noVector);
    expect(stop.stderr).toBe("");
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain("stopped");
    const stopAgain = await runLocal(["stop"], env);
    expect(stopAgain.code).toBe(0);
    expect(stopAgain.stdout).toContain("nothing changed");
  });

  afterAll(async () => {
    if (env.NEONHUB_LOCAL_ROOT) await runLocal(["destroy"], env);
  });
});

describe("a local cluster folder left half-made or damaged", () => {
  it("recovers from an interrupted initdb and a deleted data folder, and names the way out of a lost admin password", async () => {
    const root = freshRoot();
    const paths = cluster.clusterPaths("local", root);
    const env = { NEONHUB_LOCAL_ROOT: root, NEONHUB_PG_PORT: String(await freePort()) };
    const pg = postgres.ensurePostgres();
    try {
      // Ctrl-C during initdb (the terminal signals the whole process group).
      const child = spawn(process.execPath, [path.join(ROOT, "scripts", "local.js")], {
        cwd: ROOT,
        env: { ...process.env, ...env, [deps.NO_INSTALL_ENV]: "1" },
        detached: true,
        stdio: "ignore",
      });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      const deadline = Date.now() + 20_000;
      while (!existsSync(`${paths.data}.initdb`) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(existsSync(`${paths.data}.initdb`)).toBe(true);
      process.kill(-child.pid!, "SIGINT");
      await exited;
      // initdb, signalled too, removes its folder as it exits, as it would before a user runs again.
      const initdbRuns = () =>
        spawnSync("pgrep", ["-f", `${paths.data}.initdb`], { stdio: "ignore" }).status === 0;
      while (initdbRuns() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // Nothing half-made in place: the next run starts over.
      expect(existsSync(paths.data)).toBe(false);
      const first = await cluster.ensureCluster({
        pg,
        name: "local",
        root,
        port: Number(env.NEONHUB_PG_PORT),
      });
      expect(first.created).toBe(true);
      const firstPassword = readFileSync(paths.passwordFile, "utf8");
      await withClient(first.adminUrl, (c) => c.query("SELECT 1"));

      // The data folder deleted by hand, its folder's other files still there: made again, new passwords.
      cluster.stopCluster({ pg, name: "local", root });
      writeFileSync(path.join(paths.root, "logins.json"), "{}");
      // What describes the old cluster elsewhere (the local stack's state, say) goes with it.
      const describing = path.join(root, "state-of-the-old-cluster");
      mkdirSync(describing);
      writeFileSync(path.join(describing, "stack.json"), "{}");
      rmSync(paths.data, { recursive: true, force: true });
      const again = await cluster.ensureCluster({ pg, name: "local", root, describedBy: [describing] });
      expect(again.created).toBe(true);
      expect(existsSync(describing)).toBe(false);
      expect(again.port).toBe(Number(env.NEONHUB_PG_PORT));
      expect(readFileSync(paths.passwordFile, "utf8")).not.toBe(firstPassword);
      expect(existsSync(path.join(paths.root, "logins.json"))).toBe(false);
      await withClient(again.adminUrl, (c) => c.query("SELECT 1"));

      // The admin password file changed, or gone: the problem and the way out, no stack trace.
      const recreate = "npm run local -- destroy && npm run local";
      writeFileSync(paths.passwordFile, "not-the-password");
      const wrong = await runLocal([], env);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain(`admin password file ${paths.passwordFile} does not hold`);
      expect(wrong.stderr).toContain(recreate);
      expect(wrong.stderr).not.toContain("unexpected");
      rmSync(paths.passwordFile);
      const missing = await runLocal([], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`admin password file ${paths.passwordFile} is missing`);
      expect(missing.stderr).toContain(recreate);
      expect(missing.stderr).not.toContain("unexpected");
      writeFileSync(
        path.join(paths.root, "neonhub.env"),
        `DATABASE_URL=postgresql://a:b@127.0.0.1:1/neonhub\n`,
      );
      const admin = await runLocal(["env", "--admin"], env);
      expect(admin.code).toBe(1);
      expect(admin.stderr).toContain("is missing");
      expect(admin.stderr).toContain(recreate);

      // A port file that holds no port: named, with the fix, where it is read.
      writeFileSync(paths.portFile, "5432x");
      const status = await runLocal(["status"], env);
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(`${paths.portFile} should hold the port the local cluster runs on`);
      expect(status.stderr).not.toMatch(/NaN|unexpected/);
    } finally {
      await runLocal(["destroy"], env);
    }
    expect(existsSync(paths.root)).toBe(false);
  });
});

describe("commands that need no installation", () => {
  it("status, stop, destroy and env without a cluster use no PostgreSQL at all (none that works is given)", async () => {
    const env = { NEONHUB_LOCAL_ROOT: freshRoot(), NEONHUB_PG_BINDIR: "/nonexistent/bin" };
    expect((await runLocal(["status"], env)).stdout).toBe("Local cluster is not running.\n");
    expect((await runLocal(["stop"], env)).stdout).toContain("nothing changed");
    expect((await runLocal(["destroy"], env)).stdout).toContain("nothing changed");
    const envRun = await runLocal(["env"], env);
    expect(envRun.code).toBe(1);
    expect(envRun.stderr).toContain("No local environment yet");
  });
});

describe("a clone the postgres user cannot enter (root's home, a private temp folder)", () => {
  it("gets its clusters in a folder of their own that it can enter, and a working cluster there", async () => {
    const isRoot = process.getuid?.() === 0;
    const clone = scratchDir("neonhub-private-");
    afterAll(() => rmSync(clone, { recursive: true, force: true }));
    chmodSync(clone, 0o700);
    const root = cluster.clustersRoot(clone, {});
    if (!isRoot) {
      // A normal user runs the server itself: the clone's own folder always works.
      expect(root).toBe(path.join(clone, ".local", "pg"));
      return;
    }
    expect(root.startsWith("/var/lib/neonhub-db/")).toBe(true);
    expect(cluster.clustersRoot(ROOT, {})).toBe(path.join(ROOT, ".local", "pg"));
    expect(cluster.clustersRoot(clone, { NEONHUB_LOCAL_ROOT: "/elsewhere" })).toBe("/elsewhere");
    const pg = postgres.ensurePostgres();
    try {
      const running = await cluster.ensureCluster({ pg, name: "probe", port: await freePort(), root });
      const client = new Client({ connectionString: running.adminUrl });
      await client.connect();
      expect((await client.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
      await client.end();
    } finally {
      cluster.destroyCluster({ pg, name: "probe", root });
      rmSync(path.dirname(root), { recursive: true, force: true });
    }
  });
});

describe("a missing prerequisite stops with the problem and the fix", () => {
  it("a port taken by another program", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const root = freshRoot();
    try {
      const run = await runLocal([], { NEONHUB_LOCAL_ROOT: root, NEONHUB_PG_PORT: String(port) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(run.stderr).toContain(`NEONHUB_PG_PORT=${port + 1} npm run local`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await runLocal(["destroy"], { NEONHUB_LOCAL_ROOT: root });
    }
  });

  it("a port that is not a number written in digits", async () => {
    for (const port of ["postgres", "0x1F96", "1e4", "54501.0", " 54501", "+54501", "99999"]) {
      const env = { NEONHUB_LOCAL_ROOT: freshRoot(), NEONHUB_PG_PORT: port };
      const run = await runLocal([], env);
      // Had a port been taken as a number, a cluster would run there: never leave one behind.
      if (run.code === 0) await runLocal(["destroy"], env);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`NEONHUB_PG_PORT must be a port number from 1024 to 65535, got "${port}"`);
    }
  });

  it("an unknown argument", async () => {
    const run = await runLocal(["start"], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Unknown argument "start"');
    expect(run.stderr).toContain("up|stop|status|env|destroy");
    expect(run.stdout).toBe("");
  });

  it("with --json, an error is also one JSON document on stdout, as neonhub-db's, and the exit code stays 1", async () => {
    const unknown = await runLocal(["start", "--json"], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown argument "start"');
    expect(JSON.parse(unknown.stdout)).toEqual({
      error: { code: "setup", message: expect.stringContaining('Unknown argument "start"'), fix: null },
      warnings: [],
    });
    const env = { NEONHUB_LOCAL_ROOT: freshRoot(), NEONHUB_PG_PORT: "postgres" };
    const port = await runLocal(["--json"], env);
    if (port.code === 0) await runLocal(["destroy"], env);
    expect(port.code).toBe(1);
    const { error } = JSON.parse(port.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("setup");
    expect(error.message).toContain(
      'NEONHUB_PG_PORT must be a port number from 1024 to 65535, got "postgres"',
    );
    const envRun = await runLocal(["env", "--json"], { NEONHUB_LOCAL_ROOT: freshRoot() });
    expect(envRun.code).toBe(1);
    expect(JSON.parse(envRun.stdout).error.message).toContain("No local environment yet");
  });

  it("a PostgreSQL older than 14", async () => {
    const run = await runLocal([], {
      NEONHUB_LOCAL_ROOT: freshRoot(),
      NEONHUB_PG_BINDIR: fakeInstallation("13.2"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("PostgreSQL 13.2");
    expect(run.stderr).toContain("is older than 14");
    expect(run.stderr).toMatch(/install PostgreSQL 14\+ there, or unset NEONHUB_PG_BINDIR/);
  });

  it("a PostgreSQL without pgvector that it may not change", async () => {
    const run = await runLocal([], {
      NEONHUB_LOCAL_ROOT: freshRoot(),
      NEONHUB_PG_BINDIR: fakeInstallation("16.4"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("PostgreSQL 16.4");
    expect(run.stderr).toContain("has no pgvector extension");
    expect(run.stderr).toContain("install pgvector there");
  });
});

describe("npm dependencies", () => {
  const lock = readFileSync(path.join(ROOT, "package-lock.json"), "utf8");
  const installed = readFileSync(path.join(ROOT, "node_modules", ".package-lock.json"), "utf8");

  it("a tree that `npm ci` installed directly counts as installed (no reinstall)", () => {
    expect(deps.installedMatchesLock(lock, installed)).toBe(true);
  });

  it("a package at another version than the lock file's does not", () => {
    const other = JSON.parse(installed) as { packages: Record<string, { version: string }> };
    other.packages["node_modules/pg"] = { ...other.packages["node_modules/pg"], version: "0.0.1" };
    expect(deps.installedMatchesLock(lock, JSON.stringify(other))).toBe(false);
    delete other.packages["node_modules/pg"];
    expect(deps.installedMatchesLock(lock, JSON.stringify(other))).toBe(false);
  });
});
