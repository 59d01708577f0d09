// Config validation: each validator on its own, then whole stack configs, then the Pulumi.yaml defaults.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  ConfigValueError,
  DEFAULTS,
  InvalidConfigError,
  KNOWN_KEYS,
  RawStackConfig,
  loadConfig,
  parseStackConfig,
} from "../../infra/config";
import * as v from "../../infra/validators";

/** The stack the validators are called for: every example command they print names it. */
const STACK = "staging";

/** The error a validator throws, for assertions on its key, problem and example. */
function errorOf(run: () => unknown): ConfigValueError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValueError);
    return error as ConfigValueError;
  }
  throw new Error("expected a ConfigValueError");
}

function expectProblem(
  run: () => unknown,
  key: string,
  problem: RegExp,
  example: RegExp = /pulumi config/,
): void {
  const error = errorOf(run);
  expect(error.key).toBe(`neonhub-db:${key}`);
  expect(error.problem).toMatch(problem);
  expect(error.example).toMatch(example);
  // The fix acts on the stack whose config was refused, whichever stack is selected.
  expect(error.example).toMatch(new RegExp(`^pulumi config (set|rm) --stack ${STACK} `));
  expect(error.message).toBe(`neonhub-db:${key}: ${error.problem}. Example: ${error.example}`);
}

