// The rules behind `neonhub-db health`, on their own: autovacuum's thresholds and when a reading needs action.
import { describe, expect, it } from "vitest";
import { clusterFindings } from "../../core/health/cluster";
import { DEFAULT_HEALTH_LIMITS } from "../../core/health/limits";
import type { ClusterHealth, IndexHealth, TableHealth, XminHolderHealth } from "../../core/health/report";
import {
  AutovacuumSettings,
  autovacuumDue,
  effectiveSettings,
  tableFindings,
} from "../../core/health/tables";
import { vectorIndexFindings, type VectorReading } from "../../core/health/vector";
import { tooManyConnectionsError } from "../../core/too-many-connections";

// PostgreSQL's defaults.
const SERVER: AutovacuumSettings = {
  enabled: true,
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
};

const BULK_LOAD = [
  "autovacuum_analyze_scale_factor=0.02",
  "autovacuum_vacuum_insert_scale_factor=0.05",
  "autovacuum_vacuum_scale_factor=0.05",
];

function table(overrides: Partial<TableHealth>): TableHealth {
  return {
    name: "Chunk",
    liveTuples: 0,
    deadTuples: 0,
    modifiedSinceAnalyze: 0,
    insertedSinceVacuum: 0,
    totalBytes: 0,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: null,
    lastAutoanalyze: null,
    autovacuumEnabled: true,
    analyzeThreshold: 50,
    analyzeDue: false,
    vacuumThreshold: 50,
    vacuumDue: false,
    insertVacuumThreshold: 1000,
    insertVacuumDue: false,
    ...overrides,
  };
}

describe("autovacuum thresholds", () => {
  it("take a table's storage parameters over the server's settings", () => {
    expect(effectiveSettings(SERVER, BULK_LOAD)).toEqual({
      ...SERVER,
      analyzeScaleFactor: 0.02,
      insertScaleFactor: 0.05,
      vacuumScaleFactor: 0.05,
    });
    expect(effectiveSettings(SERVER, ["autovacuum_enabled=false"]).enabled).toBe(false);
    expect(effectiveSettings({ ...SERVER, enabled: false }, ["autovacuum_enabled=true"]).enabled).toBe(false);
  });

  it("follow threshold + scale factor × reltuples, counting a never-analyzed table as empty", () => {
    const settings = effectiveSettings(SERVER, BULK_LOAD);
    const counters = {
      reltuples: 1_000_000,
      deadTuples: 50_051,
      modifiedSinceAnalyze: 20_050,
      insertedSinceVacuum: 0,
    };
    expect(autovacuumDue(settings, counters)).toEqual({
      analyzeThreshold: 20_050,
      analyzeDue: false,
      vacuumThreshold: 50_050,
      vacuumDue: true,
      insertVacuumThreshold: 51_000,
      insertVacuumDue: false,
    });
    const fresh = autovacuumDue(SERVER, { ...counters, reltuples: -1, modifiedSinceAnalyze: 51 });
    expect(fresh).toMatchObject({ analyzeThreshold: 50, analyzeDue: true });
    expect(
      autovacuumDue({ ...SERVER, insertThreshold: -1 }, { ...counters, insertedSinceVacuum: 10 ** 9 }),
    ).toMatchObject({ insertVacuumDue: false });
  });
});

