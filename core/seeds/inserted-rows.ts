// The embedded rows an apply's seed sets insert into a released database, counted before it runs: plan decides
// the vector indexes on them (core/vector-indexes/seeded-plan.ts), since apply loads the seed sets before it
// builds the indexes. Read-only.
import type { ClientBase } from "pg";
import { seedRecordsExist } from "./records";
import { embeddedRowsOf, type EmbeddedColumn, type SeedSet } from "./seed-set";
import { diffSeedSet } from "./sync";

/**
 * Per table of `tables` and per dimension, the rows with an embedding that applying `sets` inserts: the rows
 * each set's diff finds missing (diffSeedSet, apply's own), counted by embeddedRowsOf. Rows it updates or
 * deletes are not counted (docs/vector-indexes.md says what that leaves out).
 */
export async function embeddedRowsInserted(
  client: ClientBase,
  sets: readonly SeedSet[],
  tables: readonly EmbeddedColumn[],
): Promise<Map<string, Map<number, number>>> {
  const seeding = sets.filter((set) => set.tables.some((t) => tables.some((e) => e.table === t.table)));
  if (seeding.length === 0) return new Map();
  const recordsExist = await seedRecordsExist(client);
  const missing = new Map<SeedSet, Set<string>>();
  for (const set of seeding) {
    const diff = await diffSeedSet(client, set, recordsExist);
    missing.set(set, new Set(diff.missing.map((r) => `${r.position}:${r.index}`)));
  }
  return embeddedRowsOf(seeding, tables, (set, table, index) =>
    missing.get(set)!.has(`${set.tables.indexOf(table)}:${index}`),
  );
}