describe("validators", () => {
  it("parseChoice accepts listed values and names the choices otherwise", () => {
    expect(v.parseChoice(STACK, "server", undefined, ["existing", "docker"], "existing")).toBe("existing");
    expect(v.parseChoice(STACK, "server", " docker ", ["existing", "docker"], "existing")).toBe("docker");
    expectProblem(
      () => v.parseChoice(STACK, "server", "kubernetes", ["existing", "docker"], "existing"),
      "server",
      /must be one of existing, docker \(got "kubernetes"\)/,
      /^pulumi config set --stack staging neonhub-db:server existing$/,
    );
  });

  it("parseInteger refuses text, decimals and out-of-range numbers", () => {
    const rule = { min: 1024, max: 65535, example: 55432 };
    expect(v.parseInteger(STACK, "dockerPort", "5433", rule)).toBe(5433);
    expect(v.parseInteger(STACK, "dockerPort", undefined, rule)).toBeUndefined();
    for (const bad of ["abc", "5432.5", "80", "70000", "1e4", "-1"]) {
      expectProblem(
        () => v.parseInteger(STACK, "dockerPort", bad, rule),
        "dockerPort",
        /whole number from 1024 to 65535/,
        /neonhub-db:dockerPort 55432/,
      );
    }
  });

  it("parseBoolean accepts true/false only", () => {
    expect(v.parseBoolean(STACK, "keepData", "TRUE", false)).toBe(true);
    expect(v.parseBoolean(STACK, "keepData", undefined, false)).toBe(false);
    expectProblem(
      () => v.parseBoolean(STACK, "keepData", "yes", true),
      "keepData",
      /must be true or false \(got "yes"\)/,
    );
  });

  it("parseIdentifier refuses names that need quoting, are too long or are reserved", () => {
    expect(v.parseIdentifier(STACK, "database", "neonhub_prod", "neonhub")).toBe("neonhub_prod");
    for (const bad of ["NeonHub", "9lives", "neon-hub", "a".repeat(64), "x;drop"]) {
      expectProblem(
        () => v.parseIdentifier(STACK, "database", bad, "neonhub"),
        "database",
        /lower-case PostgreSQL name/,
      );
    }
    expectProblem(() => v.parseIdentifier(STACK, "database", "pg_x", "neonhub"), "database", /reserves/);
    expectProblem(
      () => v.parseIdentifier(STACK, "rolePrefix", "a".repeat(41), "neonhub", 40),
      "rolePrefix",
      /at most 40/,
    );
  });

  it("parseList reads JSON lists and comma-separated text", () => {
    expect(v.parseList(STACK, "allowedCidrs", '["10.0.0.0/16", " 10.0.0.0/8 "]', "x")).toEqual([
      "10.0.0.0/16",
      "10.0.0.0/8",
    ]);
    expect(v.parseList(STACK, "allowedCidrs", "10.0.0.0/16, 10.0.0.0/8", "x")).toEqual([
      "10.0.0.0/16",
      "10.0.0.0/8",
    ]);
    expect(v.parseList(STACK, "allowedCidrs", undefined, "x")).toEqual([]);
    expectProblem(
      () => v.parseList(STACK, "allowedCidrs", "[10.0", "x"),
      "allowedCidrs",
      /not a valid JSON list/,
      /--path/,
    );
    expectProblem(() => v.parseList(STACK, "allowedCidrs", "[1, 2]", "x"), "allowedCidrs", /list of strings/);
  });

  describe("parseAdminUrl", () => {
    it("parses user, password, host, port, database and a loopback sslmode", () => {
      expect(
        v.parseAdminUrl(STACK, "adminUrl", "postgresql://postgres:p%40ss%2Fword@127.0.0.1:54329/postgres"),
      ).toEqual({
        host: "127.0.0.1",
        port: 54329,
        user: "postgres",
        password: "p@ss/word",
        database: "postgres",
        sslmode: "disable",
      });
      expect(v.parseAdminUrl(STACK, "adminUrl", "postgres://admin:pw@db.example.internal")).toMatchObject({
        port: 5432,
        database: "postgres",
        sslmode: "prefer",
      });
      expect(
        v.parseAdminUrl(STACK, "adminUrl", "postgresql://a:pw@db.internal/x?sslmode=verify-full").sslmode,
      ).toBe("verify-full");
    });

    it("names each problem without repeating the password", () => {
      const password = "Sup3rSecretValue";
      const cases: [string | undefined, RegExp][] = [
        [undefined, /is required/],
        [`not a url ${password}`, /is not a valid URL \(value not shown: it holds a password\)/],
        [`mysql://root:${password}@127.0.0.1/db`, /must start with postgresql:\/\//],
        [`postgresql://postgres@127.0.0.1:54329/postgres`, /has no password/],
        [`postgresql://:${password}@127.0.0.1:54329/postgres`, /has no user name/],
        [`postgresql://postgres:${password}@127.0.0.1/postgres?sslmode=sometimes`, /sslmode=sometimes/],
        // node-postgres's own no-verify: the provider's driver knows libpq's values only.
        [
          `postgresql://postgres:${password}@127.0.0.1/postgres?sslmode=no-verify`,
          /has sslmode=no-verify .*Use one of disable, allow, prefer, require, verify-ca, verify-full \(/,
        ],
      ];
      for (const [raw, problem] of cases) {
        const error = errorOf(() => v.parseAdminUrl(STACK, "adminUrl", raw));
        expect(error.problem).toMatch(problem);
        expect(error.example).toMatch(/^pulumi config set --stack staging --secret neonhub-db:adminUrl /);
        expect(error.message).not.toContain(password);
      }
    });
  });

  it("parseImage requires a pinned tag or digest", () => {
    expect(v.parseImage(STACK, "dockerImage", "pgvector/pgvector:0.8.0-pg16", "x")).toBe(
      "pgvector/pgvector:0.8.0-pg16",
    );
    expect(v.parseImage(STACK, "dockerImage", `pgvector/pgvector@sha256:${"a".repeat(64)}`, "x")).toContain(
      "@sha256:",
    );
    expectProblem(
      () => v.parseImage(STACK, "dockerImage", "pgvector/pgvector", "x"),
      "dockerImage",
      /tag or digest/,
    );
    expectProblem(
      () => v.parseImage(STACK, "dockerImage", "Not An Image", "x"),
      "dockerImage",
      /not a container image/,
    );
  });

  it("parseInstanceClass and parseEngineVersion", () => {
    expect(v.parseInstanceClass(STACK, "instanceClass", "db.m7g.xlarge", "x")).toBe("db.m7g.xlarge");
    expectProblem(
      () => v.parseInstanceClass(STACK, "instanceClass", "m7g.xlarge", "x"),
      "instanceClass",
      /like db\.r6g\.large/,
    );
    expect(v.parseEngineVersion(STACK, "engineVersion", undefined, "rds", "16")).toBe("16");
    expect(v.parseEngineVersion(STACK, "engineVersion", "16.6", "aurora", "16")).toBe("16.6");
    expectProblem(
      () => v.parseEngineVersion(STACK, "engineVersion", "15.4", "rds", "16"),
      "engineVersion",
      /PostgreSQL 16/,
    );
    expectProblem(
      () => v.parseEngineVersion(STACK, "engineVersion", undefined, "aurora", "16"),
      "engineVersion",
      /Aurora PostgreSQL needs major\.minor, such as 16\.6 \(got "16"\); the minor is not checked here/,
      /neonhub-db:engineVersion 16\.6/,
    );
  });

  describe("parseEngineVersion", () => {
    const listing =
      "aws rds describe-db-engine-versions --engine postgres --engine-version 16 --query 'DBEngineVersions[].EngineVersion'";

    it("refuses what is no version, saying it checks the form and the major, not the minor", () => {
      for (const bad of ["abc", "16.", "v16", "16.6.1", "16.x", ".6", "16.01", "016"]) {
        const error = errorOf(() => v.parseEngineVersion(STACK, "engineVersion", bad, "rds", "16"));
        expect(error.problem).toBe(
          `is not a PostgreSQL version (got ${JSON.stringify(bad)}): give the major, "16", or major.minor, "16.<minor>"; the minor is not checked here (AWS refuses one it does not offer when it creates the server): list them with ${listing}`,
        );
        expect(error.example).toBe("pulumi config set --stack staging neonhub-db:engineVersion 16");
      }
    });

    it("refuses another major, naming the parameter group family that sets it", () => {
      for (const [engine, family] of [
        ["rds", "postgres16"],
        ["aurora", "aurora-postgresql16"],
      ] as const) {
        for (const other of ["99", "15", "15.4", "17.2"]) {
          expectProblem(
            () => v.parseEngineVersion(STACK, "engineVersion", other, engine, "16"),
            "engineVersion",
            new RegExp(
              `^must be PostgreSQL 16, the major of the ${family} parameter group this program creates \\(got "${other.replace(".", "\\.")}"\\)$`,
            ),
          );
        }
      }
    });

    it("leaves the minor to AWS: a well-formed one of major 16 passes", () => {
      // Which minors exist is AWS's to say; a list here would be wrong by the next release.
      expect(v.parseEngineVersion(STACK, "engineVersion", "16.99", "rds", "16")).toBe("16.99");
      expect(v.parseEngineVersion(STACK, "engineVersion", "16.99", "aurora", "16")).toBe("16.99");
      expect(v.parseEngineVersion(STACK, "engineVersion", " 16.0 ", "rds", "16")).toBe("16.0");
    });
  });

  it("parseCidrList refuses malformed blocks and the open internet", () => {
    expect(v.parseCidrList(STACK, "allowedCidrs", '["10.0.0.0/16","192.168.1.0/24"]')).toHaveLength(2);
    expectProblem(
      () => v.parseCidrList(STACK, "allowedCidrs", '["10.0.0/16"]'),
      "allowedCidrs",
      /not an IPv4 CIDR/,
    );
    expectProblem(
      () => v.parseCidrList(STACK, "allowedCidrs", '["10.0.0.1/16"]'),
      "allowedCidrs",
      /not an IPv4 CIDR/,
    );
    expectProblem(() => v.parseCidrList(STACK, "allowedCidrs", '["0.0.0.0/0"]'), "allowedCidrs", /internet/);
  });

  it("parses AWS ids and ARNs", () => {
    expect(v.parseSecurityGroupIds(STACK, "allowedSecurityGroupIds", "sg-0123456789abcdef0")).toEqual([
      "sg-0123456789abcdef0",
    ]);
    expectProblem(
      () => v.parseSecurityGroupIds(STACK, "allowedSecurityGroupIds", "sg-xyz"),
      "allowedSecurityGroupIds",
      /sg-/,
    );
    expectProblem(() => v.parseSubnetIds(STACK, "subnetIds", '["subnet-1"]'), "subnetIds", /subnet-/);
    expectProblem(() => v.parseVpcId(STACK, "vpcId", "vpc_123"), "vpcId", /vpc-/);
    expectProblem(() => v.parseKmsKeyArn(STACK, "kmsKeyArn", "alias/mine"), "kmsKeyArn", /KMS key ARN/);
    expectProblem(
      () => v.parseVpcCidr(STACK, "vpcCidr", "10.0.0.0/8", "10.42.0.0/16"),
      "vpcCidr",
      /\/16 to \/24/,
    );
  });

  it("refuses a subnet, security group or network listed twice", () => {
    expectProblem(
      () => v.parseSubnetIds(STACK, "subnetIds", '["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]'),
      "subnetIds",
      /^lists "subnet-0123456789abcdef0" twice: an RDS subnet group needs at least two different subnets, in different availability zones; name each once$/,
      /--path 'neonhub-db:subnetIds\[0\]'/,
    );
    // Equal once trimmed: the list's items are read trimmed.
    expectProblem(
      () =>
        v.parseSecurityGroupIds(
          STACK,
          "allowedSecurityGroupIds",
          "sg-0123456789abcdef0, sg-0123456789abcdef0 ",
        ),
      "allowedSecurityGroupIds",
      /^lists "sg-0123456789abcdef0" twice: the security group's rule would list the group twice/,
    );
    expectProblem(
      () => v.parseCidrList(STACK, "allowedCidrs", '["10.0.0.0/16", "10.1.0.0/16", "10.0.0.0/16"]'),
      "allowedCidrs",
      /^lists "10\.0\.0\.0\/16" twice: the security group's rule would list the block twice/,
    );
    expect(
      v.parseSubnetIds(STACK, "subnetIds", '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]'),
    ).toHaveLength(2);
  });

  describe("parseKmsKeyArn", () => {
    const inRegion = (region: string) =>
      `arn:aws:kms:${region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

    it("accepts a key of the stack's region, or any region when the region is not known", () => {
      expect(v.parseKmsKeyArn(STACK, "kmsKeyArn", inRegion("us-east-1"), "us-east-1")).toBe(
        inRegion("us-east-1"),
      );
      expect(v.parseKmsKeyArn(STACK, "kmsKeyArn", inRegion("eu-west-1"), undefined)).toBe(
        inRegion("eu-west-1"),
      );
      expect(v.parseKmsKeyArn(STACK, "kmsKeyArn", undefined, "us-east-1")).toBeUndefined();
    });

    it("refuses a key of another region, which RDS refuses when it creates the server", () => {
      const error = errorOf(() => v.parseKmsKeyArn(STACK, "kmsKeyArn", inRegion("eu-west-1"), "us-east-1"));
      expect(error.key).toBe("neonhub-db:kmsKeyArn");
      expect(error.problem).toBe(
        "is a key in eu-west-1, but the stack deploys to us-east-1: RDS encrypts only with a key of its own region. Give a key in us-east-1 (a multi-Region key's replica there), or remove kmsKeyArn and the stack creates one",
      );
      expect(error.example).toBe(
        `pulumi config set --stack staging neonhub-db:kmsKeyArn ${inRegion("us-east-1")}`,
      );
      expect(error.withoutValue().problem).not.toContain("eu-west-1");
    });
  });

  it("parsePerformanceInsightsRetention, parseHostPort and parseMasterUsername", () => {
    expect(v.parsePerformanceInsightsRetention(STACK, "performanceInsightsRetentionDays", "93", 7)).toBe(93);
    expectProblem(
      () => v.parsePerformanceInsightsRetention(STACK, "performanceInsightsRetentionDays", "30", 7),
      "performanceInsightsRetentionDays",
      /7, a multiple of 31 or 731/,
    );
    expect(v.parseHostPort(STACK, "adminTunnel", "127.0.0.1:15432")).toEqual({
      host: "127.0.0.1",
      port: 15432,
    });
    expectProblem(() => v.parseHostPort(STACK, "adminTunnel", "127.0.0.1"), "adminTunnel", /host:port/);
    expectProblem(
      () => v.parseMasterUsername(STACK, "masterUsername", "rdsadmin", "neonhub_admin"),
      "masterUsername",
      /reserved/,
    );
  });
});

function rawConfig(values: Record<string, string>, secret: string[] = ["adminUrl"]): RawStackConfig {
  return { stack: "test", values, isSecret: (key) => secret.includes(key) };
}

function problemsOf(raw: RawStackConfig): string[] {
  try {
    parseStackConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as InvalidConfigError).problems.map((p) => p.message);
  }
  throw new Error("expected InvalidConfigError");
}

const ADMIN_URL = "postgresql://postgres:LocalPw123@127.0.0.1:54329/postgres";
const RDS_BASE = { server: "rds", allowedCidrs: '["10.0.0.0/16"]' };

describe("parseStackConfig", () => {
  it("builds an existing-server config with role names from the prefix", () => {
    const config = parseStackConfig(rawConfig({ adminUrl: ADMIN_URL, rolePrefix: "nh" }));
    expect(config.roles).toEqual({
      owner: "nh_owner",
      migrator: "nh_migrator",
      app: "nh_app",
      readonly: "nh_readonly",
    });
    expect(config.server).toMatchObject({ kind: "existing", admin: { port: 54329 }, adminSuperuser: true });
    expect(config).toMatchObject({
      database: "neonhub",
      workload: "web",
      maxConnections: 200,
      keepData: true,
    });
  });

  it("requires adminUrl on an existing server, set as a secret", () => {
    expect(problemsOf(rawConfig({}))).toEqual([expect.stringMatching(/^neonhub-db:adminUrl: is required/)]);
    const plain = problemsOf(rawConfig({ adminUrl: ADMIN_URL }, []));
    expect(plain).toEqual([
      expect.stringMatching(/adminUrl: holds a password but is stored in plain text.*--secret/),
    ]);
    expect(plain.join("\n")).not.toContain("LocalPw123");
  });

  it("sizes RDS from the instance class, or asks for memoryMb and cpus for unknown classes", () => {
    const config = parseStackConfig(rawConfig({ ...RDS_BASE, instanceClass: "db.m6g.2xlarge" }));
    expect(config.server).toMatchObject({
      kind: "rds",
      hardware: { memoryMb: 32768, cpus: 8, storage: "san" },
    });
    expect(problemsOf(rawConfig({ ...RDS_BASE, instanceClass: "db.z1d.large" }))).toEqual([
      expect.stringMatching(/instanceClass: "db\.z1d\.large" is not in the size table.*memoryMb and cpus/),
    ]);
    const custom = parseStackConfig(
      rawConfig({ ...RDS_BASE, instanceClass: "db.z1d.large", memoryMb: "16384", cpus: "2" }),
    );
    expect(custom.server).toMatchObject({ hardware: { memoryMb: 16384, cpus: 2 } });
  });

  it("refuses an RDS server nothing could reach", () => {
    expect(problemsOf(rawConfig({ server: "rds" }))).toEqual([
      expect.stringMatching(/allowedCidrs: is not set and neither is allowedSecurityGroupIds/),
    ]);
  });

  it("checks values against each other", () => {
    expect(
      problemsOf(rawConfig({ ...RDS_BASE, allocatedStorageGb: "500", maxAllocatedStorageGb: "200" })),
    ).toEqual([expect.stringMatching(/maxAllocatedStorageGb: must be at least allocatedStorageGb \(500\)/)]);
    expect(
      problemsOf(rawConfig({ ...RDS_BASE, server: "aurora", engineVersion: "16.6", auroraReaders: "0" })),
    ).toEqual([expect.stringMatching(/auroraReaders: must be at least 1 when multiAz is true/)]);
    expect(
      parseStackConfig(
        rawConfig({
          ...RDS_BASE,
          server: "aurora",
          engineVersion: "16.6",
          auroraReaders: "0",
          multiAz: "false",
        }),
      ).server,
    ).toMatchObject({ kind: "aurora", auroraReaders: 0 });
    expect(problemsOf(rawConfig({ ...RDS_BASE, subnetIds: '["subnet-0123456789abcdef0"]' }))).toEqual([
      expect.stringMatching(/vpcId: is required with subnetIds/),
      expect.stringMatching(/subnetIds: needs at least two private subnets/),
    ]);
  });

  it("refuses subnets listed twice as that, not also as too few", () => {
    expect(
      problemsOf(
        rawConfig({
          ...RDS_BASE,
          vpcId: "vpc-0123456789abcdef0",
          subnetIds: '["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]',
        }),
      ),
    ).toEqual([expect.stringMatching(/^neonhub-db:subnetIds: lists "subnet-0123456789abcdef0" twice/)]);
    expect(
      problemsOf(rawConfig({ ...RDS_BASE, subnetIds: '["subnet-0123456789abcdef0", "subnet-1"]' })),
    ).toEqual([
      expect.stringMatching(/^neonhub-db:subnetIds: has "subnet-1", which is not a subnet-\.\.\. id/),
      expect.stringMatching(/^neonhub-db:vpcId: is required with subnetIds/),
    ]);
  });

  it("checks kmsKeyArn against the stack's region", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    expect(problemsOf({ ...rawConfig({ ...RDS_BASE, kmsKeyArn: arn }), awsRegion: "us-east-1" })).toEqual([
      expect.stringMatching(
        /^neonhub-db:kmsKeyArn: is a key in eu-west-1, but the stack deploys to us-east-1/,
      ),
    ]);
    const config = parseStackConfig({
      ...rawConfig({ ...RDS_BASE, kmsKeyArn: arn }),
      awsRegion: "eu-west-1",
    });
    expect(config.server).toMatchObject({ kmsKeyArn: arn });
  });

  it("backup retention must be at least 7 days", () => {
    expect(problemsOf(rawConfig({ ...RDS_BASE, backupRetentionDays: "1" }))).toEqual([
      expect.stringMatching(/backupRetentionDays: must be a whole number from 7 to 35/),
    ]);
  });

  it("reports unknown keys with a suggestion, together with every other problem", () => {
    const problems = problemsOf(
      rawConfig({ server: "docker", dockerPort: "22", memoryMB: "4096", cpus: "0" }),
    );
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/neonhub-db:memoryMB: is not a setting .*did you mean neonhub-db:memoryMb\?/),
        expect.stringMatching(/neonhub-db:dockerPort: must be a whole number/),
        expect.stringMatching(/neonhub-db:cpus: must be a whole number from 1 to 256/),
      ]),
    );
  });
});

describe("loadConfig", () => {
  it("reads the running stack's neonhub-db keys and knows which were set with --secret", () => {
    pulumi.runtime.setAllConfig({ "neonhub-db:adminUrl": ADMIN_URL, "aws:region": "us-east-1" }, [
      "neonhub-db:adminUrl",
    ]);
    expect(loadConfig().server).toMatchObject({ kind: "existing", admin: { user: "postgres" } });

    pulumi.runtime.setAllConfig({ "neonhub-db:adminUrl": ADMIN_URL }, []);
    expect(() => loadConfig()).toThrow(/adminUrl: holds a password but is stored in plain text/);
  });

  it("reads the region from aws:region, else from AWS_REGION, for the KMS key's check", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const rds = {
      "neonhub-db:server": "rds",
      "neonhub-db:allowedCidrs": '["10.0.0.0/16"]',
      "neonhub-db:kmsKeyArn": arn,
    };
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    try {
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      pulumi.runtime.setAllConfig({ ...rds, "aws:region": "us-east-1" }, []);
      expect(() => loadConfig()).toThrow(
        /kmsKeyArn: is a key in eu-west-1, but the stack deploys to us-east-1/,
      );
      pulumi.runtime.setAllConfig({ ...rds, "aws:region": "eu-west-1" }, []);
      expect(loadConfig().server).toMatchObject({ kmsKeyArn: arn });
      pulumi.runtime.setAllConfig(rds, []);
      expect(loadConfig().server).toMatchObject({ kmsKeyArn: arn });
      process.env.AWS_REGION = "ap-south-1";
      expect(() => loadConfig()).toThrow(/is a key in eu-west-1, but the stack deploys to ap-south-1/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe("Pulumi.yaml", () => {
  const project = parse(readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { default?: unknown; type: string }>;
  };

  it("names the project neonhub-db", () => {
    expect(project.name).toBe("neonhub-db");
  });

  it("declares the same defaults as infra/config.ts, and only keys the program knows", () => {
    const declared = Object.fromEntries(Object.entries(project.config).map(([key, d]) => [key, d.default]));
    expect(declared).toEqual(DEFAULTS);
    for (const key of Object.keys(project.config)) expect(KNOWN_KEYS).toContain(key);
  });

  it("has defaults that validate", () => {
    const values = Object.fromEntries(Object.entries(DEFAULTS).map(([key, value]) => [key, String(value)]));
    expect(parseStackConfig(rawConfig({ ...values, adminUrl: ADMIN_URL })).server.kind).toBe("existing");
  });
});

/** Values as loadConfig sees them: Pulumi.yaml's defaults on every stack, then the stack's own. */
function withProjectDefaults(values: Record<string, string>): Record<string, string> {
  const defaults = Object.fromEntries(Object.entries(DEFAULTS).map(([key, value]) => [key, String(value)]));
  return { ...defaults, ...values };
}

describe("keys of another server kind", () => {
  it("are reported with the kinds that read them, a project default aside", () => {
    expect(
      problemsOf(
        rawConfig(
          withProjectDefaults({
            server: "docker",
            allowedCidrs: '["10.0.0.0/16"]',
            instanceClass: "db.m6g.large",
            adminUrl: ADMIN_URL,
          }),
        ),
      ),
    ).toEqual(
      expect.arrayContaining([
        "neonhub-db:allowedCidrs: is not used by server docker (it is read by rds, aurora). Example: pulumi config rm --stack test neonhub-db:allowedCidrs",
        "neonhub-db:instanceClass: is not used by server docker (it is read by rds, aurora). Example: pulumi config rm --stack test neonhub-db:instanceClass",
        "neonhub-db:adminUrl: is not used by server docker (it is read by existing). Example: pulumi config rm --stack test neonhub-db:adminUrl",
      ]),
    );
    expect(
      problemsOf(
        rawConfig(
          withProjectDefaults({
            adminUrl: ADMIN_URL,
            dockerPort: "5433",
            auroraReaders: "2",
            backupRetentionDays: "30",
          }),
        ),
      ),
    ).toEqual([
      expect.stringMatching(
        /^neonhub-db:dockerPort: is not used by server existing \(it is read by docker\)/,
      ),
      expect.stringMatching(
        /^neonhub-db:backupRetentionDays: is not used by server existing \(it is read by rds, aurora\)/,
      ),
      expect.stringMatching(
        /^neonhub-db:auroraReaders: is not used by server existing \(it is read by aurora\)/,
      ),
    ]);
  });

  it("refuses adminUrl in plain text whatever the server", () => {
    const problems = problemsOf(
      rawConfig(
        withProjectDefaults({
          ...RDS_BASE,
          dockerPort: "5433",
          dockerImage: "pgvector/pgvector:0.8.0-pg16",
          adminUrl: ADMIN_URL,
        }),
        [],
      ),
    );
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^neonhub-db:adminUrl: holds a password but is stored in plain text/),
        expect.stringMatching(/^neonhub-db:dockerImage: is not used by server rds \(it is read by docker\)/),
        expect.stringMatching(/^neonhub-db:dockerPort: is not used by server rds \(it is read by docker\)/),
        expect.stringMatching(/^neonhub-db:adminUrl: is not used by server rds \(it is read by existing\)/),
      ]),
    );
    expect(problems.join("\n")).not.toContain("LocalPw123");
  });

  it("accept every project default on every kind", () => {
    expect(parseStackConfig(rawConfig(withProjectDefaults({ server: "docker" }))).server.kind).toBe("docker");
    expect(parseStackConfig(rawConfig(withProjectDefaults(RDS_BASE))).server.kind).toBe("rds");
    expect(
      parseStackConfig(
        rawConfig(withProjectDefaults({ ...RDS_BASE, server: "aurora", engineVersion: "16.6" })),
      ).server.kind,
    ).toBe("aurora");
  });
});

describe("names the access layer or PostgreSQL reserves", () => {
  it("refuses a role prefix whose role names would start with pg_", () => {
    expect(problemsOf(rawConfig({ adminUrl: ADMIN_URL, rolePrefix: "pg" }))).toEqual([
      expect.stringMatching(/^neonhub-db:rolePrefix: .*pg_owner.*"pg_", which PostgreSQL reserves/),
    ]);
  });

  it("refuses a master user named as one of the access layer's roles", () => {
    expect(problemsOf(rawConfig({ ...RDS_BASE, masterUsername: "neonhub_owner" }))).toEqual([
      expect.stringMatching(/^neonhub-db:masterUsername: "neonhub_owner" is the access layer's owner role/),
    ]);
    expect(problemsOf(rawConfig({ ...RDS_BASE, rolePrefix: "acme", masterUsername: "acme_app" }))).toEqual([
      expect.stringMatching(/^neonhub-db:masterUsername: "acme_app" is the access layer's app role/),
    ]);
  });

  it("refuses the database adminUrl connects to", () => {
    const adminUrl = "postgresql://postgres:LocalPw123@127.0.0.1:54329/neonhub";
    expect(problemsOf(rawConfig({ adminUrl }))).toEqual([
      expect.stringMatching(/^neonhub-db:database: "neonhub" is the database adminUrl connects to/),
    ]);
  });

  it("refuses the server's own databases", () => {
    for (const database of ["postgres", "template0", "template1"]) {
      expect(problemsOf(rawConfig({ adminUrl: ADMIN_URL, database }))).toEqual([
        expect.stringMatching(new RegExp(`^neonhub-db:database: "${database}" is the server's own database`)),
      ]);
    }
  });
});