describe("table findings", () => {
  const reading = (health: Partial<TableHealth>, neverAnalyzed = false) => ({
    health: table(health),
    neverAnalyzed,
  });

  it("asks for an ANALYZE when autovacuum is well behind, and only notes it when it is about to run", () => {
    const behind = tableFindings(
      reading({ modifiedSinceAnalyze: 20_000, analyzeThreshold: 50, analyzeDue: true }),
      DEFAULT_HEALTH_LIMITS,
    );
    expect(behind).toEqual([
      {
        severity: "action",
        subject: "Chunk",
        subjectKind: "table",
        problem: expect.stringContaining("20,000 rows changed since the last analyze"),
        action: 'ANALYZE "Chunk"',
      },
    ]);
    const due = tableFindings(
      reading({ modifiedSinceAnalyze: 60, analyzeThreshold: 50, analyzeDue: true }),
      DEFAULT_HEALTH_LIMITS,
    );
    expect(due).toEqual([expect.objectContaining({ severity: "info" })]);
  });

  it("never asks for action about inserts awaiting their vacuum", () => {
    const findings = tableFindings(
      reading({ insertedSinceVacuum: 20_000, insertVacuumThreshold: 1000, insertVacuumDue: true }),
      DEFAULT_HEALTH_LIMITS,
    );
    expect(findings.map((f) => f.severity)).toEqual(["info"]);
  });

  it("flags a never-analyzed table, dead rows autovacuum is behind on, and autovacuum turned off", () => {
    const findings = tableFindings(
      reading(
        { liveTuples: 10, deadTuples: 500, vacuumThreshold: 50, vacuumDue: true, autovacuumEnabled: false },
        true,
      ),
      DEFAULT_HEALTH_LIMITS,
    );
    expect(findings.map((f) => [f.severity, f.action])).toEqual([
      ["action", expect.stringContaining('ALTER TABLE "Chunk" RESET (autovacuum_enabled)')],
      ["action", 'ANALYZE "Chunk"'],
      ["action", 'VACUUM (ANALYZE) "Chunk"'],
    ]);
  });

  it("names the snapshot that keeps dead rows, to end before the VACUUM", () => {
    const dead = reading({ deadTuples: 80_006, vacuumThreshold: 50, vacuumDue: true });
    // In a transaction for 45 min: past longTransactionSeconds (30 min), a long transaction.
    const session = {
      pid: 4242,
      user: "neonhub_app",
      application: "api",
      state: "idle in transaction",
      transactionSeconds: 2_700,
      canTerminate: false,
    };
    const [byTransaction] = tableFindings(dead, DEFAULT_HEALTH_LIMITS, {
      kind: "session",
      name: null,
      user: "neonhub_app",
      state: "idle in transaction",
      ageSeconds: 2_700,
      xminAge: 3,
      session,
      preparedTransaction: null,
    });
    expect(byTransaction?.severity).toBe("action");
    expect(byTransaction?.action).toBe(
      "session pid 4242 (neonhub_app, api, idle in transaction, in a transaction for 45 min) holds a snapshot " +
        "(3 transactions old) that keeps vacuum from removing rows deleted since: end it first (end it from its " +
        "client, or SELECT pg_terminate_backend(4242) as its own login neonhub_app, or the server's admin " +
        '(a superuser, rds_superuser on RDS, or a member of pg_signal_backend)), then VACUUM (ANALYZE) "Chunk"',
    );
    // A session's young snapshot (a load running for 8 s) ends with its work: not one to terminate.
    const [byLoad] = tableFindings(dead, DEFAULT_HEALTH_LIMITS, {
      kind: "session",
      name: null,
      user: "neonhub_migrator",
      state: "active",
      ageSeconds: 8,
      xminAge: 1,
      session: { ...session, application: "neonhub-db:load-chunks", state: "active", transactionSeconds: 8 },
      preparedTransaction: null,
    });
    expect(byLoad?.action).toBe('VACUUM (ANALYZE) "Chunk"');
    // Named once it is as old as health's long transaction, and one transaction is said as one.
    const [byOldLoad] = tableFindings(dead, DEFAULT_HEALTH_LIMITS, {
      kind: "session",
      name: null,
      user: "neonhub_migrator",
      state: "active",
      ageSeconds: 1_800,
      xminAge: 1,
      session: {
        ...session,
        application: "neonhub-db:load-chunks",
        state: "active",
        transactionSeconds: 1_800,
      },
      preparedTransaction: null,
    });
    expect(byOldLoad?.action).toContain("holds a snapshot (1 transaction old)");
    const [bySlot] = tableFindings(dead, DEFAULT_HEALTH_LIMITS, {
      kind: "replication slot",
      name: "cdc",
      user: null,
      state: "inactive",
      ageSeconds: null,
      xminAge: 900,
      session: null,
      preparedTransaction: null,
    });
    expect(bySlot?.action).toContain("replication slot cdc (inactive)");
    expect(bySlot?.action).toContain("pg_drop_replication_slot('cdc')");
    // A prepared transaction is named as a long transaction is: once it is 30 min old.
    const prepared = (ageSeconds: number): XminHolderHealth => ({
      kind: "prepared transaction",
      name: "tx1",
      user: "neonhub_owner",
      state: null,
      ageSeconds,
      xminAge: 900,
      session: null,
      preparedTransaction: {
        gid: "tx1",
        owner: "neonhub_owner",
        database: "neonhub",
        preparedAt: "2026-12-06T09:00:00.000Z",
        ageSeconds,
        mayFinish: false,
      },
    });
    const [byPrepared] = tableFindings(dead, DEFAULT_HEALTH_LIMITS, prepared(2_700));
    expect(byPrepared?.action).toBe(
      "prepared transaction 'tx1' (owner neonhub_owner, prepared 2026-12-06T09:00:00.000Z, 45 min ago) holds a " +
        "snapshot (900 transactions old) that keeps vacuum from removing rows deleted since: end it first (have its " +
        "transaction manager finish it, or, if it was abandoned, run COMMIT PREPARED 'tx1' or ROLLBACK PREPARED 'tx1', as " +
        'role neonhub_owner (SET ROLE "neonhub_owner" first, from a login that is a member of it) or a superuser ' +
        '(whichever the transaction\'s other participants did)), then VACUUM (ANALYZE) "Chunk"',
    );
    // A young one is a two-phase commit its transaction manager is finishing.
    expect(tableFindings(dead, DEFAULT_HEALTH_LIMITS, prepared(600))[0]?.action).toBe(
      'VACUUM (ANALYZE) "Chunk"',
    );
    expect(tableFindings(dead, DEFAULT_HEALTH_LIMITS, null)[0]?.action).toBe('VACUUM (ANALYZE) "Chunk"');
  });
});

