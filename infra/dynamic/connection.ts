// Where a release part runs, and how read and delete reach it. The connection string is a secret input, and
// outputs never hold a password; but the dynamic-provider host hands `read` and `delete` the recorded outputs
// only (not the inputs). They therefore connect with the recorded password-free connection string, the
// password coming, at run time, from DIRECT_URL (when it names the same server and database) or from
// libpq's own sources (PGPASSWORD, PGPASSFILE, ~/.pgpass), which node-postgres reads.
import { parseDatabaseUrl } from "../../core";

/** `host:port/database`: the release's identity. A new one means another database, so a new resource. */
export function targetOf(url: string, source: string): string {
  const target = parseDatabaseUrl(url, source);
  return `${target.host}:${target.port}/${target.database}`;
}

/** The connection string without its password, keeping only the sslmode parameter. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  const sslmode = parsed.searchParams.get("sslmode");
  parsed.search = sslmode ? `?sslmode=${encodeURIComponent(sslmode)}` : "";
  return parsed.toString();
}

export interface RecordedConnection {
  url: string;
  /** Where the credentials come from, for messages. */
  source: string;
}

/** How read and delete connect to a recorded target. Reads the environment now, never earlier. */
export function recordedConnection(recorded: { target: string; connection: string }): RecordedConnection {
  const direct = process.env.DIRECT_URL;
  if (direct) {
    try {
      if (targetOf(direct, "DIRECT_URL") === recorded.target) return { url: direct, source: "DIRECT_URL" };
    } catch {
      // Not a usable URL: fall back to the recorded connection rather than failing on an unrelated variable.
    }
  }
  return {
    url: recorded.connection,
    source: "the recorded connection (password from PGPASSWORD or ~/.pgpass)",
  };
}
