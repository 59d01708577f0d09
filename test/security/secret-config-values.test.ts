// Stack config errors and the values they show: a key held as a secret is refused without its value (nor
// anything made of it: its length, a number derived from it, a name built on it), whichever key it is; a
// plain value is shown by the CLI's rule (core/shown-value.ts), and text holding a password never.
import { describe, expect, it } from "vitest";
import { InvalidConfigError, KNOWN_KEYS, SERVER_KEYS, parseStackConfig } from "../../infra/config";

const MARKER = "Zq9Secret";
const ADMIN_URL = "postgresql://postgres:LocalPw123@127.0.0.1:54329/postgres";

/** What each server kind needs besides the key under test, so that the key's own check runs. */
const SERVER_BASE: Record<string, Record<string, string>> = {
  existing: { adminUrl: ADMIN_URL },
  docker: { server: "docker" },
  rds: { server: "rds", allowedCidrs: '["10.0.0.0/16"]' },
  aurora: { server: "aurora", engineVersion: "16.6", allowedCidrs: '["10.0.0.0/16"]' },
};

/** A value of `key` its check refuses, holding the marker. */
function refusedValue(key: string): string {
  switch (key) {
    case "seedSets":
    case "subnetIds":
    case "allowedCidrs":
    case "allowedSecurityGroupIds":
      return JSON.stringify([MARKER]);
    case "vectorIndexes":
      return JSON.stringify({ method: MARKER });
    case "legacyUpgrade":
      return JSON.stringify({ organization: `${MARKER}!` });
    case "adminUrl":
      return `postgresql://postgres:${MARKER}@127.0.0.1:99999/postgres`;
    default:
      return MARKER;
  }
}

/** The refusal of `key` set to a refused value, on a server that reads it, held as a secret or in plain text. */
function messageFor(key: string, secret: boolean): string {
  const kind = SERVER_KEYS[key]?.[0] ?? "existing";
  return messageOf(
    { ...SERVER_BASE[kind], [key]: refusedValue(key) },
    secret ? [key, "adminUrl"] : ["adminUrl"],
  );
}

function messageOf(
  values: Record<string, string>,
  secret: string[],
  isSecret = (key: string): boolean | undefined => secret.includes(key),
): string {
  try {
    parseStackConfig({ stack: "test", values, isSecret, awsRegion: "us-east-1" });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected InvalidConfigError for ${JSON.stringify(values)}`);
}

describe("a key held as a secret", () => {
  it.each(KNOWN_KEYS.map((key) => [key]))("%s: refused, naming the key and not the value", (key) => {
    const message = messageFor(key, true);
    expect(message).toContain(`neonhub-db:${key}`);
    expect(message).not.toContain(MARKER);
  });

  it("is refused without a value another key's message would show, or a number made of it", () => {
    const rds = SERVER_BASE.rds!;
    const cases: [Record<string, string>, string, string[]][] = [
      [{ ...rds, allocatedStorageGb: "537", maxAllocatedStorageGb: "200" }, "allocatedStorageGb", ["537"]],
      [{ ...rds, allocatedStorageGb: "37", alarmFreeStorageGb: "40" }, "allocatedStorageGb", ["37"]],
      [{ ...rds, instanceClass: "db.r6g.large", memoryMb: "8192" }, "instanceClass", ["r6g", "16384"]],
      [{ ...rds, masterUsername: "neonhub_owner" }, "masterUsername", ["neonhub_owner"]],
      [
        { adminUrl: ADMIN_URL, migrationLockTimeoutSeconds: "47", migrationStatementTimeoutSeconds: "45" },
        "migrationLockTimeoutSeconds",
        ["47"],
      ],
      [{ adminUrl: ADMIN_URL, rolePrefix: "pg" }, "rolePrefix", ['"pg"', "pg_owner"]],
      [{ adminUrl: ADMIN_URL.replace(/postgres$/, "zqdb"), database: "zqdb" }, "database", ["zqdb"]],
      [
        { ...rds, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
        "kmsKeyArn",
        ["eu-west-1"],
      ],
      [
        {
          ...rds,
          vpcId: "vpc-0123456789abcdef0",
          subnetIds: '["subnet-0fedcba987654321a","subnet-0fedcba987654321a"]',
        },
        "subnetIds",
        ["subnet-0fedcba987654321a"],
      ],
      [{ ...rds, engineVersion: "99" }, "engineVersion", ["99"]],
      [{ ...rds, instanceClass: "x".repeat(50) }, "instanceClass", ["50 characters"]],
    ];
    for (const [values, secretKey, hidden] of cases) {
      const plain = messageOf(values, ["adminUrl"]);
      const secret = messageOf(values, ["adminUrl", secretKey]);
      // In plain text the message does show them: the secret's message is the one that leaves them out.
      for (const text of hidden) {
        expect(plain).toContain(text);
        expect(secret).not.toContain(text);
      }
    }
  });

  it("is any key the runtime cannot tell about", () => {
    const message = messageOf({ adminUrl: ADMIN_URL, workload: MARKER }, [], () => undefined);
    expect(message).toMatch(/neonhub-db:workload: must be one of .* \(got a secret value\)/);
  });
});

describe("a key in plain text", () => {
  it("shows a short value, as the CLI does", () => {
    // adminUrl's value is never shown, plain or secret.
    for (const key of KNOWN_KEYS.filter((known) => known !== "adminUrl")) {
      expect(messageFor(key, false)).toContain(MARKER);
    }
  });

  it("never shows text holding a password, such as a connection string under the wrong key", () => {
    const password = "Zq9Pw-42";
    for (const value of [
      `postgresql://neonhub:${password}@db.internal:5432/neonhub`,
      `host=db password=${password}`,
    ]) {
      const message = messageOf({ ...SERVER_BASE.rds, adminTunnel: value }, ["adminUrl"]);
      expect(message).toMatch(
        /neonhub-db:adminTunnel: must be host:port \(got a value holding a password, not shown\)/,
      );
      expect(message).not.toContain(password);
    }
  });

  it("describes a long value by its length", () => {
    const long = `db.${"x".repeat(60)}`;
    const message = messageOf({ ...SERVER_BASE.rds, instanceClass: `${long} ` }, ["adminUrl"]);
    expect(message).toMatch(
      /instanceClass: must be an RDS instance class like db\.r6g\.large \(got a string of 63 characters\)/,
    );
    expect(message).not.toContain(long);
  });
});