describe("cluster findings", () => {
  const healthy: ClusterHealth = {
    connections: { inUse: 10, max: 200, reservedForSuperuser: 3 },
    sessionDetails: { role: "neonhub_owner", hiddenSessions: 0, hiddenInDatabase: 0 },
    oldestTransaction: null,
    preparedTransactions: [],
    oldestXmin: null,
    lockWaits: [],
    transactionIdAge: { age: 1000, freezeMaxAge: 200_000_000, database: "neonhub" },
    role: "primary",
    replicas: [],
    standbyReplayLagSeconds: null,
    replicationSlots: [],
  };

  it("finds nothing on a healthy server", () => {
    expect(clusterFindings(healthy, DEFAULT_HEALTH_LIMITS)).toEqual([]);
  });

  it("names a prepared transaction as old as a long transaction, with its gid, owner and the statements that finish it", () => {
    const prepared = (gid: string, ageSeconds: number, mayFinish: boolean) => ({
      gid,
      owner: "neonhub_owner",
      database: "neonhub",
      preparedAt: "2026-12-06T09:00:00.000Z",
      ageSeconds,
      mayFinish,
    });
    const findings = clusterFindings(
      {
        ...healthy,
        preparedTransactions: [prepared("abandoned", 1_800, true), prepared("in-flight", 5, true)],
      },
      DEFAULT_HEALTH_LIMITS,
    );
    expect(findings).toEqual([
      {
        severity: "action",
        subject: "prepared transaction",
        problem:
          "prepared transaction 'abandoned' (owner neonhub_owner, prepared 2026-12-06T09:00:00.000Z, 30 min ago) holds its " +
          "locks and keeps vacuum from removing rows it might still see until it is committed or rolled back; it has no " +
          "session to end, and outlives restarts",
        action:
          "have its transaction manager finish it, or, if it was abandoned, run COMMIT PREPARED 'abandoned' or ROLLBACK PREPARED " +
          "'abandoned' (whichever the transaction's other participants did)",
      },
    ]);
  });

  it("says when it cannot see other sessions' details, and which grant shows them", () => {
    const findings = clusterFindings(
      { ...healthy, sessionDetails: { role: "neonhub_owner", hiddenSessions: 3, hiddenInDatabase: 2 } },
      DEFAULT_HEALTH_LIMITS,
    );
    expect(findings).toEqual([
      {
        severity: "action",
        subject: "session details",
        problem: expect.stringContaining("3 other sessions (2 in this database) from role neonhub_owner"),
        action: expect.stringContaining('GRANT pg_read_all_stats TO "neonhub_owner"'),
      },
    ]);
  });

  it("names connections near the limit, a long transaction, a lagging replica and a stale slot", () => {
    const findings = clusterFindings(
      {
        ...healthy,
        connections: { inUse: 160, max: 200, reservedForSuperuser: 3 },
        oldestTransaction: {
          pid: 4242,
          user: "neonhub_app",
          application: "api",
          state: "idle in transaction",
          ageSeconds: 7200,
          canTerminate: true,
        },
        replicas: [
          { name: "replica-1", state: "streaming", replayLagSeconds: 120, replayLagBytes: 2 * 1024 ** 3 },
        ],
        replicationSlots: [{ name: "old_cdc", type: "logical", active: false, retainedBytes: 5 * 1024 ** 3 }],
      },
      DEFAULT_HEALTH_LIMITS,
    );
    expect(findings.map((f) => f.subject)).toEqual([
      "connections",
      "oldest transaction",
      "replica replica-1",
      "replication slot old_cdc",
    ]);
    expect(findings.every((f) => f.severity === "action")).toBe(true);
    expect(findings[1]?.action).toBe("end it from its client, or SELECT pg_terminate_backend(4242)");
    expect(findings[3]?.action).toContain("pg_drop_replication_slot('old_cdc')");
  });

  it("says who may end a session health's role may not signal", () => {
    const [finding] = clusterFindings(
      {
        ...healthy,
        oldestTransaction: {
          pid: 4242,
          user: "neonhub_app",
          application: "api",
          state: "idle in transaction",
          ageSeconds: 7200,
          canTerminate: false,
        },
      },
      DEFAULT_HEALTH_LIMITS,
    );
    expect(finding?.action).toBe(
      "end it from its client, or SELECT pg_terminate_backend(4242) as its own login neonhub_app, or the " +
        "server's admin (a superuser, rds_superuser on RDS, or a member of pg_signal_backend)",
    );
  });

  it("names the database frozen longest ago, and the admin for VACUUM (FREEZE)", () => {
    const [finding] = clusterFindings(
      {
        ...healthy,
        transactionIdAge: { age: 500_000_000, freezeMaxAge: 200_000_000, database: "analytics" },
      },
      DEFAULT_HEALTH_LIMITS,
    );
    expect(finding?.subject).toBe("transaction ID age");
    expect(finding?.problem).toContain("since database analytics was last frozen");
    expect(finding?.action).toContain("let autovacuum finish");
    expect(finding?.action).toContain("as the server's admin");
    expect(finding?.action).toContain("VACUUM (FREEZE) in database analytics");
  });

  it("names a lock wait past the limit with the head of its chain, and lists shorter waits only", () => {
    const session = (pid: number, user: string, state: string, canTerminate: boolean) => ({
      pid,
      user,
      application: "api",
      state,
      transactionSeconds: 90,
      canTerminate,
    });
    const head = session(100, "neonhub_migrator", "idle in transaction", false);
    const findings = clusterFindings(
      {
        ...healthy,
        lockWaits: [
          {
            session: session(300, "neonhub_app", "active", true),
            waitSeconds: 45,
            lock: 'RowExclusiveLock on "Chunk"',
            blockedBy: [200],
            blocker: head,
            byPreparedTransaction: false,
            preparedTransactions: [],
          },
          {
            session: session(200, "neonhub_app", "active", true),
            waitSeconds: 10,
            lock: 'AccessExclusiveLock on "Chunk"',
            blockedBy: [100],
            blocker: head,
            byPreparedTransaction: false,
            preparedTransactions: [],
          },
        ],
      },
      { ...DEFAULT_HEALTH_LIMITS, lockWaitSeconds: 30 },
    );
    expect(findings).toEqual([
      {
        severity: "action",
        subject: "lock wait",
        problem:
          'pid 300 (neonhub_app, api, active, in a transaction for 90 s) has waited 45 s for RowExclusiveLock on "Chunk", ' +
          "blocked by pid 200, itself waiting behind pid 100 (neonhub_migrator, api, idle in transaction, in a transaction for 90 s)",
        action: expect.stringContaining(
          "SELECT pg_terminate_backend(100) as its own login neonhub_migrator, or the server's admin",
        ),
      },
    ]);
  });
});

