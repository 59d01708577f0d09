// Small pure pieces of the program: CIDR arithmetic, instance sizes, connection strings, RDS naming.
import { describe, expect, it } from "vitest";
import { cidrSubnet, formatIpv4Cidr, parseIpv4Cidr } from "../../infra/cidr";
import { connectionString } from "../../infra/connection-string";
import { pinnedMinorWarning } from "../../infra/engine-version";
import { instanceClassSize } from "../../infra/instance-classes";
import * as pulumi from "@pulumi/pulumi";
import { InvalidConfigError } from "../../infra/config";
import { zonesForSubnets } from "../../infra/servers/network";
import {
  parseMasterUserSecret,
  rdsIdentifier,
  rdsParameterGroupEntries,
  stackNameCollisionWarning,
} from "../../infra/servers/rds";
import { tunePostgres } from "../../infra/tuning";

describe("cidr", () => {
  it("parses canonical IPv4 blocks and refuses the rest", () => {
    expect(parseIpv4Cidr("10.42.0.0/16")).toEqual({ network: (10 * 256 + 42) * 65536, prefix: 16 });
    for (const bad of ["10.42.0.1/16", "10.42.0.0", "256.0.0.0/8", "10.0.0.0/33", "a.b.c.d/8"]) {
      expect(parseIpv4Cidr(bad), bad).toBeUndefined();
    }
  });

  it("splits a block into subnets like Terraform's cidrsubnet", () => {
    const vpc = parseIpv4Cidr("10.42.0.0/16");
    if (!vpc) throw new Error("unparsed");
    expect(formatIpv4Cidr(cidrSubnet(vpc, 4, 0))).toBe("10.42.0.0/20");
    expect(formatIpv4Cidr(cidrSubnet(vpc, 4, 2))).toBe("10.42.32.0/20");
    expect(formatIpv4Cidr(cidrSubnet(vpc, 4, 15))).toBe("10.42.240.0/20");
    expect(() => cidrSubnet(vpc, 4, 16)).toThrow(RangeError);
  });
});

describe("zonesForSubnets", () => {
  const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];

  it("takes one zone per subnet", () => {
    expect(zonesForSubnets(zones, 2, "prod")).toEqual(["us-east-1a", "us-east-1b"]);
  });

  it("reports more subnets than zones as the stack config's error, without a stack trace", () => {
    let failure: unknown;
    try {
      zonesForSubnets(zones, 4, "prod");
    } catch (error) {
      failure = error;
    }
    // Pulumi prints a RunError's message alone.
    expect(failure).toBeInstanceOf(InvalidConfigError);
    expect(failure).toBeInstanceOf(pulumi.RunError);
    expect((failure as Error).message).toContain(
      "neonhub-db:availabilityZoneCount: is 4 but the region has 3 availability zones (us-east-1a, us-east-1b, us-east-1c). Example: pulumi config set --stack prod neonhub-db:availabilityZoneCount 3",
    );
  });
});

describe("instanceClassSize", () => {
  it("knows the general-purpose, memory-optimized and burstable families", () => {
    expect(instanceClassSize("db.r6g.large")).toEqual({ memoryMb: 16384, cpus: 2 });
    expect(instanceClassSize("db.r7g.4xlarge")).toEqual({ memoryMb: 131072, cpus: 16 });
    expect(instanceClassSize("db.m6i.xlarge")).toEqual({ memoryMb: 16384, cpus: 4 });
    expect(instanceClassSize("db.t4g.medium")).toEqual({ memoryMb: 4096, cpus: 2 });
    expect(instanceClassSize("db.x2g.large")).toEqual({ memoryMb: 32768, cpus: 2 });
  });

  it("returns undefined for classes it cannot size", () => {
    expect(instanceClassSize("db.z1d.large")).toBeUndefined();
    expect(instanceClassSize("db.t4g.huge")).toBeUndefined();
    expect(instanceClassSize("r6g.large")).toBeUndefined();
  });
});

