// Large and bulk-loaded tables: live and dead rows, the last (auto)vacuum and (auto)analyze, and whether
// autovacuum's own formula says one is due (https://www.postgresql.org/docs/current/routine-vacuuming.html
// #AUTOVACUUM): threshold + scale factor × reltuples, with each table's storage parameters over the server's.
import type { ClientBase } from "pg";
import type { HealthLimits } from "./limits";
import type { HealthFinding, TableHealth, XminHolderHealth } from "./report";
import { describeXminHolder, snapshotAgeText, xminHolderFix } from "./sessions";
import { count, timestamp } from "./values";
import { shownName } from "../shown-names";

/** Autovacuum's settings, as the server has them or as a table overrides them. */
export interface AutovacuumSettings {
  enabled: boolean;
  vacuumThreshold: number;
  vacuumScaleFactor: number;
  /** -1 turns insert-triggered vacuums off. */
  insertThreshold: number;
  insertScaleFactor: number;
  analyzeThreshold: number;
  analyzeScaleFactor: number;
}

const PARAMETERS: Record<string, keyof AutovacuumSettings> = {
  autovacuum_vacuum_threshold: "vacuumThreshold",
  autovacuum_vacuum_scale_factor: "vacuumScaleFactor",
  autovacuum_vacuum_insert_threshold: "insertThreshold",
  autovacuum_vacuum_insert_scale_factor: "insertScaleFactor",
  autovacuum_analyze_threshold: "analyzeThreshold",
  autovacuum_analyze_scale_factor: "analyzeScaleFactor",
};

/** The server's settings: `autovacuum` and the autovacuum_* thresholds from pg_settings. */
export async function readServerAutovacuumSettings(client: ClientBase): Promise<AutovacuumSettings> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
    [["autovacuum", "track_counts", ...Object.keys(PARAMETERS)]],
  );
  const byName = new Map(rows.map((r) => [r.name, r.setting]));
  const number = (name: string) => Number(byName.get(name));
  return {
    enabled: byName.get("autovacuum") === "on" && byName.get("track_counts") === "on",
    vacuumThreshold: number("autovacuum_vacuum_threshold"),
    vacuumScaleFactor: number("autovacuum_vacuum_scale_factor"),
    insertThreshold: number("autovacuum_vacuum_insert_threshold"),
    insertScaleFactor: number("autovacuum_vacuum_insert_scale_factor"),
    analyzeThreshold: number("autovacuum_analyze_threshold"),
    analyzeScaleFactor: number("autovacuum_analyze_scale_factor"),
  };
}

/** A table's storage parameters (`name=value` strings from pg_class.reloptions) over the server's settings. */
export function effectiveSettings(
  server: AutovacuumSettings,
  reloptions: readonly string[],
): AutovacuumSettings {
  const settings = { ...server };
  for (const option of reloptions) {
    const eq = option.indexOf("=");
    const name = option.slice(0, eq);
    const value = option.slice(eq + 1);
    if (name === "autovacuum_enabled") settings.enabled = server.enabled && value === "true";
    const key = PARAMETERS[name];
    if (key && key !== "enabled") settings[key] = Number(value);
  }
  return settings;
}

export interface TableCounters {
  /** pg_class.reltuples: -1 when the table was never vacuumed or analyzed. */
  reltuples: number;
  deadTuples: number;
  modifiedSinceAnalyze: number;
  insertedSinceVacuum: number;
}

/** Autovacuum's thresholds for a table, and which are passed, as relation_needs_vacanalyze computes them. */
export function autovacuumDue(
  settings: AutovacuumSettings,
  counters: TableCounters,
): Pick<
  TableHealth,
  | "analyzeThreshold"
  | "analyzeDue"
  | "vacuumThreshold"
  | "vacuumDue"
  | "insertVacuumThreshold"
  | "insertVacuumDue"
> {
  const tuples = Math.max(counters.reltuples, 0);
  const analyzeThreshold = Math.floor(settings.analyzeThreshold + settings.analyzeScaleFactor * tuples);
  const vacuumThreshold = Math.floor(settings.vacuumThreshold + settings.vacuumScaleFactor * tuples);
  const insertVacuumThreshold = Math.floor(settings.insertThreshold + settings.insertScaleFactor * tuples);
  return {
    analyzeThreshold,
    analyzeDue: counters.modifiedSinceAnalyze > analyzeThreshold,
    vacuumThreshold,
    vacuumDue: counters.deadTuples > vacuumThreshold,
    insertVacuumThreshold,
    insertVacuumDue: settings.insertThreshold >= 0 && counters.insertedSinceVacuum > insertVacuumThreshold,
  };
}

interface TableRow {
  name: string;
  reltuples: number;
  reloptions: string[] | null;
  n_live_tup: string;
  n_dead_tup: string;
  n_mod_since_analyze: string;
  n_ins_since_vacuum: string;
  total_bytes: string;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
}

export interface TableReading {
  health: TableHealth;
  /** Never vacuumed or analyzed (reltuples -1): the planner has no statistics at all. */
  neverAnalyzed: boolean;
}

