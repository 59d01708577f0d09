// CloudWatch alarms for the production database and the SNS topic they notify: CPU, freeable memory, free
// storage, read/write latency, connections and (with Aurora readers) replica lag, one set per instance.
// Metrics and units: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html (RDS) and
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html (Aurora).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "./config";

/** One database instance to watch. */
export interface MonitoredInstance {
  /** Short label for resource and alarm names: `instance`, `writer`, `reader-1`... */
  label: string;
  /** The RDS DB instance identifier: the metrics' `DBInstanceIdentifier` dimension. */
  identifier: pulumi.Input<string>;
  /** Aurora readers also report AuroraReplicaLag. */
  reader: boolean;
}

export interface DatabaseAlarmsArgs {
  /** `rds`: FreeStorageSpace of the instance's volume; `aurora`: FreeLocalStorage (the cluster volume grows). */
  engine: "rds" | "aurora";
  /** Prefix of the topic and alarm names, unique per account and region (the RDS identifier). */
  identifier: string;
  /** The instances to watch. */
  instances: MonitoredInstance[];
  /** Memory of each instance in MiB, for the free-memory threshold. */
  memoryMb: number;
  /** The server's max_connections, for the connections threshold. */
  maxConnections: number;
  /** Validated stack config. */
  thresholds: AlarmThresholds;
  tags: Record<string, string>;
}

/** One alarm of an instance, with its threshold in the metric's own unit. */
export interface AlarmRule {
  /** Suffix of the alarm's name. */
  key: string;
  metricName: string;
  statistic: "Average" | "Maximum" | "Minimum";
  comparisonOperator: "GreaterThanThreshold" | "LessThanThreshold" | "GreaterThanOrEqualToThreshold";
  threshold: number;
  /** What it means and what to do, shown in the notification. */
  description: string;
}

const BYTES_PER_MIB = 1024 * 1024;
const BYTES_PER_GIB = 1024 * BYTES_PER_MIB;

/** The alarms of one instance. Pure: tests call it directly. */
export function alarmRules(
  engine: DatabaseAlarmsArgs["engine"],
  instance: Pick<MonitoredInstance, "reader">,
  sizes: { memoryMb: number; maxConnections: number },
  t: AlarmThresholds,
): AlarmRule[] {
  const minutes = `${t.evaluationMinutes} min`;
  const connections = Math.ceil((sizes.maxConnections * t.connectionsPercent) / 100);
  const rules: AlarmRule[] = [
    {
      key: "cpu",
      metricName: "CPUUtilization",
      statistic: "Average",
      comparisonOperator: "GreaterThanThreshold",
      threshold: t.cpuPercent,
      description: `CPU above ${t.cpuPercent}% for ${minutes}: find the costly statements in Performance Insights or pg_stat_statements; a vector index build also takes every core.`,
    },
    {
      key: "freeable-memory",
      metricName: "FreeableMemory",
      statistic: "Average",
      comparisonOperator: "LessThanThreshold",
      threshold: Math.floor((sizes.memoryMb * BYTES_PER_MIB * t.freeableMemoryPercent) / 100),
      description: `Freeable memory below ${t.freeableMemoryPercent}% of ${sizes.memoryMb} MiB for ${minutes}: too many connections times work_mem, or an index build's maintenance_work_mem; the instance will start to swap.`,
    },
    engine === "rds"
      ? {
          key: "free-storage",
          metricName: "FreeStorageSpace",
          statistic: "Minimum",
          comparisonOperator: "LessThanThreshold",
          threshold: t.freeStorageGb * BYTES_PER_GIB,
          description: `Free storage below ${t.freeStorageGb} GiB for ${minutes}: storage autoscaling is at maxAllocatedStorageGb or waiting out its 6-hour cooldown; raise maxAllocatedStorageGb, or find what grew (bulk loads, dead tuples, WAL kept by a replication slot).`,
        }
      : {
          key: "free-local-storage",
          metricName: "FreeLocalStorage",
          statistic: "Minimum",
          comparisonOperator: "LessThanThreshold",
          threshold: t.freeStorageGb * BYTES_PER_GIB,
          description: `Free local storage below ${t.freeStorageGb} GiB for ${minutes}: temporary files of sorts, hashes or index builds are filling the instance's local disk; raise work_mem for that query or move to a larger class.`,
        },
    {
      key: "read-latency",
      metricName: "ReadLatency",
      statistic: "Average",
      comparisonOperator: "GreaterThanThreshold",
      threshold: t.readLatencyMs / 1000,
      description: `Average read latency above ${t.readLatencyMs} ms for ${minutes}: the storage is saturated (check ReadIOPS, DiskQueueDepth) or the working set no longer fits in memory.`,
    },
    {
      key: "write-latency",
      metricName: "WriteLatency",
      statistic: "Average",
      comparisonOperator: "GreaterThanThreshold",
      threshold: t.writeLatencyMs / 1000,
      description: `Average write latency above ${t.writeLatencyMs} ms for ${minutes}: the storage is saturated (check WriteIOPS, DiskQueueDepth), often by a bulk load or checkpoints.`,
    },
    {
      key: "connections",
      metricName: "DatabaseConnections",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: connections,
      description: `${connections} or more connections (${t.connectionsPercent}% of max_connections ${sizes.maxConnections}) for ${minutes}: new ones will soon be refused; look for leaked or idle-in-transaction sessions, or put a pooler in front.`,
    },
  ];
  if (engine === "aurora" && instance.reader) {
    rules.push({
      key: "replica-lag",
      metricName: "AuroraReplicaLag",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: t.replicaLagMs,
      description: `Reader more than ${t.replicaLagMs} ms behind the writer for ${minutes}: readonlyUrl serves stale rows; the reader is overloaded or the writer is writing faster than it can replay.`,
    });
  }
  return rules;
}

