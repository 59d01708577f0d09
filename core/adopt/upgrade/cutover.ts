// Contract: in one transaction under the lock timeout, the mirror triggers go (their DROP waits for, then
// holds off, the old app's writes on the legacy tables), the staging tables' own triggers come back, the
// legacy tables move out of `public` into LEGACY_KEPT and the release's objects move in (ALTER ... SET SCHEMA:
// catalog-only, each under a brief ACCESS EXCLUSIVE lock), and the ledger records every release migration as
// apply would (name, checksum). Either all of it commits, or none.
//
// Objects move rather than schemas being renamed, so `public` itself stays what it was: its owner
// (pg_database_owner), comment, privileges and the default privileges the access layer gave on it, and the
// extensions an administrator created in it (a migrator may not move an extension it does not own).
import type { ClientBase } from "pg";
import { commandToRun, type CommandPrinter } from "../../command-to-run";
import { upgradeAgain } from "./again";
import { recordAsApplied } from "../../bookkeeping";
import { ReleaseError } from "../../errors";
import type { MigrationFile } from "../../migrations/files";
import { dropMirrors } from "./backfill";
import { markDone, setStagingTriggers } from "./expand";
import type { LockClock } from "./lock-clock";
import type { TableMapping } from "./mapping";
import { moveSchemaObjects, moveTables } from "./move-objects";
import { LEGACY_TABLES } from "../legacy-inspection";
import { FOREIGN_LEDGER_TABLES } from "../preflight";
import { LEGACY_KEPT_SCHEMA, LEGACY_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA } from "./names";
import { findUncarried, refuseUncarried } from "./uncarried";

/** Rows the mirror could not map (an old-app write that breaks a release rule): cutover waits for their fix. */
export async function rejectedRows(
  client: ClientBase,
): Promise<{ table: string; id: string; error: string }[]> {
  const r = await client.query<{ table: string; id: string; error: string }>(
    `SELECT "table", id, error FROM ${WORK_SCHEMA}.rejected ORDER BY "table", id LIMIT 20`,
  );
  return r.rows;
}

/**
 * Rows the mirror rejected, found before the proof or, written since, by the cutover. The mirror's error names
 * the staged table's constraint, not what the legacy value should be: the plan's legacy-rows problems (the
 * inspection's defects, read from the committed legacy rows) give each with its values and fix. `print`: how
 * the fix prints that plan and the upgrade to run again (upgradePrinter, run.ts); without one, in words.
 */
export function rejectedError(
  rejected: readonly { table: string; id: string; error: string }[],
  print: CommandPrinter | undefined,
): ReleaseError {
  return new ReleaseError(
    "invalid-input",
    `The old app wrote ${rejected.length === 20 ? "20 or more" : rejected.length} row(s) since the upgrade started that the release's rules refuse, which the mirror could not copy: ${rejected
      .map((r) => `${r.table} ${r.id} (${r.error})`)
      .join("; ")}.`,
    `Fix those rows in the legacy tables (${commandToRun(print, ["plan", "--json"], "plan")} lists each with its values and fix; the mirror copies a row once it is valid, see ${WORK_SCHEMA}.rejected), then ${upgradeAgain(print)}. Nothing was switched; the backfill is kept.`,
  );
}

export async function cutover(
  client: ClientBase,
  files: readonly MigrationFile[],
  mappings: readonly TableMapping[],
  clock: LockClock,
  print: CommandPrinter | undefined,
): Promise<void> {
  await clock.transaction(client, "cutover", async () => {
    await dropMirrors(client, mappings);
    // A row the old app wrote since the proof that the mirror could not map.
    const rejected = await rejectedRows(client);
    if (rejected.length > 0) throw rejectedError(rejected, print);
    // A column or a dependent object added while the upgrade ran, seen under the locks the move takes next
    // (not counted: a scan would hold the old app's writes back).
    refuseUncarried(await findUncarried(client, mappings, "cutover", false), "cutover", print);
    await setStagingTriggers(client, true);
    // Out first, then in: the release's tables take the legacy ones' names.
    await client.query(`CREATE SCHEMA ${LEGACY_KEPT_SCHEMA}`);
    await moveTables(client, LEGACY_SCHEMA, LEGACY_KEPT_SCHEMA, [
      ...LEGACY_TABLES,
      FOREIGN_LEDGER_TABLES.prisma,
    ]);
    await moveSchemaObjects(client, STAGING_SCHEMA, LEGACY_SCHEMA);
    await client.query(`DROP SCHEMA ${STAGING_SCHEMA}`);
    await recordAsApplied(client, files);
    await markDone(client, "cutover");
  });
}

/**
 * The contract's drop of the kept legacy tables, without CASCADE: the tables together (their foreign keys
 * on one another go with them), then the schema, so that anything else depending on them or left in the
 * schema makes the drop fail rather than go with it.
 */
export async function dropKeptLegacyTables(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
    [LEGACY_KEPT_SCHEMA],
  );
  if (rows.length > 0) await client.query(`DROP TABLE ${rows.map((r) => r.name).join(", ")}`);
  await client.query(`DROP SCHEMA ${LEGACY_KEPT_SCHEMA}`);
}
