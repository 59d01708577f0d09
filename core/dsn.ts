// Connection strings: validated up front (so a typo fails before any connection) and never printed with
// their password.
import { ReleaseError } from "./errors";

export interface DatabaseTarget {
  url: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** The password, kept only so that redaction can find it in any text. */
  password: string;
}

const SCHEMES = new Set(["postgres:", "postgresql:"]);

/** Parses a PostgreSQL URL; `source` names where it came from (a flag, an env var, a config key). */
export function parseDatabaseUrl(url: string, source: string): DatabaseTarget {
  const example = "postgresql://user:password@127.0.0.1:5432/neonhub";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ReleaseError("invalid-input", `${source} is not a valid URL.`, `Use the form ${example}.`);
  }
  if (!SCHEMES.has(parsed.protocol)) {
    throw new ReleaseError(
      "invalid-input",
      `${source} must start with postgresql:// (got ${parsed.protocol}//).`,
      `Use the form ${example}.`,
    );
  }
  if (!parsed.hostname) {
    throw new ReleaseError("invalid-input", `${source} has no host.`, `Use the form ${example}.`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!database) {
    throw new ReleaseError(
      "invalid-input",
      `${source} names no database.`,
      `Add it after the host: ${example}.`,
    );
  }
  const port = parsed.port ? Number(parsed.port) : 5432;
  return {
    url,
    host: parsed.hostname,
    port,
    database,
    user: decodeURIComponent(parsed.username) || "postgres",
    password: decodeURIComponent(parsed.password),
  };
}

/** The URL with its password replaced by ****. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:****@");
  }
}

/** Replaces every occurrence of each secret (raw and URL-encoded) in `text`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join("****");
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/g, "$1:****@");
}
