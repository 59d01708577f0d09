// One way to open a connection, used by every command: bounded connect time, an application_name that
// shows up in pg_stat_activity (and in lock-holder reports), session settings that read and create as the
// engine expects, and errors that name host, port and fix.
import { Client, type QueryResult } from "pg";
import { driverConfig, shownUser, type DatabaseTarget } from "./dsn";
import { MIGRATOR_URL_SOURCES, ReleaseError } from "./errors";
import { COMMAND_SESSION_SETTINGS_SQL, sessionSettingsRefusal } from "./session-settings";
import { TOO_MANY_CONNECTIONS, tooManyConnectionsError } from "./too-many-connections";

export interface ConnectOptions {
  /** Shown in pg_stat_activity, e.g. "neonhub-db:apply". */
  applicationName: string;
  /** How long to wait for the server to accept the connection. */
  connectTimeoutMs?: number;
  /**
   * Session settings (statements without parameters), sent in the same message as the first query when that
   * is plain text, so that they cost no round trip of their own (a no-op plan stays at two).
   */
  sessionSql?: readonly string[];
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export async function openClient(target: DatabaseTarget, options: ConnectOptions): Promise<Client> {
  const timeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const client = new Client({
    ...driverConfig(target.url),
    application_name: options.applicationName,
    connectionTimeoutMillis: timeout,
    // Notices that a dead server cannot send: without keepalive a killed server leaves us waiting forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw describeConnectError(error, target, timeout);
  }
  sendWithFirstQuery(client, target, [COMMAND_SESSION_SETTINGS_SQL, ...(options.sessionSql ?? [])]);
  return client;
}

/** A statement that opens a transaction: BEGIN, START TRANSACTION. */
const OPENS_TRANSACTION = /^\s*(?:begin|start\s+transaction)\b/i;

/**
 * Prefixes the client's first query with `statements` and hands back that query's own result(s). Two cases
 * cannot share a message: a first query with parameters or a stream (COPY), and one that opens a transaction
 * (the statements of one message run in one implicit transaction, which a BEGIN in it keeps open: it would
 * keep the isolation level the role or the database gave it, as it began before the statements set theirs).
 * The statements then go just before it, as a query of their own, and the first query is sent once they
 * succeeded: none runs without them. A failure the login can do something about (sessionSettingsRefusal)
 * becomes that error, on the first query.
 */
function sendWithFirstQuery(client: Client, target: DatabaseTarget, statements: readonly string[]): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const describe = (error: unknown) => {
    throw sessionSettingsRefusal(error, target) ?? error;
  };
  client.query = ((...args: unknown[]) => {
    delete (client as { query?: unknown }).query; // back to the prototype's
    const [first, ...rest] = args;
    if (typeof first === "string" && rest.length === 0 && !OPENS_TRANSACTION.test(first)) {
      return (query(`${statements.join(";\n")};\n${first}`) as Promise<QueryResult | QueryResult[]>).then(
        (results) => {
          const own = (results as QueryResult[]).slice(statements.length);
          return own.length === 1 ? own[0] : own;
        },
        describe,
      );
    }
    const settings = query(statements.join(";\n")) as Promise<unknown>;
    if (!answersWithCallback(args)) return settings.then(() => query(...args), describe);
    // A stream or a callback is handed back at once, queued behind the statements: should they fail, the
    // connection is ended, so that it does not run without them (it then fails as a connection lost).
    settings.catch(() => client.end().catch(() => {}));
    return query(...args);
  }) as typeof client.query;
}

/** Whether a query is a stream (pg's Submittable, such as COPY) or takes a callback: pg returns no promise. */
function answersWithCallback(args: readonly unknown[]): boolean {
  const [first] = args;
  const submittable = typeof (first as { submit?: unknown } | null)?.submit === "function";
  return submittable || args.some((arg) => typeof arg === "function");
}

/** Closes a client without letting a dead connection turn cleanup into a second error. */
export async function closeClient(client: Client | undefined): Promise<void> {
  if (client) await client.end().catch(() => {});
}

interface PgLikeError {
  code?: string;
  message?: string;
}

function describeConnectError(error: unknown, target: DatabaseTarget, timeoutMs: number): ReleaseError {
  const { code, message = String(error) } = (error ?? {}) as PgLikeError;
  const where = `${target.host}:${target.port}`;
  // A session_replication_role in the URL's options that the login may not set: refused as the session's.
  const refusal = sessionSettingsRefusal(error, target);
  if (refusal) return refusal;
  switch (code) {
    case "ECONNREFUSED":
      return new ReleaseError(
        "connection",
        `Cannot connect to PostgreSQL at ${where}: connection refused.`,
        "Check that the server is running and that host and port in the database URL are right.",
        { cause: error },
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ReleaseError(
        "connection",
        `Cannot resolve the host ${target.host}.`,
        "Check the host in the database URL.",
        {
          cause: error,
        },
      );
    case "28P01":
      return new ReleaseError(
        "authentication",
        `Password authentication failed for user ${shownUser(target.user)} at ${where}.`,
        // The server says the same for a role that does not exist, so as not to tell who may log in: after a
        // pg_dump restored into a new cluster, the stack's roles are not there yet.
        `Check the user and password in the database URL: use the connection string the stack or the local cluster gives (the migrator's: ${MIGRATOR_URL_SOURCES}; baseline's and adopt's admin: \`npm run -s local -- env --admin\` locally). The server says the same when the role does not exist there: a database restored with pg_dump into a new cluster has none of the stack's roles until they are made (docs/runbook.md, "Restoring or copying a released database").`,
        { cause: error },
      );
    case "28000":
      return new ReleaseError(
        "authentication",
        `The server at ${where} does not accept user ${shownUser(target.user)} for database "${target.database}": ${message}`,
        `Check pg_hba.conf on the server, or the user in the database URL (the migrator's connection string: ${MIGRATOR_URL_SOURCES}).`,
        { cause: error },
      );
    case TOO_MANY_CONNECTIONS:
      return tooManyConnectionsError(error, target);
    case "3D000":
      return new ReleaseError(
        "missing-database",
        `Database "${target.database}" does not exist at ${where}.`,
        `Create it (CREATE DATABASE "${target.database}") or fix the database name in the URL.`,
        { cause: error },
      );
  }
  // pg's words when the server asks for a password (SCRAM) and it has none: not in the URL, PGPASSWORD or
  // ~/.pgpass, as with a command printed without its URL's password (cli/confirm-command.ts).
  if (/client password must be a string/i.test(message)) {
    return new ReleaseError(
      "authentication",
      `The server at ${where} asks user ${shownUser(target.user)} for a password, and none was given: the database URL has none, and neither PGPASSWORD nor ~/.pgpass holds one.`,
      `Give the password in PGPASSWORD, in ~/.pgpass (a line host:port:database:user:password, the file readable by its owner alone), or in the database URL (the migrator's connection string: ${MIGRATOR_URL_SOURCES}).`,
      { cause: error },
    );
  }
  if (/does not support SSL/i.test(message)) {
    return new ReleaseError(
      "connection",
      `PostgreSQL at ${where} does not accept TLS, and the database URL asks for it (sslmode=${target.sslmode ?? "…"}).`,
      "Drop sslmode from the URL (or set sslmode=disable) for a server without TLS, such as the local cluster; a managed server (RDS, Aurora) accepts it.",
      { cause: error },
    );
  }
  if (
    /self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer/i.test(
      message,
    )
  ) {
    return new ReleaseError(
      "connection",
      `The TLS certificate of PostgreSQL at ${where} could not be verified: ${message}.`,
      "Name the server's CA with sslrootcert=/path/to/ca.pem in the URL (for RDS, the region's bundle from AWS).",
      { cause: error },
    );
  }
  if (/does not match certificate's altnames/i.test(message)) {
    return new ReleaseError(
      "connection",
      `${target.host} is not the name its TLS certificate was issued for (PostgreSQL at ${where}): ${message}.`,
      "Connect by a name the certificate names (for RDS, the endpoint's), or use sslmode=verify-ca, which checks the certificate against sslrootcert but not the host name.",
      { cause: error },
    );
  }
  if (/timeout/i.test(message)) {
    return new ReleaseError(
      "connection",
      `PostgreSQL at ${where} did not answer within ${timeoutMs / 1000} s.`,
      "Check that the host and port are right and reachable from here (firewall, VPN, security group).",
      { cause: error },
    );
  }
  return new ReleaseError("connection", `Cannot connect to PostgreSQL at ${where}: ${message}`, undefined, {
    cause: error,
  });
}

/** True when an error means the connection itself is gone (server stopped, network cut). */
export function isConnectionLost(error: unknown): boolean {
  const { code, message = "" } = (error ?? {}) as PgLikeError;
  return (
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    /Connection terminated|connection.*closed|not queryable/i.test(message)
  );
}
