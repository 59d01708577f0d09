// Connection strings: parsed once, with pg's own parser (pg-connection-string, what the driver itself uses),
// so that this tool reads a URL exactly as the connection will; validated up front (a typo fails before any
// connection) and never printed with their password.
import { parse as parseConnectionString } from "pg-connection-string";
import { ReleaseError } from "./errors";

export interface DatabaseTarget {
  url: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** The password as the driver will send it. Never printed. */
  password: string;
  /** `sslmode` from the URL's query, when it has one. */
  sslmode?: string;
}

const SCHEMES = /^postgres(?:ql)?:\/\//i;
const EXAMPLE = "postgresql://user:password@127.0.0.1:5432/neonhub";

/**
 * A `%` that does not start a percent-escape (`%` and two hex digits). pg's parser then re-encodes the whole
 * URL, so `p%ss` would be read as `p%ss` but `p%41ss` as `pAss`: rather than guess, the URL is refused.
 */
const BARE_PERCENT = /%(?![0-9a-fA-F]{2})/;

/** The user-information part (`user:password`) of a URL: up to its last `@` (a raw one in a password is common). */
function userInfo(url: string): string {
  const rest = url.replace(SCHEMES, "");
  const at = rest.lastIndexOf("@");
  return at >= 0 ? rest.slice(0, at) : "";
}

/** What a URL holds, as the driver reads it; `userGiven` tells an explicit user from the default. */
export interface ConnectionUrlParts extends Omit<DatabaseTarget, "url"> {
  userGiven: boolean;
}

/** A URL read, or why it cannot be: `problem` reads after the URL's name ("has no host"). */
export type ConnectionUrlReading =
  | { ok: true; parts: ConnectionUrlParts }
  | { ok: false; problem: string; fix: string };

/**
 * Reads a PostgreSQL URL with pg's own parser. The one place a URL is parsed: the CLI, the release engine, the
 * stack config and the dynamic providers all come here. `defaultDatabase` stands in for a URL without one
 * (libpq's default is the user's name; the stack's admin URL uses `postgres`).
 */
export function readConnectionUrl(
  url: string,
  options: { defaultDatabase?: string } = {},
): ConnectionUrlReading {
  const refuse = (problem: string, fix = `Use the form ${EXAMPLE}.`) => ({
    ok: false as const,
    problem,
    fix,
  });
  if (!SCHEMES.test(url)) {
    const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1];
    return refuse(scheme ? `must start with postgresql:// (got ${scheme}//)` : "is not a valid URL");
  }
  if (BARE_PERCENT.test(url)) {
    const inPassword = BARE_PERCENT.test(userInfo(url).split(":").slice(1).join(":"));
    return refuse(
      `has a "%" that is not percent-encoded${inPassword ? " in its password" : ""}`,
      'Percent-encode it as %25 (in a URL "%" starts an escape such as %40 for "@"): a password p%ss is written p%25ss.',
    );
  }
  let config: ReturnType<typeof parseConnectionString>;
  try {
    config = parseConnectionString(url);
  } catch (error) {
    // pg's parser reads the files sslrootcert, sslcert and sslkey name while it parses.
    const { code, path: file } = (error ?? {}) as { code?: string; path?: string };
    if (code && file) {
      return refuse(
        `names a file that cannot be read: ${file} (${code})`,
        "Check the sslrootcert, sslcert and sslkey parameters of the URL: each names a file on this machine.",
      );
    }
    return refuse("is not a valid URL");
  }
  if (!config.host) return refuse("has no host");
  const database = config.database || options.defaultDatabase;
  if (!database) return refuse("names no database", `Add it after the host: ${EXAMPLE}.`);
  return {
    ok: true,
    parts: {
      host: config.host,
      port: config.port ? Number(config.port) : 5432,
      database,
      user: config.user || "postgres",
      userGiven: Boolean(config.user),
      password: config.password ?? "",
      ...(typeof config.sslmode === "string" ? { sslmode: config.sslmode } : {}),
    },
  };
}

/** Parses a PostgreSQL URL; `source` names where it came from (a flag, an env var, a config key). */
export function parseDatabaseUrl(url: string, source: string): DatabaseTarget {
  const reading = readConnectionUrl(url);
  if (!reading.ok) throw new ReleaseError("invalid-input", `${source} ${reading.problem}.`, reading.fix);
  const { userGiven: _userGiven, ...parts } = reading.parts;
  return { url, ...parts };
}

/** The password in a connection string as the driver reads it; "" when it has none or is no URL. */
export function passwordOf(url: string): string {
  try {
    return parseConnectionString(url).password ?? "";
  } catch {
    return "";
  }
}

/** The URL with its password replaced by ****. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/**
 * Masks the password field of every connection string in `text`: `postgresql://user:****@host` and
 * libpq's `password=****`. Only the field: a password's text elsewhere is left alone, so that a short one
 * (`x`, `postgres`) does not turn `extensions` into `e****tensions` or hide a user name.
 */
export function redactSecrets(text: string): string {
  return (
    text
      // Up to the last '@' of the URL (a raw '@' in a password is common); a URL ends at whitespace or a quote.
      .replace(/(postgres(?:ql)?:\/\/[^:/@\s"'`]*):[^\s"'`]*@/gi, "$1:****@")
      .replace(/\b(password\s*=\s*)('[^']*'|[^\s'"]+)/gi, "$1****")
  );
}
