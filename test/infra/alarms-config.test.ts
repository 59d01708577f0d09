// Alarm thresholds: validated like every other key, and turned into one rule set per instance.
import { describe, expect, it } from "vitest";
import { alarmRules } from "../../infra/alarms";
import {
  AlarmThresholds,
  InvalidConfigError,
  RawStackConfig,
  RdsServerConfig,
  parseStackConfig,
} from "../../infra/config";

const RDS = { server: "rds", allowedCidrs: '["10.0.0.0/16"]' };

function raw(values: Record<string, string>): RawStackConfig {
  return { stack: "prod", values, isSecret: () => false };
}

function problemsOf(values: Record<string, string>): string[] {
  try {
    parseStackConfig(raw(values));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as InvalidConfigError).problems.map((p) => p.message);
  }
  throw new Error("expected InvalidConfigError");
}

const DEFAULT_THRESHOLDS: AlarmThresholds = {
  cpuPercent: 80,
  freeableMemoryPercent: 10,
  freeStorageGb: 10,
  readLatencyMs: 20,
  writeLatencyMs: 20,
  connectionsPercent: 80,
  replicaLagMs: 2000,
  evaluationMinutes: 5,
};

describe("alarm thresholds in the stack config", () => {
  it("default to the values of Pulumi.yaml and take the configured ones", () => {
    expect((parseStackConfig(raw(RDS)).server as RdsServerConfig).alarms).toEqual(DEFAULT_THRESHOLDS);
    // Only Aurora has readers, so only Aurora reads alarmReplicaLagMs.
    const custom = parseStackConfig(
      raw({
        ...RDS,
        server: "aurora",
        engineVersion: "16.6",
        alarmCpuPercent: "95",
        alarmReplicaLagMs: "250",
        alarmEvaluationMinutes: "10",
      }),
    );
    expect((custom.server as RdsServerConfig).alarms).toMatchObject({
      cpuPercent: 95,
      replicaLagMs: 250,
      evaluationMinutes: 10,
    });
  });

  it("refuses values out of range, naming the key and a command that fixes it", () => {
    const problems = problemsOf({
      ...RDS,
      alarmCpuPercent: "150",
      alarmFreeableMemoryPercent: "0",
      alarmEvaluationMinutes: "2.5",
      alarmReadLatencyMs: "fast",
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^neonhub-db:alarmCpuPercent: must be a whole number from 10 to 100 \(got "150"\)\. Example: pulumi config set --stack prod neonhub-db:alarmCpuPercent 80$/,
      ),
      expect.stringMatching(/^neonhub-db:alarmFreeableMemoryPercent: must be a whole number from 1 to 50/),
      expect.stringMatching(/^neonhub-db:alarmReadLatencyMs: must be a whole number from 1 to 10000/),
      expect.stringMatching(/^neonhub-db:alarmEvaluationMinutes: must be a whole number from 1 to 60/),
    ]);
  });

  it("refuses an RDS free-storage threshold the new volume would already breach", () => {
    expect(problemsOf({ ...RDS, allocatedStorageGb: "50", alarmFreeStorageGb: "50" })).toEqual([
      expect.stringMatching(
        /neonhub-db:alarmFreeStorageGb: must be below allocatedStorageGb \(50\).*pulumi config set --stack prod neonhub-db:alarmFreeStorageGb 5$/,
      ),
    ]);
    // Aurora's threshold is about the instance's local disk, not allocated storage (which Aurora has not).
    const aurora = parseStackConfig(
      raw({ ...RDS, server: "aurora", engineVersion: "16.6", alarmFreeStorageGb: "150" }),
    );
    expect((aurora.server as RdsServerConfig).alarms.freeStorageGb).toBe(150);
  });

  it("reports a misspelt alarm key with the right name", () => {
    expect(problemsOf({ ...RDS, alarmCPUPercent: "90" })).toEqual([
      expect.stringMatching(/alarmCPUPercent: is not a setting .*did you mean neonhub-db:alarmCpuPercent\?/),
    ]);
  });
});

describe("alarmRules", () => {
  const sizes = { memoryMb: 8192, maxConnections: 333 };

  it("gives an RDS instance six alarms, with thresholds in each metric's unit", () => {
    const rules = alarmRules("rds", { reader: false }, sizes, DEFAULT_THRESHOLDS);
    expect(Object.fromEntries(rules.map((r) => [r.metricName, r.threshold]))).toEqual({
      CPUUtilization: 80,
      FreeableMemory: Math.floor(8192 * 1024 * 1024 * 0.1),
      FreeStorageSpace: 10 * 1024 ** 3,
      ReadLatency: 0.02,
      WriteLatency: 0.02,
      // 80% of 333 is 266.4: the alarm fires at 267 connections.
      DatabaseConnections: 267,
    });
    expect(new Set(rules.map((r) => r.key)).size).toBe(rules.length);
    for (const rule of rules) expect(rule.description).toMatch(/for 5 min: /);
  });

  it("watches an Aurora instance's local storage, and a reader's lag", () => {
    const writer = alarmRules("aurora", { reader: false }, sizes, DEFAULT_THRESHOLDS);
    expect(writer.map((r) => r.metricName)).toContain("FreeLocalStorage");
    expect(writer.map((r) => r.metricName)).not.toContain("FreeStorageSpace");
    expect(writer.map((r) => r.metricName)).not.toContain("AuroraReplicaLag");
    const reader = alarmRules("aurora", { reader: true }, sizes, DEFAULT_THRESHOLDS);
    expect(reader.find((r) => r.metricName === "AuroraReplicaLag")).toMatchObject({
      threshold: 2000,
      comparisonOperator: "GreaterThanThreshold",
    });
  });
});