describe("connectionString", () => {
  it("percent-encodes every part and adds sslmode only when asked", () => {
    expect(
      connectionString({
        user: "neonhub_app",
        password: "p@ss:w/rd",
        host: "db.internal",
        port: 5432,
        database: "neonhub",
      }),
    ).toBe("postgresql://neonhub_app:p%40ss%3Aw%2Frd@db.internal:5432/neonhub");
    const url = connectionString({
      user: "u",
      password: "p",
      host: "::1",
      port: 5433,
      database: "neonhub",
      sslmode: "require",
    });
    expect(url).toBe("postgresql://u:p@[::1]:5433/neonhub?sslmode=require");
    expect(new URL(url).searchParams.get("sslmode")).toBe("require");
  });
});

describe("RDS helpers", () => {
  it("derives valid identifiers from stack names", () => {
    expect(rdsIdentifier("prod")).toBe("neonhub-db-prod");
    expect(rdsIdentifier("Team_A.Staging")).toBe("neonhub-db-team-a-staging");
    expect(rdsIdentifier("---")).toBe("neonhub-db-stack");
    expect(rdsIdentifier("x".repeat(80))).toMatch(/^neonhub-db-x+$/);
    expect(rdsIdentifier("x".repeat(80)).length).toBeLessThanOrEqual(50);
  });

  it("warns of a stack name other names share identifiers with, and of no other", () => {
    for (const kept of ["prod", "team-a-staging", "x".repeat(39)]) {
      expect(stackNameCollisionWarning(kept)).toBeUndefined();
    }
    expect(stackNameCollisionWarning("Prod")).toBe(
      'stack "Prod" names its AWS resources neonhub-db-prod, as the stack "prod" would, and any name that differs from it only in case or punctuation: RDS identifiers, KMS aliases and SNS topic names are unique per account and region, so of two such stacks in one account and region the second fails to create its server. Keep them in separate accounts or regions, and name new stacks in lower case with single hyphens ("prod"). This stack\'s names stay as they are: changing them would replace its database',
    );
    expect(stackNameCollisionWarning("my_stack")).toMatch(
      /^stack "my_stack" names its AWS resources neonhub-db-my-stack, as the stack "my-stack" would/,
    );
    expect(stackNameCollisionWarning("a--b")).toMatch(/neonhub-db-a-b, as the stack "a-b" would/);
    expect(stackNameCollisionWarning("x".repeat(40))).toMatch(
      /in case or punctuation or shares its first characters:/,
    );
  });

  it("warns of an RDS engineVersion that pins a minor, naming the key, the value and the fix", () => {
    expect(pinnedMinorWarning("16", "prod")).toBeUndefined();
    expect(pinnedMinorWarning("16.4", "prod")).toBe(
      'neonhub-db:engineVersion "16.4" pins a minor version, and RDS upgrades the minor itself in the maintenance window (automatic minor version upgrades are on): once it runs a later 16.x, the next pulumi up that updates the instance, or follows a refresh, asks for 16.4 again, a downgrade AWS refuses, and the up fails. Follow the major instead: pulumi config set --stack prod neonhub-db:engineVersion 16 (the provider then accepts whichever 16.x RDS runs; see docs/stacks.md)',
    );
    expect(pinnedMinorWarning("16.0", "prod")).toMatch(
      /^neonhub-db:engineVersion "16\.0" pins a minor version/,
    );
  });

  it("adds TLS enforcement to the tuned parameters", () => {
    const settings = tunePostgres({
      memoryMb: 16384,
      cpus: 2,
      storage: "san",
      workload: "web",
      maxConnections: 200,
    });
    for (const engine of ["postgres", "aurora-postgresql"] as const) {
      expect(rdsParameterGroupEntries(settings, engine)).toContainEqual({
        name: "rds.force_ssl",
        value: "1",
        applyMethod: "immediate",
      });
    }
  });

  it("reads the master user secret without ever printing it", () => {
    expect(parseMasterUserSecret('{"username":"neonhub_admin","password":"pw"}')).toEqual({
      username: "neonhub_admin",
      password: "pw",
    });
    expect(() => parseMasterUserSecret("pw-not-json")).toThrow(/not JSON \(its content is not shown\)/);
    expect(() => parseMasterUserSecret("pw-not-json")).not.toThrow(/pw-not-json/);
    expect(() => parseMasterUserSecret('{"username":"u"}')).toThrow(/no username\/password/);
  });
});