describe("vector index findings", () => {
  const index = (name: string): IndexHealth => ({
    name,
    table: "Chunk",
    kind: "vector",
    exists: true,
    valid: true,
    sizeBytes: 8192,
    scans: 0,
    tuplesRead: 0,
    method: "ivfflat",
  });
  const reading = (decisions: VectorReading["decisions"]): VectorReading => ({
    records: [],
    decisions,
    rows: new Map(),
  });

  it("turn what apply would do into the action, in the step's own words", () => {
    for (const [action, verb] of [
      ["create", "build it"],
      ["rebuild", "rebuild it"],
      ["update", "recalibrate it"],
    ] as const) {
      const decisions = new Map([["idx_x", { name: "idx_x", action, reason: "because" }]]);
      expect(vectorIndexFindings(index("idx_x"), reading(decisions))).toEqual([
        {
          severity: "action",
          subject: "idx_x",
          subjectKind: "index",
          problem: "because",
          action: `${verb} with \`neonhub-db apply\``,
        },
      ]);
    }
    const unchanged = new Map([["idx_x", { name: "idx_x", action: "unchanged" as const, reason: "fine" }]]);
    expect(vectorIndexFindings(index("idx_x"), reading(unchanged))).toEqual([]);
  });

  it("name a leftover of an interrupted rebuild, and note vector indexes no release manages", () => {
    expect(vectorIndexFindings(index("idx_chunk_embedding_cosine_rebuild"), reading(new Map()))).toEqual([
      expect.objectContaining({ severity: "action", action: expect.stringContaining("neonhub-db apply") }),
    ]);
    // Printed to run on the database health read, as every action's command is.
    const print = (args: readonly string[]) =>
      `\`neonhub-db ${args.join(" ")} --database-url "$DIRECT_URL"\``;
    expect(
      vectorIndexFindings(index("idx_chunk_embedding_cosine_rebuild"), reading(new Map()), print),
    ).toEqual([
      expect.objectContaining({
        action: '`neonhub-db apply --database-url "$DIRECT_URL"` drops it before it builds anything',
      }),
    ]);
    expect(vectorIndexFindings(index("my_own_hnsw"), reading(new Map()))).toEqual([
      expect.objectContaining({ severity: "info", subject: "my_own_hnsw" }),
    ]);
  });
});

describe("a login refused for too many connections", () => {
  it("max_connections used up (SQLSTATE 53300) says who holds them and what to raise", () => {
    const refused = Object.assign(
      new Error("remaining connection slots are reserved for non-replication superuser connections"),
      { code: "53300" },
    );
    const error = tooManyConnectionsError(refused, {
      host: "db.internal",
      port: 5432,
      user: "neonhub_migrator",
      database: "neonhub",
    } as Parameters<typeof tooManyConnectionsError>[1]);
    expect(error.code).toBe("connection");
    expect(error.message).toContain("has no connection left (max_connections is used up)");
    expect(error.fix).toContain(
      "SELECT usename, application_name, state, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2, 3",
    );
    expect(error.fix).toContain("raise max_connections");
    expect(error.fix).toContain("end idle sessions");
  });
});