describe("the fixes of a refused config", () => {
  // Pulumi's fully qualified form of a stack's name: such a name needs no quoting in a shell (stack names
  // are [A-Za-z0-9_.-], the org and project too), so it is printed as it is.
  const stack = "acme/neonhub-db/prod";

  function examplesOf(values: Record<string, string>): string[] {
    try {
      parseStackConfig({ stack, values, isSecret: () => false });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      return (error as InvalidConfigError).problems.map((p) => p.example);
    }
    throw new Error("expected InvalidConfigError");
  }

  it("each name the stack refused, so that a fix copied while another stack is selected acts on this one", () => {
    const examples = [
      ...examplesOf({
        server: "rds",
        instanceClass: "db.z1d.large",
        allocatedStorageGb: "100",
        maxAllocatedStorageGb: "50",
        alarmFreeStorageGb: "100",
        subnetIds: '["subnet-0123456789abcdef0"]',
        masterUsername: "neonhub_owner",
        seedSets: '["nope"]',
        vectorIndexes: "{",
        legacyUpgrade: "{",
        rowLevelSecurity: "maybe",
        migrationLockTimeoutSeconds: "10",
        migrationStatementTimeoutSeconds: "10",
        dockerPort: "5432",
        dockerport: "5432",
      }),
      ...examplesOf({ server: "aurora", allowedCidrs: "10.0.0.0/16", multiAz: "true", auroraReaders: "0" }),
      ...examplesOf({ adminUrl: ADMIN_URL, database: "postgres", rolePrefix: "pg" }),
    ];
    expect(examples.length).toBeGreaterThanOrEqual(18);
    for (const example of examples) {
      for (const command of example.split(" && ")) {
        expect(command).toMatch(/^pulumi config (set|rm) --stack acme\/neonhub-db\/prod /);
      }
    }
    expect(examples).toEqual(
      expect.arrayContaining([
        "pulumi config set --stack acme/neonhub-db/prod neonhub-db:memoryMb 16384 && pulumi config set --stack acme/neonhub-db/prod neonhub-db:cpus 2",
        "pulumi config set --stack acme/neonhub-db/prod --path 'neonhub-db:allowedCidrs[0]' 10.0.0.0/16",
        "pulumi config set --stack acme/neonhub-db/prod --path 'neonhub-db:subnetIds[1]' subnet-0123456789abcdef1",
        "pulumi config set --stack acme/neonhub-db/prod --path 'neonhub-db:legacyUpgrade.organization' acme",
        "pulumi config set --stack acme/neonhub-db/prod neonhub-db:auroraReaders 1",
        "pulumi config set --stack acme/neonhub-db/prod --secret neonhub-db:adminUrl 'postgresql://postgres:<password>@127.0.0.1:54329/postgres'",
        "pulumi config rm --stack acme/neonhub-db/prod neonhub-db:dockerport",
        "pulumi config rm --stack acme/neonhub-db/prod neonhub-db:dockerPort",
      ]),
    );
  });
});

