// Applies and reverts the project's migrations with node-pg-migrate's programmatic runner, the way the
// release engine does, and dumps a database's schema for comparisons.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Client, type ClientBase } from "pg";
import { pgBindir } from "./database";

export const MIGRATIONS_DIR = path.resolve(__dirname, "..", "..", "migrations");
export const MIGRATIONS_TABLE = "pgmigrations";

export interface MigrateOptions {
  direction?: "up" | "down";
  /** How many migrations to apply or revert; all of them when omitted. */
  count?: number;
}

type Target = { dbClient: ClientBase };

/** Runs migrations against a connection string or an already connected client; returns their names. */
export async function migrate(target: string | ClientBase, options: MigrateOptions = {}): Promise<string[]> {
  // node-pg-migrate is ESM-only; Node 20.19+ loads it through require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runner } = require("node-pg-migrate") as typeof import("node-pg-migrate/dist/bundle/index");
  if (typeof target === "string") {
    // node-pg-migrate does not await the end of a client it opened itself: its session could outlive the call
    // and meet the test's DROP DATABASE. A client of our own is closed before this returns.
    const client = new Client({ connectionString: target });
    client.on("error", () => {});
    await client.connect();
    try {
      return await migrate(client, options);
    } finally {
      await client.end();
    }
  }
  const connection: Target = { dbClient: target };
  const ran = await runner({
    ...connection,
    dir: MIGRATIONS_DIR,
    direction: options.direction ?? "up",
    count: options.count ?? Infinity,
    migrationsTable: MIGRATIONS_TABLE,
    singleTransaction: false,
    checkOrder: true,
    log: () => {},
  });
  return ran.map((m) => m.name);
}

const execFileAsync = promisify(execFile);

/** The environment pg_dump and pg_restore connect to `url` with: the password never on the command line. */
function pgEnv(url: string): NodeJS.ProcessEnv {
  const parsed = new URL(url);
  return {
    ...process.env,
    PGHOST: parsed.hostname,
    PGPORT: parsed.port,
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
  };
}

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

/** Runs pg_dump or pg_restore against `url` with `args`: its exit code. */
export async function pgTool(tool: "pg_dump" | "pg_restore", url: string, args: string[]): Promise<number> {
  return execFileAsync(path.join(pgBindir(), tool), [...args, "--dbname", databaseOf(url)], {
    env: pgEnv(url),
  }).then(
    () => 0,
    (error: { code?: number }) => error.code ?? -1,
  );
}

/**
 * `pg_dump --schema-only` of a database, without the lines that differ between two dumps of the same
 * schema (pg_dump's random `\restrict` key), and with the search settings the release measured (the body of
 * search_tuning_entries(), rewritten by each calibration: data kept as code) reduced to their tables and
 * dimensions, since a measurement may differ between two runs of the same release.
 */
export async function dumpSchema(url: string): Promise<string> {
  const { stdout } = await execFileAsync(
    path.join(pgBindir(), "pg_dump"),
    ["--schema-only", "--dbname", databaseOf(url)],
    { env: pgEnv(url), maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split("\n")
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .map((line) =>
      /^\s+AS \$\$ VALUES \('/.test(line)
        ? line.replace(/\('(\w+)', (\d+), [^)]*\)/g, "('$1', $2, measured)")
        : line,
    )
    .join("\n");
}