/** The alarms of the production database, and the topic an on-call rotation subscribes to. */
export class DatabaseAlarms extends pulumi.ComponentResource {
  /** ARN of the SNS topic every alarm (and its recovery) notifies. */
  public readonly topicArn: pulumi.Output<string>;
  /** Names of the alarms, for dashboards and runbooks. */
  public readonly alarmNames: pulumi.Output<string[]>;

  constructor(name: string, args: DatabaseAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:DatabaseAlarms", name, args, opts);
    const { engine, identifier, instances, memoryMb, maxConnections, thresholds, tags } = args;

    // Not encrypted with the stack's KMS key: CloudWatch can publish to a KMS-encrypted topic only when the
    // key policy lets cloudwatch.amazonaws.com use the key, and notifications carry no data, only metric names.
    const topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: `${identifier}-alarms`, tags },
      { parent: this },
    );

    const alarms = instances.flatMap((instance) =>
      alarmRules(engine, instance, { memoryMb, maxConnections }, thresholds).map((rule) => {
        const alarmName = pulumi.interpolate`${instance.identifier}-${rule.key}`;
        return new aws.cloudwatch.MetricAlarm(
          `${name}-${instance.label}-${rule.key}`,
          {
            name: alarmName,
            alarmDescription: pulumi.interpolate`${instance.identifier}: ${rule.description}`,
            namespace: "AWS/RDS",
            metricName: rule.metricName,
            dimensions: { DBInstanceIdentifier: instance.identifier },
            statistic: rule.statistic,
            comparisonOperator: rule.comparisonOperator,
            threshold: rule.threshold,
            // RDS publishes one data point a minute; N breaching minutes in a row fire the alarm.
            period: 60,
            evaluationPeriods: thresholds.evaluationMinutes,
            datapointsToAlarm: thresholds.evaluationMinutes,
            // An instance that stops reporting (rebooting, failing over) is not healthy or unhealthy by
            // itself; RDS events say why.
            treatMissingData: "missing",
            alarmActions: [topic.arn],
            okActions: [topic.arn],
            tags,
          },
          { parent: this },
        );
      }),
    );

    this.topicArn = topic.arn;
    this.alarmNames = pulumi.all(alarms.map((alarm) => alarm.name));
    this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames });
  }
}