describe("server", () => {
  it("suggests the nearest kind and adds no problem of a fallback", () => {
    expect(problemsOf(rawConfig({ server: "RDS" }, []))).toEqual([
      'neonhub-db:server: must be one of existing, docker, rds, aurora (got "RDS"; did you mean rds?). Example: pulumi config set --stack test neonhub-db:server rds',
    ]);
  });
});

describe("migration timeouts", () => {
  it("refuse a statement timeout that fires before the lock timeout", () => {
    expect(
      problemsOf(
        rawConfig({
          adminUrl: ADMIN_URL,
          migrationLockTimeoutSeconds: "10",
          migrationStatementTimeoutSeconds: "10",
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^neonhub-db:migrationStatementTimeoutSeconds: must be longer than migrationLockTimeoutSeconds \(10\)/,
      ),
    ]);
    const config = parseStackConfig(
      rawConfig({
        adminUrl: ADMIN_URL,
        migrationLockTimeoutSeconds: "0",
        migrationStatementTimeoutSeconds: "3",
      }),
    );
    expect(config.release.safety.lockSafety).toMatchObject({ lockTimeoutMs: 0, statementTimeoutMs: 3000 });
  });
});

describe("dockerImage", () => {
  it("accepts a registry with a port, and refuses the moving latest tag", () => {
    expect(v.parseImage(STACK, "dockerImage", "registry.example.com:5000/pgvector/pgvector:pg16", "x")).toBe(
      "registry.example.com:5000/pgvector/pgvector:pg16",
    );
    for (const moving of ["pgvector/pgvector:latest", "registry.example.com:5000/pgvector/pgvector"]) {
      expectProblem(
        () => v.parseImage(STACK, "dockerImage", moving, "pgvector/pgvector:pg16"),
        "dockerImage",
        /must name a tag or digest, not the moving "latest"/,
      );
    }
    expect(
      v.parseImage(STACK, "dockerImage", `pgvector/pgvector:latest@sha256:${"a".repeat(64)}`, "x"),
    ).toContain("@sha256:");
  });
});

describe("memoryMb and cpus on RDS", () => {
  it("are refused for an instance class the size table knows", () => {
    expect(problemsOf(rawConfig({ ...RDS_BASE, memoryMb: "8192", cpus: "2" }))).toEqual([
      expect.stringMatching(
        /^neonhub-db:memoryMb: is only for instance classes outside the size table; db\.r6g\.large has 16384 MiB and 2 vCPUs/,
      ),
      expect.stringMatching(/^neonhub-db:cpus: is only for instance classes outside the size table/),
    ]);
  });
});
