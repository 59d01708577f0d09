// The prod stack on Aurora: one set of alarms per instance, FreeLocalStorage instead of FreeStorageSpace
// (the cluster volume grows by itself), and replica lag on each reader.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { MockWorld, RecordedResource, installMocks, promiseOf, runProgram, stackConfig } from "./harness";

const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:neonhub-db-prod-alarms";

let world: MockWorld;
let program: Record<string, unknown>;
let alarms: RecordedResource[];

beforeAll(async () => {
  world = await installMocks({
    stack: "prod",
    config: stackConfig("prod", {
      "neonhub-db:server": "aurora",
      "neonhub-db:engineVersion": "16.6",
      "neonhub-db:auroraReaders": "2",
      "neonhub-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
      "neonhub-db:alarmReplicaLagMs": "500",
      "neonhub-db:alarmEvaluationMinutes": "3",
    }),
  });
  program = await runProgram(() => import("../../index"));
  alarms = world.all("aws:cloudwatch/metricAlarm:MetricAlarm");
});

function metricsOf(instance: string): string[] {
  return alarms
    .filter((a) => a.inputs.dimensions.DBInstanceIdentifier === instance)
    .map((a) => a.inputs.metricName)
    .sort();
}

const PER_INSTANCE = [
  "CPUUtilization",
  "DatabaseConnections",
  "FreeLocalStorage",
  "FreeableMemory",
  "ReadLatency",
  "WriteLatency",
];

describe("prod stack on Aurora: alarms", () => {
  it("watches the writer and each reader, with replica lag on the readers only", () => {
    expect(metricsOf("neonhub-db-prod-writer")).toEqual(PER_INSTANCE);
    for (const reader of ["neonhub-db-prod-reader-1", "neonhub-db-prod-reader-2"]) {
      expect(metricsOf(reader)).toEqual([...PER_INSTANCE, "AuroraReplicaLag"].sort());
    }
    expect(alarms).toHaveLength(3 * PER_INSTANCE.length + 2);
    expect(alarms.map((a) => a.inputs.metricName)).not.toContain("FreeStorageSpace");
  });

  it("alarms on replica lag in milliseconds, after the configured number of minutes", () => {
    const lag = alarms.filter((a) => a.inputs.metricName === "AuroraReplicaLag");
    expect(lag.map((a) => a.inputs.name).sort()).toEqual([
      "neonhub-db-prod-reader-1-replica-lag",
      "neonhub-db-prod-reader-2-replica-lag",
    ]);
    for (const alarm of lag) {
      expect(alarm.inputs).toMatchObject({
        comparisonOperator: "GreaterThanThreshold",
        threshold: 500,
        statistic: "Maximum",
      });
    }
    for (const alarm of alarms) {
      expect(alarm.inputs).toMatchObject({
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        alarmActions: [TOPIC_ARN],
        okActions: [TOPIC_ARN],
      });
    }
  });

  it("exports the topic to subscribe to", async () => {
    expect(world.one("aws:sns/topic:Topic").inputs.name).toBe("neonhub-db-prod-alarms");
    expect(await promiseOf(program.alarmTopicArn as pulumi.Output<string>)).toBe(TOPIC_ARN);
  });

  it("loads pg_stat_statements through the cluster parameter group", () => {
    const group = world.one("aws:rds/clusterParameterGroup:ClusterParameterGroup");
    expect(group.inputs.parameters).toContainEqual({
      name: "shared_preload_libraries",
      value: "pg_stat_statements",
      applyMethod: "pending-reboot",
    });
  });
});
