// The prod stack on RDS watches itself: CloudWatch alarms with thresholds from config, an SNS topic exported
// to subscribe to, and pg_stat_statements preloaded by the parameter group.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { MockWorld, RecordedResource, installMocks, promiseOf, runProgram, stackConfig } from "./harness";

const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:neonhub-db-prod-alarms";
const GIB = 1024 * 1024 * 1024;

let world: MockWorld;
let program: Record<string, unknown>;

beforeAll(async () => {
  world = await installMocks({
    stack: "prod",
    config: stackConfig("prod", {
      "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
      // Two thresholds away from their defaults, to see config reach the alarms.
      "neonhub-db:alarmCpuPercent": "90",
      "neonhub-db:alarmWriteLatencyMs": "50",
    }),
  });
  program = await runProgram(() => import("../../index"));
});

function alarmsByName(): Map<string, RecordedResource> {
  return new Map(world.all("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [a.inputs.name, a]));
}

describe("prod stack on RDS: alarms", () => {
  it("creates an SNS topic and exports its ARN, not as a secret", async () => {
    const topic = world.one("aws:sns/topic:Topic");
    expect(topic.inputs.name).toBe("neonhub-db-prod-alarms");
    const output = program.alarmTopicArn as pulumi.Output<string>;
    expect(await pulumi.isSecret(output)).toBe(false);
    expect(await promiseOf(output)).toBe(TOPIC_ARN);
  });

  it("alarms on CPU, memory, storage, latency and connections of the instance, and nothing else", () => {
    expect([...alarmsByName().keys()].sort()).toEqual(
      [
        "neonhub-db-prod-connections",
        "neonhub-db-prod-cpu",
        "neonhub-db-prod-free-storage",
        "neonhub-db-prod-freeable-memory",
        "neonhub-db-prod-read-latency",
        "neonhub-db-prod-write-latency",
      ].sort(),
    );
    for (const alarm of alarmsByName().values()) {
      expect(alarm.inputs).toMatchObject({
        namespace: "AWS/RDS",
        dimensions: { DBInstanceIdentifier: "neonhub-db-prod" },
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        alarmActions: [TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
      expect(alarm.inputs.alarmDescription).toMatch(/^neonhub-db-prod: .+: .+/);
    }
  });

  it("converts the configured thresholds into each metric's unit", () => {
    const alarms = alarmsByName();
    const expectAlarm = (name: string, metricName: string, comparison: string, threshold: number) =>
      expect(alarms.get(name)?.inputs, name).toMatchObject({
        metricName,
        comparisonOperator: comparison,
        threshold,
      });
    // db.r6g.large: 16 GiB, 2 vCPUs; maxConnections 200.
    expectAlarm("neonhub-db-prod-cpu", "CPUUtilization", "GreaterThanThreshold", 90);
    expectAlarm(
      "neonhub-db-prod-freeable-memory",
      "FreeableMemory",
      "LessThanThreshold",
      Math.floor((16 * GIB) / 10),
    );
    expectAlarm("neonhub-db-prod-free-storage", "FreeStorageSpace", "LessThanThreshold", 10 * GIB);
    expectAlarm("neonhub-db-prod-read-latency", "ReadLatency", "GreaterThanThreshold", 0.02);
    expectAlarm("neonhub-db-prod-write-latency", "WriteLatency", "GreaterThanThreshold", 0.05);
    expectAlarm("neonhub-db-prod-connections", "DatabaseConnections", "GreaterThanOrEqualToThreshold", 160);
  });

  it("loads pg_stat_statements through the parameter group, after the next reboot", () => {
    const group = world.one("aws:rds/parameterGroup:ParameterGroup");
    expect(group.inputs.parameters).toContainEqual({
      name: "shared_preload_libraries",
      value: "pg_stat_statements",
      applyMethod: "pending-reboot",
    });
  });
});
