// Backfill: legacy rows copied into the staging tables in keyset batches (by primary key), while triggers on
// the legacy tables mirror what the old app inserts, updates and deletes meanwhile. Both go through the
// same mapping (mapping.ts). A table's progress row holds its high-water mark: the mirror applies a change
// only to rows at or below it (rows above are the batches' to copy), and a batch takes that row FOR UPDATE
// while the mirror reads it FOR SHARE, so no row is copied by neither or changed behind a batch's back.
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../../identifiers";
import type { Logger } from "../../logger";
import { markDone, stepDone } from "./expand";
import {
  conversationPassStatements,
  organizationStatements,
  upsertStatements,
  type TableMapping,
} from "./mapping";
import { LEGACY_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA, type LegacyOrganization } from "./names";
import type { LockClock } from "./lock-clock";

const q = quoteIdentifier;
const legacy = (table: string) => `${LEGACY_SCHEMA}.${q(table)}`;
const mirrorName = (table: string) => `mirror_${table}`;

/** The trigger function that mirrors one legacy table's changes into staging. */
export function mirrorFunctionSql(mapping: TableMapping): string {
  const t = mapping.table;
  const upsert = upsertStatements(mapping, `(SELECT * FROM ${legacy(t)} WHERE "id" = NEW."id")`)
    .map((s) => `      ${s};`)
    .join("\n");
  return `
CREATE OR REPLACE FUNCTION ${WORK_SCHEMA}.${q(mirrorName(t))}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  p record;
BEGIN
  SELECT last_id, done INTO p FROM ${WORK_SCHEMA}.progress WHERE step = 'backfill:${t}';
  IF p IS NULL THEN RETURN NULL; END IF;
  IF NOT p.done THEN
    -- Wait for a running batch of this table, then read its new high-water mark.
    SELECT last_id, done INTO p FROM ${WORK_SCHEMA}.progress WHERE step = 'backfill:${t}' FOR SHARE;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND (p.done OR OLD."id" <= p.last_id) THEN
    IF TG_OP = 'DELETE' OR OLD."id" <> NEW."id" THEN
      DELETE FROM ${STAGING_SCHEMA}.${q(t)} WHERE "id" = OLD."id";
      DELETE FROM ${WORK_SCHEMA}.rejected WHERE "table" = '${t}' AND id = OLD."id";
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND (p.done OR NEW."id" <= p.last_id) THEN
    BEGIN
${upsert}
      DELETE FROM ${WORK_SCHEMA}.rejected WHERE "table" = '${t}' AND id = NEW."id";
    EXCEPTION WHEN OTHERS THEN
      -- The old app keeps working; the row is reported, and cutover waits until it is fixed.
      INSERT INTO ${WORK_SCHEMA}.rejected ("table", id, error) VALUES ('${t}', NEW."id", SQLERRM)
      ON CONFLICT ("table", id) DO UPDATE SET error = EXCLUDED.error, at = now();
    END;
  END IF;
  RETURN NULL;
END
$fn$`;
}

/** Installs the mirror triggers (each CREATE TRIGGER takes a brief lock on its legacy table). */
export async function installMirrors(
  client: ClientBase,
  mappings: readonly TableMapping[],
  clock: LockClock,
): Promise<void> {
  for (const mapping of mappings) {
    const t = mapping.table;
    await clock.transaction(client, `mirror trigger on ${t}`, async () => {
      await client.query(mirrorFunctionSql(mapping));
      await client.query(`DROP TRIGGER IF EXISTS neonhub_upgrade_mirror ON ${legacy(t)}`);
      await client.query(
        `CREATE TRIGGER neonhub_upgrade_mirror AFTER INSERT OR UPDATE OR DELETE ON ${legacy(t)}
           FOR EACH ROW EXECUTE FUNCTION ${WORK_SCHEMA}.${q(mirrorName(t))}()`,
      );
      await client.query(
        `INSERT INTO ${WORK_SCHEMA}.progress (step) VALUES ($1) ON CONFLICT (step) DO NOTHING`,
        [`backfill:${t}`],
      );
    });
  }
}

/** Drops the mirror triggers; inside the cutover's transaction, so the old app's writes wait for the swap. */
export async function dropMirrors(client: ClientBase, mappings: readonly TableMapping[]): Promise<void> {
  for (const { table } of mappings) {
    await client.query(`DROP TRIGGER IF EXISTS neonhub_upgrade_mirror ON ${legacy(table)}`);
  }
}

export interface BackfillOptions {
  batchSize: number;
  /** Stop after this many batches (all tables together): an interruption a test or an operator can ask for. */
  maxBatches?: number;
  log: Logger;
}

export interface BackfillResult {
  /** Rows the batches wrote per release table, by all runs so far (each pass counts its own table's rows). */
  rows: Record<string, number>;
  /** The same, by this run's batches alone (a table an earlier run finished is not listed). */
  rowsThisRun: Record<string, number>;
  /** This run's batches. */
  batches: number;
  /** Legacy rows copied by this run's batches. */
  copied: number;
  complete: boolean;
}

