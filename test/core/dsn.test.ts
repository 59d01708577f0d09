// Connection strings are read once, with pg's own parser, and never printed with their password; the faults
// found with hostile inputs: a bare "%" in a password, masking that replaced a short password's text
// wherever it appeared, and a password holding a quote or a space shown whole in a command's report.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import {
  ReleaseError,
  parseDatabaseUrl,
  readConnectionUrl,
  redactSecrets,
  redactUrl,
  urlWithoutPassword,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";

function refusal(url: string): ReleaseError {
  try {
    parseDatabaseUrl(url, "DATABASE_URL");
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe("reading a database URL", () => {
  it("reads user, password, host, port and database exactly as the driver does", () => {
    const urls = [
      "postgresql://postgres:p%40ss%2Fword@127.0.0.1:54329/neonhub",
      "postgres://app:pw@[::1]:5433/my%20db?sslmode=require",
      "postgresql://migrator:x@db.internal/neonhub",
    ];
    for (const url of urls) {
      const target = parseDatabaseUrl(url, "DATABASE_URL");
      // What node-postgres itself will connect with.
      const driver = new Client({ connectionString: url });
      expect({
        user: target.user,
        password: target.password,
        host: target.host,
        port: target.port,
        database: target.database,
      }).toEqual({
        user: driver.user,
        password: driver.password,
        host: driver.host,
        port: driver.port,
        database: driver.database,
      });
    }
    expect(parseDatabaseUrl(urls[0]!, "DATABASE_URL").password).toBe("p@ss/word");
    expect(parseDatabaseUrl(urls[1]!, "DATABASE_URL").sslmode).toBe("require");
  });

  it("refuses a password with a bare % with a clear error naming the fix (%25)", () => {
    const error = refusal("postgresql://app:50%off@127.0.0.1:5432/neonhub");
    expect(error.code).toBe("invalid-input");
    expect(error.message).toBe('DATABASE_URL has a "%" that is not percent-encoded in its password.');
    expect(error.fix).toContain("%25");
    expect(error.describe()).not.toContain("50%off");
    // Encoded, the same password is read as written.
    expect(parseDatabaseUrl("postgresql://app:50%25off@127.0.0.1:5432/neonhub", "x").password).toBe("50%off");
  });

  it("names what is missing or wrong", () => {
    expect(refusal("mysql://root:pw@127.0.0.1/db").message).toMatch(/must start with postgresql:\/\//);
    expect(refusal("not a url").message).toBe("DATABASE_URL is not a valid URL.");
    expect(refusal("postgresql://app:pw@127.0.0.1:5432").message).toBe("DATABASE_URL names no database.");
    // pg's parser reads the certificate files while it parses: a missing one is named, not "not a valid URL".
    const missingCa = refusal(
      "postgresql://app:pw@127.0.0.1:5432/db?sslmode=verify-full&sslrootcert=/no/such/ca.pem",
    );
    expect(missingCa.message).toBe(
      "DATABASE_URL names a file that cannot be read: /no/such/ca.pem (ENOENT).",
    );
    expect(missingCa.fix).toMatch(/sslrootcert, sslcert and sslkey/);
    // A port out of range is named; digits inside a password with an unencoded "/" never are.
    expect(refusal("postgresql://app:pw@127.0.0.1:99999/db").message).toBe(
      "DATABASE_URL has port 99999, which is no TCP port.",
    );
    expect(refusal("postgresql://app:pw@[::1]:70000/db").message).toBe(
      "DATABASE_URL has port 70000, which is no TCP port.",
    );
    expect(refusal("postgresql://app:99999/x@127.0.0.1/db").describe()).not.toContain("99999");
    expect(readConnectionUrl("postgresql://app:pw@127.0.0.1", { defaultDatabase: "postgres" })).toMatchObject(
      {
        ok: true,
        parts: { database: "postgres", userGiven: true },
      },
    );
  });
});

describe("a password with an unencoded @, / or :", () => {
  it("is refused with the percent-encoding to use, naming no part of the URL before its last @", () => {
    for (const url of [
      "postgresql://u:p@Qx/w:Rd@127.0.0.1:5432/db", // pg would connect to the host "Qx"
      "postgresql://u:Zq/Wv@127.0.0.1:5432/db",
      "postgresql://u:Zq?Wv@127.0.0.1:5432/db",
      "postgresql://u:Zq#Wv@127.0.0.1:5432/db",
    ]) {
      const error = refusal(url);
      expect(error.code, url).toBe("invalid-input");
      expect(error.message).toMatch(/password probably holds one of those characters unencoded/);
      expect(error.fix).toContain('"@" as %40, "/" as %2F, ":" as %3A');
      for (const part of ["Qx", "w:Rd", "Zq", "Wv"]) expect(error.describe()).not.toContain(part);
    }
    // Encoded, the same password is read as written; a raw "@" or ":" that pg reads right stays accepted.
    expect(parseDatabaseUrl("postgresql://u:p%40ss%2Fw%3Ard@127.0.0.1:5432/db", "x")).toMatchObject({
      password: "p@ss/w:rd",
      host: "127.0.0.1",
    });
    expect(parseDatabaseUrl("postgresql://u:p@ss:w@127.0.0.1:5432/db", "x").password).toBe("p@ss:w");
    // An "@" in the query is no password's.
    expect(parseDatabaseUrl("postgresql://u:pw@127.0.0.1:5432/db?application_name=a@b", "x").host).toBe(
      "127.0.0.1",
    );
  });

  describe("the CLI, with such a login", () => {
    const db = useTestDatabase("atpw");
    const role = `atpw_${randomBytes(4).toString("hex")}`;
    const password = "Kq7@Zx/Vb:Jm";
    afterAll(() => withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

    it("refuses the raw URL before connecting, without its password, and connects with the encoded one", async () => {
      await withClient(db.current.adminUrl, (c) =>
        c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`),
      );
      const { host, pathname } = new URL(db.current.url); // host: with its port
      const raw = `postgresql://${role}:${password}@${host}${pathname}`;
      const run = await runCli(["status", "--json"], { DATABASE_URL: raw });
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
      expect(error.code).toBe("invalid-input");
      expect(error.message).toContain("DATABASE_URL cannot be read as user:password@host");
      expect(error.message).not.toMatch(/resolve|host Zx/);
      expect(error.fix).toContain("%40");
      for (const part of ["Kq7", "Zx", "Vb", "Jm"]) expect(run.stdout + run.stderr).not.toContain(part);

      const encoded = `postgresql://${role}:${encodeURIComponent(password)}@${host}${pathname}`;
      const ok = await runCli(["status", "--json"], { DATABASE_URL: encoded });
      expect(ok.code, ok.stdout).toBe(0);
    });
  });
});

describe("a URL without its password (what a printed command holds)", () => {
  it.each([
    ["postgresql://app:s3cret@db.example.com:5432/neonhub", "postgresql://app@db.example.com:5432/neonhub"],
    // A raw "@" in the password: the user information ends at the authority's last "@".
    [
      "postgres://app:p@ss@127.0.0.1/neonhub?sslmode=require",
      "postgres://app@127.0.0.1/neonhub?sslmode=require",
    ],
    [
      "postgresql://app:pw@[::1]:5433/db?application_name=a@b",
      "postgresql://app@[::1]:5433/db?application_name=a@b",
    ],
    // In the query, alone or among other parameters.
    ["postgresql://app@h/db?password=pw", "postgresql://app@h/db"],
    [
      "postgresql://app@h/db?sslmode=require&password=pw&connect_timeout=5",
      "postgresql://app@h/db?sslmode=require&connect_timeout=5",
    ],
    // Nothing to take out.
    ["postgresql://app@h:5432/db", "postgresql://app@h:5432/db"],
    ["postgresql://h/db", "postgresql://h/db"],
  ])("%s -> %s, which reads as the same target with no password", (url, expected) => {
    const shown = urlWithoutPassword(url);
    expect(shown).toBe(expected);
    const { password, url: _given, ...target } = parseDatabaseUrl(url, "--database-url");
    const { password: none, url: _shown, ...same } = parseDatabaseUrl(expected, "--database-url");
    expect(none).toBe("");
    expect(same).toEqual(target);
    if (password !== "") expect(shown).not.toContain(`:${password}@`);
  });

  it("is undefined for what is no postgresql:// URL, whose password cannot be found", () => {
    expect(urlWithoutPassword("postgress://app:pw@h/db")).toBeUndefined();
    expect(urlWithoutPassword("app:pw@h/db")).toBeUndefined();
  });
});

describe("masking passwords", () => {
  it("masks the URL's password field and nothing else, however short the password", () => {
    expect(redactUrl("postgresql://postgres:x@127.0.0.1:5432/extensions")).toBe(
      "postgresql://postgres:****@127.0.0.1:5432/extensions",
    );
    const line = 'creating extensions as user "postgres" on postgresql://postgres:postgres@127.0.0.1/neonhub';
    expect(redactSecrets(line)).toBe(
      'creating extensions as user "postgres" on postgresql://postgres:****@127.0.0.1/neonhub',
    );
    // A raw '@' in a password is masked whole; libpq's key=value form too.
    expect(redactSecrets("url postgresql://app:p@ss@db.internal/x done")).toBe(
      "url postgresql://app:****@db.internal/x done",
    );
    expect(redactSecrets("host=db password=s3cret dbname=x")).toBe("host=db password=**** dbname=x");
  });

  it.each([
    // encodeURIComponent leaves ' ( ) ! * as they are; pg's parser takes a raw space, " and @ too.
    ["postgresql://app:it's(ok)!*@127.0.0.1:5432/db", "postgresql://app:****@127.0.0.1:5432/db"],
    ["postgresql://app:sec ret@127.0.0.1:5432/db", "postgresql://app:****@127.0.0.1:5432/db"],
    [
      'postgresql://app:a"b`c@127.0.0.1/db?sslmode=disable',
      "postgresql://app:****@127.0.0.1/db?sslmode=disable",
    ],
    ["postgresql://app:p@s s'x@127.0.0.1/db", "postgresql://app:****@127.0.0.1/db"],
    ["postgresql://app:@127.0.0.1/db", "postgresql://app:****@127.0.0.1/db"],
    [
      "postgresql://app@h/db?sslmode=require&password=it's",
      "postgresql://app@h/db?sslmode=require&password=****",
    ],
    ["postgresql://app@h:5432/db?application_name=a@b", "postgresql://app@h:5432/db?application_name=a@b"],
  ])("redactUrl masks the password of %s wherever it stands, whatever it holds", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("masks a percent-encoded password that holds a quote in any text", () => {
    const password = encodeURIComponent(`p@s s:w/o%r#d?"x'y`);
    expect(password).toContain("'");
    expect(redactSecrets(`Release status of postgresql://app:${password}@127.0.0.1:5432/db`)).toBe(
      "Release status of postgresql://app:****@127.0.0.1:5432/db",
    );
    // A JSON string ends at its double quote: the mask does not run into the next one.
    expect(redactSecrets(`["postgresql://app:it's@h/db","a@b"]`)).toBe(
      `["postgresql://app:****@h/db","a@b"]`,
    );
  });

  it.each([
    ["CREATE ROLE r LOGIN PASSWORD 'it''s';", "CREATE ROLE r LOGIN PASSWORD '****';"],
    [
      "ALTER ROLE r WITH ENCRYPTED PASSWORD E'a\\'b' VALID UNTIL 'infinity';",
      "ALTER ROLE r WITH ENCRYPTED PASSWORD '****' VALID UNTIL 'infinity';",
    ],
    ["create user r password $pw$a b$pw$;", "create user r password $pw$****$pw$;"],
    ["ALTER ROLE r PASSWORD $$x$$;", "ALTER ROLE r PASSWORD $$****$$;"],
    ["ALTER ROLE r\n  PASSWORD\n  'x y';", "ALTER ROLE r\n  PASSWORD\n  '****';"],
  ])("masks a SQL statement's password literal: %s", (statement, expected) => {
    expect(redactSecrets(statement)).toBe(expected);
  });

  it("leaves SQL without a password literal as it is, and never runs a mask past its line", () => {
    for (const text of ["SET password_encryption = 'scram-sha-256';", "ALTER ROLE r PASSWORD NULL;"]) {
      expect(redactSecrets(text)).toBe(text);
    }
    // A quote left open in prose: the next line of a --json document keeps its quotes and its text.
    const document = `{\n  "message": "the password 'x is wrong",\n  "fix": "run 'status'"\n}`;
    expect(redactSecrets(document)).toBe(document);
  });

  it("masks a given text holding a password whole, as typed, JSON-escaped or as a shell word", () => {
    const url = `postgresql://app:a b"c'd@127.0.0.1:5432/db`;
    const masked = "postgresql://app:****@127.0.0.1:5432/db";
    expect(redactSecrets(`Unexpected argument "${url}".`, [url])).toBe(`Unexpected argument "${masked}".`);
    expect(redactSecrets(`--set ${JSON.stringify(url)} is not key=value.`, [url])).toBe(
      `--set ${JSON.stringify(masked)} is not key=value.`,
    );
    expect(redactSecrets(`neonhub-db plan 'postgresql://app:a b"c'\\''d@127.0.0.1:5432/db'`, [url])).toBe(
      `neonhub-db plan '${masked}'`,
    );
    // Given raw with "/", "#" and "?" in the password, masked up to the text's last "@"; a password
    // parameter with a space in it, whole; a given text without a password changes nothing.
    const raw = "postgresql://app:p/w#x?y@h/db";
    expect(redactSecrets(`got "${raw}"`, [raw])).toBe('got "postgresql://app:****@h/db"');
    const query = "postgresql://app@h/db?password=a b&sslmode=require";
    // (The password= pattern then masks the rest of the parameter list too, as it does in any text.)
    expect(redactSecrets(`got "${query}"`, [query])).toBe('got "postgresql://app@h/db?password=****"');
    expect(redactSecrets('Unknown command "plna".', ["plna", "x"])).toBe('Unknown command "plna".');
  });

  describe("the CLI, logged in with a password that holds a quote, a space and an @", () => {
    const db = useTestDatabase("quotepw");
    const role = `quotepw_${randomBytes(4).toString("hex")}`;
    const password = `Kq7'Zx Vb@Jm"(Wd)`;
    afterAll(() => withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

    it("never shows it, given raw or percent-encoded", async () => {
      await withClient(db.current.adminUrl, (c) =>
        c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password.replace(/'/g, "''")}'`),
      );
      const { host, pathname } = new URL(db.current.url); // host: with its port
      for (const given of [password, encodeURIComponent(password)]) {
        const url = `postgresql://${role}:${given}@${host}${pathname}`;
        for (const args of [["status"], ["plan"], ["status", "--json"]]) {
          const run = await runCli(args, { DATABASE_URL: url });
          expect(run.stderr, `${args.join(" ")} with ${given}`).not.toContain("error");
          expect(run.stdout).toContain(`postgresql://${role}:****@${host}${pathname}`);
          for (const part of ["Kq7", "Zx", "Vb", "Jm", "Wd"])
            expect(run.stdout + run.stderr).not.toContain(part);
        }
      }
    });
  });

  it("the CLI reports a bare % as the user's mistake, not as a bug", async () => {
    const run = await runCli(["plan", "--json"], {
      DATABASE_URL: "postgresql://app:50%off@127.0.0.1:1/neonhub",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/unexpected error|URIError|\n\s+at /);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error).toMatchObject({
      code: "invalid-input",
      message: expect.stringContaining("not percent-encoded"),
    });
    expect(error.fix).toContain("%25");
    expect(run.stdout + run.stderr).not.toContain("50%off");
  });

  describe("a NUL character (%00) in the user, the database name or the password", () => {
    const db = useTestDatabase("nulurl");

    it("is refused naming the part, never the password, where the server said 'invalid startup packet layout'", async () => {
      const url = new URL(db.current.url);
      url.password = "s3cret-pass";
      const withNul = (part: "username" | "pathname" | "password") => {
        const changed = new URL(url);
        changed[part] = `${changed[part]}%00x`;
        return changed.toString();
      };
      const cases = [
        ["pathname", "database name"],
        ["username", "user name"],
        ["password", "password"],
      ] as const;
      for (const [part, named] of cases) {
        const error = refusal(withNul(part));
        expect(error.code).toBe("invalid-input");
        expect(error.message).toBe(`DATABASE_URL has a NUL character (%00) in its ${named}.`);
        expect(error.fix).toContain(`Remove the %00 from the URL's ${named}`);
        // Through the CLI, on a server that runs: refused before any connection, in --json too.
        const run = await runCli(["status", "--json"], { DATABASE_URL: withNul(part) });
        expect(run.code).toBe(1);
        const { error: printed } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
        expect(printed).toMatchObject({ code: "invalid-input", message: error.message });
        expect(run.stderr).not.toContain("startup packet");
        expect(run.stdout + run.stderr).not.toContain("s3cret-pass");
      }
    });
  });

  describe("a URL that asks for TLS of a server without it", () => {
    const db = useTestDatabase("nossl");
    it("says so, with the fix, and no password", async () => {
      const url = new URL(db.current.url);
      url.searchParams.set("sslmode", "require");
      const run = await runCli(["status", "--json"], { DATABASE_URL: url.toString() });
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
      expect(error.code).toBe("connection");
      expect(error.message).toMatch(
        /does not accept TLS, and the database URL asks for it \(sslmode=require\)/,
      );
      expect(error.fix).toMatch(/sslmode=disable/);
      if (url.password) expect(run.stdout + run.stderr).not.toContain(url.password);
    });
  });

  describe("the CLI, logged in with the password x", () => {
    const db = useTestDatabase("shortpw");
    const role = `shortpw_${randomBytes(4).toString("hex")}`;
    afterAll(() => withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

    it("prints words that contain the password's text as they are", async () => {
      await withClient(db.current.adminUrl, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x'`));
      const url = new URL(db.current.url);
      url.username = role;
      url.password = "x";
      const run = await runCli(["plan"], { DATABASE_URL: url.toString() });
      expect(run.stderr).not.toContain("error");
      // A new role may not create pgvector: the plan is blocked (exit 1), naming the "vector" extension.
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('The "vector" extension is not enabled in this database');
      expect(run.stdout).toContain("20250126000100_extensions");
      expect(run.stdout).not.toContain("e****tensions");
      // The password shows only as the URL's masked field.
      expect(run.stdout.split("****")).toHaveLength(2);
      expect(run.stdout).toContain(`${role}:****@`);
    });
  });
});
