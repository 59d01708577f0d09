// The local stack without a Pulumi CLI: the `neonhub` database in the local cluster with production's owner,
// migrator, app and read-only roles (the access definition, as SQL), the schema release applied by the
// release engine's CLI as the migrator, and a .env file with the app's and the migrator's connection strings.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { PROJECT_ROOT } = require("./deps");
const { SetupError, log } = require("./report");
const { redactUrl: redact } = require("./redact");
const { clusterStatements, databaseStatements, roleNames } = require("./access-sql");
const { RECREATE } = require("./cluster");

const DATABASE = "neonhub";
const SEED_SETS = ["demo"];

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function ensureDatabase(adminUrl, database) {
  // Loaded here: `pg` exists only after ensureNodeModules() ran.
  const { Client } = require("pg");
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${database}"`);
    log(`created database ${database}`);
    return true;
  } finally {
    await client.end();
  }
}

/** The stacks' default role prefix (infra/config.ts): the local roles are named as production's. */
const ROLE_PREFIX = "neonhub";

function withLogin(url, user, password) {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

/** The logins' passwords, made once per cluster and kept beside it (mode 600). */
function loginPasswords(root) {
  const file = path.join(root, LOGINS_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    const make = () => crypto.randomBytes(18).toString("base64url");
    const passwords = { migrator: make(), app: make(), readonly: make() };
    fs.writeFileSync(file, JSON.stringify(passwords), { mode: 0o600 });
    return passwords;
  }
}

/**
 * The owner, migrator, app and read-only roles with the access layer's grants (scripts/lib/access-sql.js),
 * as the cluster's admin. Refuses a database an older quick start released as the admin: its tables belong
 * to the admin, so the app login would be denied and the owner could not change them.
 */
async function ensureAccessRoles(adminUrl, database, names, passwords) {
  const { Client } = require("pg");
  const connect = async (url) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    return client;
  };
  const inDatabase = await connect(withDatabase(adminUrl, database));
  try {
    // Checked before anything changes, so a refused run leaves the cluster as it was.
    const foreign = await inDatabase.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND c.relowner IS DISTINCT FROM (SELECT oid FROM pg_roles WHERE rolname = $1)
        LIMIT 1`,
      [names.owner],
    );
    if (foreign.rowCount) {
      throw new SetupError(
        `The local database "${database}" was released by an older \`npm run local\` as the cluster's admin (table "${foreign.rows[0].relname}" is not owned by ${names.owner}), so the app and migrator logins cannot use it. Recreate it: npm run local -- destroy && npm run local`,
      );
    }
    const admin = await connect(adminUrl);
    let existing;
    try {
      const found = await admin.query("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", [
        Object.values(names),
      ]);
      existing = new Set(found.rows.map((row) => row.rolname));
      for (const sql of clusterStatements(names, passwords, database, existing)) await admin.query(sql);
    } finally {
      await admin.end();
    }
    for (const sql of databaseStatements(names)) await inDatabase.query(sql);
    return existing.size < Object.keys(names).length;
  } finally {
    await inDatabase.end();
  }
}

/**
 * Refuses, with the way out, a cluster whose admin password file no longer holds the superuser's password
 * (changed by hand, or taken from another cluster): every later step would fail on it.
 * @param {{ adminUrl: string, paths: { passwordFile: string } }} running
 */