/** One keyset pass: the statements run over the id range of `keyTable` that each batch covers. */
interface Pass {
  step: string;
  /** The release table the pass fills: the summary's and the log's name for its count. */
  label: string;
  keyTable: string;
  statements: string[];
  /**
   * What the pass's count holds, so that it is a count of `label`'s rows: "keys" the `keyTable` rows the
   * batches went through (a table's own pass: one legacy row, one release row), "written" the rows its
   * statements wrote (the conversations pass: its keys are users, and a user without messages has none).
   */
  counts: "keys" | "written";
}

async function runPass(
  client: ClientBase,
  pass: Pass,
  clock: LockClock,
  options: BackfillOptions,
  batchesSoFar: () => number,
): Promise<{ rows: number; batches: number; counted: number; complete: boolean; doneBefore: boolean }> {
  let countedNow = 0;
  let batches = 0;
  for (let first = true; ; first = false) {
    const state = await client.query<{ done: boolean; rows: string }>(
      `SELECT done, rows FROM ${WORK_SCHEMA}.progress WHERE step = $1`,
      [pass.step],
    );
    const current = state.rows[0]!;
    const rows = Number(current.rows);
    if (current.done) return { rows, batches, counted: countedNow, complete: true, doneBefore: first };
    if (options.maxBatches !== undefined && batchesSoFar() + batches >= options.maxBatches) {
      return { rows, batches, counted: countedNow, complete: false, doneBefore: false };
    }
    const batch = await clock.transaction(client, `backfill batch of ${pass.label}`, async () => {
      // Taken first: the mirror of this table waits for the batch, then sees its new high-water mark.
      const locked = await client.query<{ last_id: string | null }>(
        `SELECT last_id FROM ${WORK_SCHEMA}.progress WHERE step = $1 FOR UPDATE`,
        [pass.step],
      );
      const from = locked.rows[0]!.last_id ?? "";
      const next = await client.query<{ upto: string | null; n: number }>(
        `SELECT max("id") AS upto, count(*)::int AS n
           FROM (SELECT "id" FROM ${legacy(pass.keyTable)} WHERE "id" > $1 ORDER BY "id" LIMIT $2) s`,
        [from, options.batchSize],
      );
      const { upto, n } = next.rows[0]!;
      if (upto === null) {
        await client.query(
          `UPDATE ${WORK_SCHEMA}.progress SET done = true, updated_at = now() WHERE step = $1`,
          [pass.step],
        );
        return { keys: 0, counted: 0 };
      }
      let written = 0;
      for (const sql of pass.statements) written += (await client.query(sql, [from, upto])).rowCount ?? 0;
      const counted = pass.counts === "keys" ? n : written;
      await client.query(
        `UPDATE ${WORK_SCHEMA}.progress SET last_id = $2, rows = rows + $3, updated_at = now() WHERE step = $1`,
        [pass.step, upto, counted],
      );
      return { keys: n, counted };
    });
    if (batch.keys > 0) batches += 1;
    countedNow += batch.counted;
  }
}

export async function backfill(
  client: ClientBase,
  org: LegacyOrganization,
  mappings: readonly TableMapping[],
  clock: LockClock,
  options: BackfillOptions,
): Promise<BackfillResult> {
  if (!(await stepDone(client, "backfill:organization"))) {
    await clock.transaction(client, "legacy organization", async () => {
      for (const sql of organizationStatements(org)) await client.query(sql);
      await markDone(client, "backfill:organization", 1);
    });
  }
  const rows: Record<string, number> = {};
  const rowsThisRun: Record<string, number> = {};
  let batches = 0;
  let copied = 0;
  const passes: Pass[] = mappings.flatMap((mapping): Pass[] => {
    const table: Pass = {
      step: `backfill:${mapping.table}`,
      label: mapping.table,
      keyTable: mapping.table,
      statements: upsertStatements(
        mapping,
        `(SELECT * FROM ${legacy(mapping.table)} WHERE "id" > $1 AND "id" <= $2)`,
      ),
      counts: "keys",
    };
    if (mapping.table !== "Message") return [table];
    const conversations: Pass = {
      step: "backfill:conversations",
      label: "Conversation",
      keyTable: "User",
      statements: conversationPassStatements(org),
      counts: "written",
    };
    return [conversations, table];
  });
  for (const pass of passes) {
    await client.query(
      `INSERT INTO ${WORK_SCHEMA}.progress (step) VALUES ($1) ON CONFLICT (step) DO NOTHING`,
      [pass.step],
    );
    const outcome = await runPass(client, pass, clock, options, () => batches);
    batches += outcome.batches;
    // Legacy rows only: the conversations the conversations pass writes are derived from them.
    if (pass.counts === "keys") copied += outcome.counted;
    rows[pass.label] = outcome.rows;
    if (outcome.counted > 0) rowsThisRun[pass.label] = outcome.counted;
    if (!outcome.complete) return { rows, rowsThisRun, batches, copied, complete: false };
    // A table an earlier run finished is not announced again: the totals say it.
    if (!outcome.doneBefore) {
      const earlier = outcome.rows - outcome.counted;
      options.log.info(
        `upgrade: backfilled ${pass.label} (${outcome.rows} rows${earlier > 0 ? `, ${outcome.counted} of them this run` : ""})`,
      );
    }
  }
  return { rows, rowsThisRun, batches, copied, complete: true };
}
