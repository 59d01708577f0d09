// Connection strings: parsed once, with pg's own parser (pg-connection-string, what the driver itself uses),
// so that this tool reads a URL exactly as the connection will; validated up front (a typo fails before any
// connection) and never printed with their password.
import { isIP } from "node:net";
import type { ClientConfig } from "pg";
import { parse as parseConnectionString, toClientConfig } from "pg-connection-string";
import { ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";
import { shellWord } from "./shell-word";

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

/** What a masked secret shows in its place, wherever one is masked (redactSecrets, a health finding). */
export const SECRET_MASK = "****";

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

/**
 * Where a URL has an "@" after the "/", "?" or "#" that ends its authority (`user:password@host:port`): in its
 * path (`inPath`), or anywhere after (`anywhere`). A password with an unencoded "/", "?" or "#" puts its own
 * "@" there, and pg then reads the rest of the password as the host (`u:p@ss/w:rd@db` connects to `ss`) or
 * refuses the URL. A legitimate URL has one only in its query (`application_name=a@b`), or in a database name,
 * where %40 reads the same.
 */
function atAfterAuthority(url: string): { inPath: boolean; anywhere: boolean } {
  const rest = url.replace(SCHEMES, "");
  const end = rest.search(/[/?#]/);
  if (end < 0) return { inPath: false, anywhere: false };
  const after = rest.slice(end);
  const path = after.startsWith("/") ? after.split(/[?#]/)[0]! : "";
  return { inPath: path.includes("@"), anywhere: after.includes("@") };
}

/**
 * The refusal of such a URL. It names no part of the URL: the host pg would read, and everything before the
 * last "@", may be the password's text.
 */
const UNENCODED_PASSWORD = {
  problem:
    'cannot be read as user:password@host: an "@" comes after a "/", "?" or "#", so its password probably holds one of those characters unencoded, and the driver would read the rest of the password as the host',
  fix: 'Percent-encode the password\'s special characters (encodeURIComponent does): "@" as %40, "/" as %2F, ":" as %3A, "?" as %3F, "#" as %23, "%" as %25. An "@" in the database name is written %40 too.',
};

/** libpq's sslmode values, and pg's own no-verify (TLS, certificate not checked). */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full", "no-verify"];

/**
 * How the driver reads a URL's sslmode: as libpq does (require: encrypted, certificate not checked;
 * verify-ca and verify-full: checked against sslrootcert, or Node's CAs), which is what psql, the stacks'
 * connection strings ("sslmode=require", docs/stacks.md) and the docs mean by it. pg 8 by itself reads
 * prefer, require and verify-ca as verify-full, printing a SECURITY WARNING that says so: a server whose CA
 * is not among Node's, RDS's, then refuses `sslmode=require`. A URL that sets uselibpqcompat itself, or asks
 * for pg's own no-verify, keeps pg's reading (the parser refuses both settings at once, and libpq's reading
 * has no no-verify).
 */
function parseOptions(url: string): { useLibpqCompat?: boolean } {
  return /[?&](uselibpqcompat=|sslmode=no-verify(&|$))/i.test(url) ? {} : { useLibpqCompat: true };
}

/**
 * The driver's configuration for a URL that readConnectionUrl accepted: what openClient connects with.
 * `allow` (libpq: a plain connection first, TLS only if the server insists) is a plain connection: pg has no
 * fallback between the two, and the libpq reading above would make it TLS.
 */
export function driverConfig(url: string): ClientConfig {
  const config = parseConnectionString(url, parseOptions(url));
  if (config.sslmode === "allow") config.ssl = false;
  // pg names the server to TLS only when its host is a name, not an address, and Node then checks the
  // certificate against "localhost": the address is named here, so a certificate is checked against it.
  if (typeof config.ssl === "object" && config.host && isIP(config.host) !== 0) {
    config.ssl = { ...config.ssl, host: config.host } as typeof config.ssl;
  }
  return toClientConfig(config);
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
 * (libpq's default is the user's name; the stack's admin URL uses `postgres`); `sslModes` narrows the sslmode
 * values accepted (the admin URL goes to a provider that knows libpq's alone).
 */
export function readConnectionUrl(
  url: string,
  options: { defaultDatabase?: string; sslModes?: readonly string[] } = {},
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
  const at = atAfterAuthority(url);
  if (at.inPath) return refuse(UNENCODED_PASSWORD.problem, UNENCODED_PASSWORD.fix);
  let config: ReturnType<typeof parseConnectionString>;
  try {
    config = parseConnectionString(url, parseOptions(url));
  } catch (error) {
    // pg's parser reads the files sslrootcert, sslcert and sslkey name while it parses.
    const {
      code,
      path: file,
      message = "",
    } = (error ?? {}) as { code?: string; path?: string; message?: string };
    if (code && file) {
      return refuse(
        `names a file that cannot be read: ${file} (${code})`,
        "Check the sslrootcert, sslcert and sslkey parameters of the URL: each names a file on this machine.",
      );
    }
    if (/verify-ca requires specifying a CA/.test(message)) {
      return refuse(
        "has sslmode=verify-ca without sslrootcert, the CA to check the server's certificate against",
        "Add sslrootcert=/path/to/ca.pem (for RDS, the region's bundle from AWS), or use sslmode=verify-full, which checks the certificate against Node's CAs and the host name.",
      );
    }
    if (/both useLibpqCompat and uselibpqcompat/i.test(message)) {
      return refuse("sets uselibpqcompat and sslmode=no-verify together", "Leave one of them out.");
    }
    const port = portOf(url);
    if (port !== undefined && (port < 1 || port > 65535)) {
      return refuse(
        `has port ${port}, which is no TCP port`,
        `Use a port from 1 to 65535 (5432 is PostgreSQL's): ${EXAMPLE}.`,
      );
    }
    if (at.anywhere) return refuse(UNENCODED_PASSWORD.problem, UNENCODED_PASSWORD.fix);
    return refuse("is not a valid URL");
  }
  const sslModes = options.sslModes ?? SSL_MODES;
  if (typeof config.sslmode === "string" && !sslModes.includes(config.sslmode)) {
    return refuse(
      `has sslmode=${config.sslmode}`,
      `Use one of ${sslModes.join(", ")} (require encrypts; verify-full also checks the certificate and host name).`,
    );
  }
  if (!config.host) return refuse("has no host");
  const database = config.database || options.defaultDatabase;
  if (!database) return refuse("names no database", `Add it after the host: ${EXAMPLE}.`);
  const withNul = nulPart(config);
  if (withNul) {
    return refuse(
      `has a NUL character (%00) in its ${withNul}`,
      `Remove the %00 from the URL's ${withNul}: no PostgreSQL ${withNul} holds a NUL character (the login sends it as a C string, which ends at the first NUL).`,
    );
  }
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

/**
 * Which part of the URL the driver would send with a NUL character in it, if any: the startup packet and the
 * password message hold the user, the database and the password as NUL-terminated strings, which the server
 * refused ("invalid startup packet layout" for a user or a database). Named by its part alone: the password's
 * text, or a user's that may hold some of it, is never shown.
 */
function nulPart(config: { user?: string | null; database?: string | null; password?: string | null }) {
  if (config.user?.includes("\u0000")) return "user name";
  if (config.database?.includes("\u0000")) return "database name";
  if (config.password?.includes("\u0000")) return "password";
  return undefined;
}

/**
 * The port of a URL as written, when it is all digits: read after the last "@", so that nothing of the
 * user info (a password with an unencoded "/" or ":") is ever taken for it and shown.
 */
function portOf(url: string): number | undefined {
  const afterScheme = url.slice(url.indexOf("://") + 3);
  const hostPart = afterScheme.slice(afterScheme.lastIndexOf("@") + 1);
  const port = /^(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/.exec(hostPart)?.[1];
  return port === undefined ? undefined : Number(port);
}

/**
 * A URL's user name as messages show it: as the server sees it, percent-escapes decoded (`a%3Ab` is the role
 * a:b; readConnectionUrl's `user`, which pg's parser decodes), quoted as an SQL identifier as the fixes quote
 * it, so that a quote or a space in it cannot be taken for the end of the name.
 */
export function shownUser(user: string): string {
  return quoteIdentifier(user);
}

/** Parses a PostgreSQL URL; `source` names where it came from (a flag, an env var, a config key). */
export function parseDatabaseUrl(url: string, source: string): DatabaseTarget {
  const reading = readConnectionUrl(url);
  if (!reading.ok) throw new ReleaseError("invalid-input", `${source} ${reading.problem}.`, reading.fix);
  const { userGiven: _userGiven, ...parts } = reading.parts;
  return { url, ...parts };
}

/**
 * The target of a command's options: their URL, read as parseDatabaseUrl reads it, a mistake named after
 * where the URL came from (`--database-url`, `$DIRECT_URL`; default "the database URL").
 */
export function targetOf(options: { databaseUrl: string; databaseUrlSource?: string }): DatabaseTarget {
  return parseDatabaseUrl(options.databaseUrl, options.databaseUrlSource ?? "the database URL");
}

/** The password in a connection string as the driver reads it; "" when it has none or is no URL. */
export function passwordOf(url: string): string {
  try {
    return parseConnectionString(url).password ?? "";
  } catch {
    return "";
  }
}

/**
 * A postgresql:// URL cut where its password is, as the driver reads it: its authority ends at the first "/",
 * "?" or "#", and its user information at the authority's last "@" (a raw "@" in a password is common). Any
 * character may stand in the password (a quote, a space: pg's parser takes both), so it is found by position,
 * never by what it holds: `before` ends with the user name, `after` starts with the "@" (both "" and the whole
 * URL in `before` when it has no password there). Undefined for what is no postgresql:// URL.
 */
function passwordSplit(url: string): { before: string; after: string } | undefined {
  const scheme = SCHEMES.exec(url)?.[0];
  if (scheme === undefined) return undefined;
  const rest = url.slice(scheme.length);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const at = authority.lastIndexOf("@");
  const colon = authority.indexOf(":");
  if (at < 0 || colon < 0 || colon > at) return { before: url, after: "" };
  return { before: url.slice(0, scheme.length + colon), after: url.slice(scheme.length + at) };
}

/** A URL's query with each `password` parameter replaced: `without` drops it, else its value becomes ****. */
function queryWithPassword(url: string, mask: "without" | "masked"): string {
  const query = /\?([^#]*)/.exec(url);
  if (!query) return url;
  const pairs = query[1]!.split("&");
  const kept =
    mask === "without"
      ? pairs.filter((pair) => !/^password(=|$)/i.test(pair))
      : pairs.map((pair) => (/^password=/i.test(pair) ? `password=${SECRET_MASK}` : pair));
  const before = url.slice(0, query.index);
  const after = url.slice(query.index + query[0].length);
  return before + (kept.length > 0 ? `?${kept.join("&")}` : "") + after;
}

/**
 * The URL without its password: the user information's (`user:password@` becomes `user@`) and a `password`
 * query parameter. The driver takes the password of a URL without one from PGPASSWORD, else ~/.pgpass, as
 * libpq does: what a command printed for the operator to run holds instead of a masked one, which would not
 * log in. Undefined for what is not a postgresql:// URL: where its password is cannot be told, so none of it
 * is shown (redactSecrets does not recognise it either).
 */
export function urlWithoutPassword(url: string): string | undefined {
  const split = passwordSplit(url);
  if (split === undefined) return undefined;
  return queryWithPassword(split.before + split.after, "without");
}

/**
 * The URL with its password replaced by ****, wherever it stands and whatever it holds: a URL a result names
 * (`database`, "Release status of ...") is masked by position, as the driver reads it, not by redactSecrets'
 * pattern, which a quote or a space in the password would end early. What is no postgresql:// URL is masked
 * as any text is.
 */
export function redactUrl(url: string): string {
  const split = passwordSplit(url);
  if (split === undefined) return redactSecrets(url);
  const masked = split.after === "" ? split.before : `${split.before}:${SECRET_MASK}${split.after}`;
  return queryWithPassword(masked, "masked");
}

/**
 * A SQL statement's password literal: `PASSWORD '...'` of CREATE ROLE, ALTER ROLE and CREATE USER, as a
 * failed migration's report quotes the statement back (core/migrations/failure.ts), with or without
 * ENCRYPTED, its string plain ('it''s'), escaped (E'it\\'s') or dollar-quoted ($pw$...$pw$). The space
 * before it may be a line break (a statement quoted whole keeps its own); the literal ends on its line, so
 * that a quote left open in prose never runs the mask into the next line of a --json document.
 */
const SQL_PASSWORD_LITERAL =
  /\b(password\s+)('(?:[^'\n]|'')*'|[eE]'(?:[^'\\\n]|''|\\.)*'|(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$).*?\3)/gi;

/** The same literal masked: what a report shows in its place, quoted as a literal still. */
function maskedSqlLiteral(_match: string, keyword: string, _literal: string, dollar?: string): string {
  return `${keyword}${dollar ? `${dollar}${SECRET_MASK}${dollar}` : `'${SECRET_MASK}'`}`;
}

/**
 * A text the operator gave (an argument, an environment variable) with the password it holds masked, or
 * undefined when it holds none. It is echoed whole where it does not belong (`Unexpected argument "..."`, a
 * flag's refused value), so what ends the password cannot be told from what follows it: every character
 * between the user name's ":" and the text's last "@" is masked, a "/", "?", "#", quote or space included,
 * and so is a `password=` query parameter's value up to its "&" (libpq's `password=...` keyword, to its end).
 */
function maskedGivenText(given: string): string | undefined {
  const userInfo = /^([a-z][a-z0-9+.-]*:\/\/[^:/@?#\s]*):[\s\S]*@/i.exec(given);
  const masked = (userInfo ? `${userInfo[1]}:${SECRET_MASK}@${given.slice(userInfo[0].length)}` : given)
    .replace(/([?&]password=)[^&#]*/gi, `$1${SECRET_MASK}`)
    .replace(/(^|\s)(password\s*=\s*)('[^']*'|\S+)/gi, `$1$2${SECRET_MASK}`);
  return masked === given ? undefined : masked;
}

/** The forms an echoed text takes: as typed, inside a JSON string (`--set "..."`), as a printed command's word. */
function echoedForms(text: string): string[] {
  return [text, JSON.stringify(text).slice(1, -1), shellWord(text)];
}

/**
 * Masks the password field of every connection string in `text`: `postgresql://user:****@host`, libpq's
 * `password=****` and a SQL statement's `PASSWORD '****'`. Only the field: a password's text elsewhere is
 * left alone, so that a short one (`x`, `postgres`) does not turn `extensions` into `e****tensions` or hide a
 * user name. `given`: the texts the operator gave (the arguments, the connection strings of the
 * environment); each one that holds a password is masked whole wherever it is echoed, for the pattern below
 * ends a password at a space or a double quote, which pg's parser takes in one (`u:my pass@host`).
 */
export function redactSecrets(text: string, given: readonly string[] = []): string {
  let masked = text;
  for (const one of given) {
    const shown = maskedGivenText(one);
    if (shown === undefined) continue;
    const maskedForms = echoedForms(shown);
    echoedForms(one).forEach((form, i) => (masked = masked.split(form).join(maskedForms[i])));
  }
  return (
    masked
      // Up to the last '@' of the URL (a raw '@' in a password is common). The password may hold a ' or a `,
      // which encodeURIComponent leaves as they are; it ends at whitespace or a double quote (a JSON string's
      // end, which encodeURIComponent encodes as %22).
      .replace(/(postgres(?:ql)?:\/\/[^:/@\s"'`]*):[^\s"]*@/gi, `$1:${SECRET_MASK}@`)
      .replace(/\b(password\s*=\s*)('[^']*'|[^\s'"]+)/gi, `$1${SECRET_MASK}`)
      .replace(SQL_PASSWORD_LITERAL, maskedSqlLiteral)
  );
}