async function checkAdminLogin(running) {
  const { Client } = require("pg");
  const client = new Client({ connectionString: running.adminUrl });
  try {
    await client.connect();
  } catch (error) {
    if (error && error.code === "28P01") {
      throw new SetupError(
        `The local cluster's admin password file ${running.paths.passwordFile} does not hold the cluster's superuser password (it was changed or replaced), so the superuser cannot log in. ${RECREATE}`,
      );
    }
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The file loginPasswords keeps: the sign that the engine-only path (`--no-pulumi`) made the cluster's roles. */
const LOGINS_FILE = "logins.json";

/**
 * Before `pulumi up --stack local` on a stack whose state holds no access layer: the database and roles the
 * stack makes (infra/access.ts, through @pulumi/postgresql, whose Role and Database refuse to create what
 * exists), dropped when the engine-only path made them (`npm run local -- --no-pulumi`: its logins file is
 * there), so that the stack makes them with its own passwords, as on a first run; `pulumi up` applies the
 * release and the demo seed set again. The same rule as a cluster made anew, which starts the stack over: the
 * stack's state and the cluster describe one set of roles. Roles it cannot tell the origin of (no logins
 * file: made by hand, or by a stack whose state is gone) are refused with the way out, not dropped. Returns
 * what it dropped.
 * @param {{ adminUrl: string, paths: { root: string } }} running
 * @param {{ database?: string, names?: ReturnType<typeof roleNames> }} [target] the stacks' names unless given
 * @returns {Promise<{ database: string | undefined, roles: string[] }>}
 */
async function dropAccessOutsideStack(running, target = {}) {
  const database = target.database ?? DATABASE;
  const names = target.names ?? roleNames(ROLE_PREFIX);
  const { Client } = require("pg");
  const admin = new Client({ connectionString: running.adminUrl });
  await admin.connect();
  try {
    const found = await admin.query(
      `SELECT (SELECT datname::text FROM pg_database WHERE datname = $1) AS database,
              ARRAY(SELECT rolname::text FROM pg_roles WHERE rolname = ANY($2) ORDER BY rolname) AS roles`,
      [database, Object.values(names)],
    );
    const present = { database: found.rows[0].database ?? undefined, roles: found.rows[0].roles };
    if (present.database === undefined && present.roles.length === 0) return present;
    const what = [
      ...(present.database ? [`database ${present.database}`] : []),
      ...(present.roles.length ? [`roles ${present.roles.join(", ")}`] : []),
    ].join(" and ");
    const loginsFile = path.join(running.paths.root, LOGINS_FILE);
    if (!fs.existsSync(loginsFile)) {
      throw new SetupError(
        `The local cluster has ${what}, which the local stack's state does not hold and \`npm run local -- --no-pulumi\` did not make (made by hand, or by a local stack whose state is gone), so \`pulumi up --stack local\` cannot create them. Drop them as the cluster's admin (\`npm run -s local -- env --admin\`), or keep them and run \`npm run local -- --no-pulumi\`. ${RECREATE}`,
      );
    }
    log(
      `the local cluster's ${what} were made by \`npm run local -- --no-pulumi\`, and the local stack makes its own: dropping them, so that pulumi up makes them with the stack's passwords and applies the release and the demo seed set again (rows written to the local database since are gone; \`npm run local -- --no-pulumi\` keeps using them instead)`,
    );
    if (present.database) await admin.query(`DROP DATABASE ${ident(present.database)} WITH (FORCE)`);
    for (const role of present.roles) {
      try {
        await admin.query(`DROP ROLE ${ident(role)}`);
      } catch (error) {
        // Objects or privileges of the role in another database of the cluster (2BP01).
        throw new SetupError(
          `Cannot drop role ${role} of the local cluster: ${error.message}. Drop what it owns or was granted there (\`DROP OWNED BY ${ident(role)}\` in that database, as the cluster's admin), then run npm run local again. ${RECREATE}`,
        );
      }
    }
    // The dropped logins' passwords, and the .env that held them.
    for (const file of [loginsFile, path.join(running.paths.root, "neonhub.env")])
      fs.rmSync(file, { force: true });
    return present;
  } finally {
    await admin.end();
  }
}

const ident = (name) => `"${String(name).replace(/"/g, '""')}"`;

/** @param {{ adminUrl: string, paths: { root: string } }} running */
async function localEnvironment(running) {
  const createdDatabase = await ensureDatabase(running.adminUrl, DATABASE);
  const names = roleNames(ROLE_PREFIX);
  const passwords = loginPasswords(running.paths.root);
  const createdRoles = await ensureAccessRoles(running.adminUrl, DATABASE, names, passwords);
  if (createdRoles) log(`created roles ${Object.values(names).join(", ")}`);
  const url = withDatabase(running.adminUrl, DATABASE);
  // Production's logins: the app under row-level security, the migrator for the release. The admin
  // (the cluster's superuser) only sets them up.
  const databaseUrl = withLogin(url, names.app, passwords.app);
  const directUrl = withLogin(url, names.migrator, passwords.migrator);
  const readonlyUrl = withLogin(url, names.readonly, passwords.readonly);
  return {
    database: DATABASE,
    createdDatabase: createdDatabase || createdRoles,
    roles: names,
    databaseUrl,
    directUrl,
    readonlyUrl,
    adminUrl: url,
    redacted: {
      databaseUrl: redact(databaseUrl),
      directUrl: redact(directUrl),
      readonlyUrl: redact(readonlyUrl),
      adminUrl: redact(url),
    },
    envFile: path.join(running.paths.root, "neonhub.env"),
    applyRelease: ({ json }) => applyRelease(directUrl, json, names.owner),
  };
}

/**
 * The environment `pulumi up --stack local` made: app and migrator logins from the stack outputs.
 * @param {{ paths: { root: string } }} running
 * @param {{ databaseUrl: string, directUrl: string }} outputs
 */
function pulumiEnvironment(running, outputs) {
  return {
    database: decodeURIComponent(new URL(outputs.databaseUrl).pathname.slice(1)),
    createdDatabase: false,
    databaseUrl: outputs.databaseUrl,
    directUrl: outputs.directUrl,
    redacted: { databaseUrl: redact(outputs.databaseUrl), directUrl: redact(outputs.directUrl) },
    envFile: path.join(running.paths.root, "neonhub.env"),
  };
}

/** Database connection settings a shell may hold for another database (`set -a; eval "$(... env)"`, libpq's). */
const CONNECTION_VARIABLE =
  /^(?:DATABASE_URL|DIRECT_URL|DIRECT_DATABASE_URL|ADMIN_URL|READONLY_DATABASE_URL|SHADOW_DATABASE_URL|PG[A-Z]+)$/;

/**
 * The environment for a child that works on the local cluster: the shell's without any database connection
 * setting (the names above, and any variable holding a postgres:// URL), so nothing in it can point the child
 * at another database. The child is given the local cluster's URL explicitly.
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function withoutConnectionSettings(base = process.env) {
  return Object.fromEntries(
    Object.entries(base).filter(
      ([name, value]) => !CONNECTION_VARIABLE.test(name) && !/^postgres(?:ql)?:\/\//i.test(value ?? ""),
    ),
  );
}

/** The error code and fix of a failed neonhub-db command's --json document; {} when stdout holds none. */
function engineError(stdout) {
  try {
    const { error } = JSON.parse(stdout);
    return typeof error?.code === "string" ? { code: error.code, fix: error.fix ?? null } : {};
  } catch {
    return {};
  }
}

/** Runs `neonhub-db apply` as the migrator and returns its JSON summary. Progress goes to stderr. */
function applyRelease(directUrl, json, ownerRole) {
  const cli = path.join(PROJECT_ROOT, "bin", "neonhub-db.js");
  const args = [
    cli,
    "apply",
    "--json",
    "--owner-role",
    ownerRole,
    ...SEED_SETS.flatMap((s) => ["--seed", s]),
  ];
  log(`neonhub-db apply ${SEED_SETS.map((s) => `--seed ${s}`).join(" ")}`);
  const result = spawnSync(process.execPath, args, {
    cwd: PROJECT_ROOT,
    // The shell's DIRECT_URL would come before DATABASE_URL (cli/main.ts): the child gets no connection setting
    // of the shell, and the local migrator's URL as DIRECT_URL (not --database-url: a process list shows that).
    env: { ...withoutConnectionSettings(), DIRECT_URL: directUrl },
    encoding: "utf8",
    stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
  });
  if (result.status !== 0) {
    const detail = json ? `\n${result.stderr.trim()}` : "";
    throw new SetupError(
      `Applying the schema release to the local database failed (exit ${result.status}).${detail}`,
      engineError(result.stdout),
    );
  }
  const report = JSON.parse(result.stdout);
  return { changed: report.changed === true, summary: report.summary ?? report };
}

/**
 * What a Prisma app needs in its .env: DATABASE_URL (the app login) and the migrator's URL under both names
 * a Prisma app may read it under. The admin's URL is not in it: an app never needs the superuser.
 */
function writeEnvFile(env) {
  const lines = [
    `DATABASE_URL=${env.databaseUrl}`,
    `DIRECT_URL=${env.directUrl}`,
    `DIRECT_DATABASE_URL=${env.directUrl}`,
    ...(env.readonlyUrl ? [`READONLY_DATABASE_URL=${env.readonlyUrl}`] : []),
    "",
  ];
  const text = lines.join("\n");
  fs.writeFileSync(env.envFile, text, { mode: 0o600 });
}

module.exports = {
  checkAdminLogin,
  dropAccessOutsideStack,
  localEnvironment,
  pulumiEnvironment,
  writeEnvFile,
  withDatabase,
  withoutConnectionSettings,
};