/** The bulk-loaded tables, and every other table of `public` with at least `largeTableRows` live rows. */
export async function readTables(
  client: ClientBase,
  bulkLoaded: readonly string[],
  largeTableRows: number,
): Promise<TableReading[]> {
  const server = await readServerAutovacuumSettings(client);
  const { rows } = await client.query<TableRow>(
    `SELECT c.relname AS name, c.reltuples::float8 AS reltuples, c.reloptions,
            s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.n_ins_since_vacuum,
            pg_total_relation_size(c.oid) AS total_bytes,
            s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
       AND (c.relname = ANY($1) OR s.n_live_tup >= $2)
     ORDER BY c.relname`,
    [bulkLoaded, largeTableRows],
  );
  return rows.map((row) => {
    const settings = effectiveSettings(server, row.reloptions ?? []);
    const counters: TableCounters = {
      reltuples: row.reltuples,
      deadTuples: count(row.n_dead_tup),
      modifiedSinceAnalyze: count(row.n_mod_since_analyze),
      insertedSinceVacuum: count(row.n_ins_since_vacuum),
    };
    const liveTuples = count(row.n_live_tup);
    return {
      neverAnalyzed: row.reltuples < 0 && liveTuples > 0,
      health: {
        name: row.name,
        liveTuples,
        deadTuples: counters.deadTuples,
        modifiedSinceAnalyze: counters.modifiedSinceAnalyze,
        insertedSinceVacuum: counters.insertedSinceVacuum,
        totalBytes: count(row.total_bytes),
        lastVacuum: timestamp(row.last_vacuum),
        lastAutovacuum: timestamp(row.last_autovacuum),
        lastAnalyze: timestamp(row.last_analyze),
        lastAutoanalyze: timestamp(row.last_autoanalyze),
        autovacuumEnabled: settings.enabled,
        ...autovacuumDue(settings, counters),
      },
    };
  });
}

const n = (value: number) => value.toLocaleString("en-US");

/**
 * Whether what holds the oldest snapshot is one to end before a VACUUM: a replication slot, which never ends by
 * itself, or a session's transaction or a prepared transaction open for at least `longTransactionSeconds`, the
 * age past which health calls a transaction long. A younger session's snapshot (a load, a migration, a request
 * running now) ends with its work, soon, and a younger prepared transaction is a two-phase commit its
 * transaction manager is finishing: neither is named as one to end.
 */
export function holdsBackVacuum(holder: XminHolderHealth, limits: HealthLimits): boolean {
  if (holder.kind === "prepared transaction") {
    return (holder.ageSeconds ?? 0) >= limits.longTransactionSeconds;
  }
  if (holder.kind !== "session") return true;
  // Details hidden from health's role: the age is not known, and the holder is named as before.
  const seconds = holder.session?.transactionSeconds ?? null;
  return seconds === null || seconds >= limits.longTransactionSeconds;
}

/**
 * What needs doing about a table: an ANALYZE or VACUUM autovacuum is behind on, or autovacuum itself. Dead rows
 * that a snapshot still held (`oldestXmin`: a session's open transaction, a prepared transaction, a slot) might
 * see stay, whatever VACUUM runs: while one that holdsBackVacuum is held, the dead-rows finding names it, to end
 * first.
 */
export function tableFindings(
  reading: TableReading,
  limits: HealthLimits,
  oldestXmin: XminHolderHealth | null = null,
): HealthFinding[] {
  const t = reading.health;
  const table = shownName(t.name);
  const findings: HealthFinding[] = [];
  const add = (severity: HealthFinding["severity"], problem: string, action: string) =>
    findings.push({ severity, subject: t.name, subjectKind: "table", problem, action });

  if (!t.autovacuumEnabled) {
    add(
      "action",
      "autovacuum does not run on this table (off for the server, for the table, or track_counts is off)",
      `turn it back on: ALTER TABLE ${table} RESET (autovacuum_enabled), and autovacuum = on, track_counts = on`,
    );
  }
  const overdue = (changed: number, threshold: number) => changed > limits.overdueFactor * threshold;
  if (reading.neverAnalyzed) {
    add(
      "action",
      `never analyzed: the planner has no statistics for its ${n(t.liveTuples)} rows`,
      `ANALYZE ${table}`,
    );
  } else if (t.analyzeDue) {
    const problem = `${n(t.modifiedSinceAnalyze)} rows changed since the last analyze (autovacuum analyzes after ${n(t.analyzeThreshold)}): the planner's statistics are out of date`;
    if (overdue(t.modifiedSinceAnalyze, t.analyzeThreshold)) add("action", problem, `ANALYZE ${table}`);
    else add("info", problem, "none: autovacuum analyzes it on its next round");
  }
  if (t.vacuumDue) {
    const problem = `${n(t.deadTuples)} dead rows (autovacuum vacuums after ${n(t.vacuumThreshold)})`;
    const held =
      oldestXmin && holdsBackVacuum(oldestXmin, limits)
        ? `${describeXminHolder(oldestXmin)} holds a snapshot (${snapshotAgeText(oldestXmin)}) that keeps vacuum from removing rows deleted since: end it first (${xminHolderFix(oldestXmin)})`
        : undefined;
    if (overdue(t.deadTuples, t.vacuumThreshold)) {
      add("action", problem, held ? `${held}, then VACUUM (ANALYZE) ${table}` : `VACUUM (ANALYZE) ${table}`);
    } else {
      add(
        "info",
        problem,
        held
          ? `${held}; autovacuum vacuums it on its next round after`
          : "none: autovacuum vacuums it on its next round",
      );
    }
  }
  if (t.insertVacuumDue) {
    add(
      "info",
      `${n(t.insertedSinceVacuum)} rows inserted since the last vacuum (autovacuum vacuums after ${n(t.insertVacuumThreshold)})`,
      "none: autovacuum vacuums it on its next round, setting the visibility map of the new pages",
    );
  }
  return findings;
}
