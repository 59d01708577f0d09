// Human-readable output of `neonhub-db health`. (--json prints the HealthReport as it is, names raw.) Tables
// and indexes are named as SQL writes them (shownName).
import {
  describePreparedTransaction,
  describeSession,
  describeXminHolder,
  shownName,
  snapshotAgeText,
} from "../core";
import type { HealthFinding, HealthReport, IndexHealth, TableHealth } from "../core";

const n = (value: number) => value.toLocaleString("en-US");

function bytes(value: number | null): string {
  if (value === null) return "size unknown";
  const units = ["bytes", "kB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

function when(value: string | null): string {
  return value ? value.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "never";
}

function indexLine(index: IndexHealth): string[] {
  const head = `  ${shownName(index.name)} on ${shownName(index.table)}`;
  if (!index.exists) return [`${head}: MISSING`];
  const build = index.build
    ? ` ${Object.entries(index.build)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`
    : "";
  const use = `${n(index.scans ?? 0)} scans, ${n(index.tuplesRead ?? 0)} tuples read`;
  const lines = [
    `${head}: ${index.method ?? "btree"}${build}, ${bytes(index.sizeBytes)}, ${index.valid ? "valid" : "INVALID"}, ${use}`,
  ];
  if (index.kind === "vector") {
    const rows =
      index.rowsAtBuild === null || index.rowsAtBuild === undefined
        ? "no release recorded its build"
        : `built on ${n(index.rowsAtBuild)} ${index.rowsAtBuild === 1 ? "row" : "rows"}, ${index.rowsNow === null || index.rowsNow === undefined ? "rows now not read" : `${n(index.rowsNow)} now`}`;
    const search = Object.entries(index.searchSetting ?? {})
      .map(([k, v]) => `${k} = ${v}`)
      .join(", ");
    lines.push(`    ${rows}${search ? `; calibrated ${search}` : ""}`);
  }
  return lines;
}

function tableLines(t: TableHealth): string[] {
  const due = (flag: boolean) => (flag ? ": DUE" : "");
  return [
    `  ${shownName(t.name)}: ${n(t.liveTuples)} live, ${n(t.deadTuples)} dead rows, ${bytes(t.totalBytes)}${t.autovacuumEnabled ? "" : ", AUTOVACUUM OFF"}`,
    `    analyze: ${n(t.modifiedSinceAnalyze)} rows changed, autovacuum analyzes after ${n(t.analyzeThreshold)}${due(t.analyzeDue)}; last ${when(t.lastAnalyze)}, auto ${when(t.lastAutoanalyze)}`,
    `    vacuum: ${n(t.deadTuples)} dead (after ${n(t.vacuumThreshold)})${due(t.vacuumDue)}, ${n(t.insertedSinceVacuum)} inserted (after ${n(t.insertVacuumThreshold)})${due(t.insertVacuumDue)}; last ${when(t.lastVacuum)}, auto ${when(t.lastAutovacuum)}`,
  ];
}

function clusterLines(report: HealthReport): string[] {
  const c = report.cluster;
  const { inUse, max } = c.connections;
  const oldest = c.oldestTransaction;
  const { role, hiddenSessions, hiddenInDatabase } = c.sessionDetails;
  const hidden = (sessions: number, where: string) =>
    `${n(sessions)} session${sessions === 1 ? "" : "s"}${where} with details hidden from role ${role}`;
  const oldestText = oldest
    ? `pid ${oldest.pid} (${oldest.application ?? "no application name"}, ${oldest.state ?? "state unknown"}), ${n(oldest.ageSeconds)} s`
    : hiddenInDatabase > 0
      ? "unknown"
      : "none open";
  const replication =
    c.role === "standby"
      ? `standby, replaying ${c.standbyReplayLagSeconds === null ? "(no commit replayed yet)" : `${Math.round(c.standbyReplayLagSeconds)} s behind`}`
      : `primary, ${c.replicas.length === 0 ? "no streaming replicas" : c.replicas.map((r) => `${r.name} ${Math.round(r.replayLagSeconds ?? 0)} s behind`).join(", ")}`;
  return [
    `  connections: ${n(inUse)} of max_connections ${n(max)} (${Math.round((inUse * 100) / max)}%)${hiddenSessions > 0 ? `, ${hidden(hiddenSessions, "")}` : ""}`,
    `  oldest transaction: ${oldestText}${hiddenInDatabase > 0 ? ` (${hidden(hiddenInDatabase, " of this database")})` : ""}`,
    `  prepared transactions: ${c.preparedTransactions.length > 0 ? c.preparedTransactions.map((p) => describePreparedTransaction(p)).join(", ") : "none"}`,
    `  oldest snapshot: ${c.oldestXmin ? `${describeXminHolder(c.oldestXmin)}, ${snapshotAgeText(c.oldestXmin)}` : "none held"}`,
    ...c.lockWaits.map(
      (w) =>
        `  lock wait: pid ${w.session.pid} (${w.session.application ?? "no application name"}) ${n(w.waitSeconds)} s for ${w.lock ?? "a lock"}, blocked by ${w.blocker ? describeSession(w.blocker) : w.preparedTransactions.length > 0 ? w.preparedTransactions.map((p) => describePreparedTransaction(p)).join(", ") : w.byPreparedTransaction ? "a prepared transaction" : `pid ${w.blockedBy.join(", ")}`}`,
    ),
    `  transaction ID age: ${n(c.transactionIdAge.age)} in database ${c.transactionIdAge.database}, the server's oldest (anti-wraparound vacuums start at ${n(c.transactionIdAge.freezeMaxAge)})`,
    `  replication: ${replication}; ${c.replicationSlots.length} replication slot${c.replicationSlots.length === 1 ? "" : "s"}`,
  ];
}

function findingLines(title: string, findings: readonly HealthFinding[]): string[] {
  if (findings.length === 0) return [];
  return [
    `${title} (${findings.length}):`,
    ...findings.flatMap((f) => [
      `  - ${f.subjectKind ? shownName(f.subject) : f.subject}: ${f.problem}`,
      `    do: ${f.action}`,
    ]),
  ];
}

export function renderHealth(report: HealthReport): string {
  const actions = report.findings.filter((f) => f.severity === "action");
  const vector = report.indexes.filter((i) => i.kind === "vector");
  return [
    `Health of ${report.database} at ${when(report.checkedAt)}`,
    `  scans and tuples read count from ${report.statsResetAt ? when(report.statsResetAt) : "the first statistics (never reset)"}`,
    "Vector indexes:",
    ...(vector.length > 0 ? vector.flatMap(indexLine) : ["  none yet"]),
    "Hot-path indexes:",
    ...report.indexes.filter((i) => i.kind === "hot-path").flatMap(indexLine),
    "Tables:",
    ...(report.tables.length > 0 ? report.tables.flatMap(tableLines) : ["  none large or bulk-loaded"]),
    "Cluster:",
    ...clusterLines(report),
    ...findingLines("Needs action", actions),
    ...findingLines(
      "Notes",
      report.findings.filter((f) => f.severity === "info"),
    ),
    report.healthy
      ? "Healthy: nothing needs action."
      : `${actions.length} finding${actions.length === 1 ? " needs" : "s need"} action (exit 2).`,
  ].join("\n");
}
