// The quick-start scripts as a user meets them: `npm run local` on a fresh folder, twice, then stopped, and
// the messages a missing prerequisite produces. Each run uses its own cluster folder and port.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { runScript, type CliRun } from "../support/cli";

// The setup scripts are plain CommonJS so that they run before `npm ci` has installed anything.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const deps = require("../../scripts/lib/deps") as typeof import("../../scripts/lib/deps");

const ROOT = path.resolve(__dirname, "..", "..");

function freshRoot(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "neonhub-local-"));
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

describe("npm run local", () => {
  const root = freshRoot();
  let env: Record<string, string> = {};

  it("brings the environment up, then a second run changes nothing, then stop stops it", async () => {
    env = { NEONHUB_LOCAL_ROOT: root, NEONHUB_PG_PORT: String(await freePort()) };
    const first = await runLocal(["--json"], env);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const up = JSON.parse(first.stdout) as {
      changed: boolean;
      databaseUrl: string;
      release: { appliedMigrations: number };
    };
    expect(up.changed).toBe(true);
    expect(up.databaseUrl).toMatch(/^postgresql:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/neonhub$/);
    expect(up.release.appliedMigrations).toBeGreaterThan(0);

    const second = await runLocal([], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("nothing changed");
    expect(second.stderr).toContain("No Pulumi CLI on PATH");

    // The printed .env really connects, and the schema is there.
    const envFile = await runLocal(["env"], env);
    const databaseUrl = /^DATABASE_URL=(.*)$/m.exec(envFile.stdout)?.[1];
    expect(databaseUrl).toBeDefined();
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const tables = await client.query(`SELECT to_regclass('"Chunk"') AS chunk`);
      expect(tables.rows[0].chunk).toBe('"Chunk"');
    } finally {
      await client.end();
    }

    const stop = await runLocal(["stop"], env);
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

  it("a port that is not a number", async () => {
    const run = await runLocal([], { NEONHUB_LOCAL_ROOT: freshRoot(), NEONHUB_PG_PORT: "postgres" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('NEONHUB_PG_PORT must be a port number from 1024 to 65535, got "postgres"');
  });

  it("an unknown argument", async () => {
    const run = await runLocal(["start"], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Unknown argument "start"');
    expect(run.stderr).toContain("up|stop|status|env|destroy");
  });

  /** An installation that claims a version, with an empty extension folder (no pgvector). */
  function fakeInstallation(version: string): string {
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
    return bin;
  }

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
