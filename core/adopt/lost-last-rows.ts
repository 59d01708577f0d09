// Ledger rows deleted from the end of the ledger. The serial ids tell a deleted row between two applied ones
// (core/migrations/ledger.ts, missingRows), but not a deleted last row: a revert removes the last rows too,
// and leaves the sequence past max(id) just the same. The schema snapshot tells more: apply records it after
// the last migration it ran, and a revert records it again after its Down sections. A snapshot recorded after
// a migration the ledger no longer lists, whose objects are still there as the snapshot recorded them, was
// not followed by a revert (whose Down section would have dropped them): that migration's row was deleted.
// An interrupted revert (Down sections committed, snapshot not retaken) leaves the same ledger, snapshot and
// sequence, but not the objects. A migration that creates nothing (data only, ALTER TABLE ... ADD COLUMN)
// cannot be told this way, unless a later migration that does create something lost its row with it.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import type { CommandPrinter } from "../command-to-run";
import type { MigrationFile } from "../migrations/files";
import { lostLastRowProblem, type LedgerEntry, type LedgerProblem } from "../migrations/ledger";
import { readSnapshot } from "../snapshot";
import { createdObjects, type CreatedObject } from "./created-objects";
import { existingObjects } from "./preflight";

/**
 * The pending migrations after the ledger's last row whose rows were deleted, each as `missing-from-ledger`;
 * empty when there is none. `snapshotLast`: the migration the snapshot was recorded after, when the caller read
 * it already (the batched state); undefined reads it. The whole snapshot and the catalog are read only when it
 * is a pending migration: the rare case.
 */
export async function lostLastRows(
  client: ClientBase,
  ledger: readonly Pick<LedgerEntry, "name">[],
  pending: readonly MigrationFile[],
  {
    snapshotLast,
    print,
  }: {
    /** The migration the recorded snapshot was taken after, when read already (null: none); read when unset. */
    snapshotLast?: string | null;
    /** How a fix prints the verify it names (ReleaseOptions.printCommand). */
    print?: CommandPrinter;
  } = {},
): Promise<LedgerProblem[]> {
  const last = ledger.at(-1)?.name;
  if (last === undefined || !pending.some((f) => f.name > last)) return [];
  const recordedAfter = snapshotLast !== undefined ? snapshotLast : await readSnapshotLast(client);
  if (!recordedAfter || !pending.some((f) => f.name > last && f.name <= recordedAfter)) return [];
  const snapshot = await readSnapshot(client);
  if (!snapshot?.lastMigration) return [];
  const recordedLast = snapshot.lastMigration;
  const candidates = pending.filter((f) => f.name > last && f.name <= recordedLast);
  if (candidates.length === 0) return [];
  // Tables and indexes: the snapshot keys them as `table public.Name` / `index public.name`.
  const objects = createdObjects(candidates).filter((o) => o.kind === "table" || o.kind === "index");
  const existing = await existingObjects(client, objects);
  if (existing.length === 0) return [];
  const schema = (await client.query<{ s: string }>("SELECT current_schema() AS s")).rows[0]!.s;
  const key = (o: CreatedObject) => `${o.kind} ${o.schema ?? schema}.${o.name}`;
  const recorded = existing.filter((o) => Object.hasOwn(snapshot.objects, key(o)));
  if (recorded.length === 0) return [];
  // The newest migration with its objects there was applied after every candidate before it.
  const newest = recorded
    .map((o) => o.migration)
    .sort()
    .at(-1)!;
  const lost = candidates.filter((f) => f.name <= newest);
  const evidence = { snapshotLast: recordedLast, objects: recorded.slice(0, 5).map(key) };
  return lost.map((file, i) => lostLastRowProblem(file, i === 0 ? last : lost[i - 1]!.name, evidence, print));
}

/** The migration the recorded snapshot was taken after, without reading the snapshot itself; null when none. */
export async function readSnapshotLast(client: ClientBase): Promise<string | null> {
  const table = `${BOOKKEEPING_SCHEMA}.schema_snapshot`;
  const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [table]);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await client.query<{ last: string | null }>(
    `SELECT last_migration AS last FROM ${table} WHERE id = 1`,
  );
  return rows[0]?.last ?? null;
}
