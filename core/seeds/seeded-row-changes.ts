// How the pending seed sets of an apply change the embedded rows of a released database, counted before it runs:
// plan decides the vector indexes on the rows apply will have (core/vector-indexes/seeded-plan.ts), since apply
// loads the seed sets before it builds the indexes. The rows a set inserts, the rows it deletes (a row it wrote
// before and no longer lists) and the rows it updates (an embedding set, cleared, or moved to a space of another
// dimension; a row moved to another tenant) are each counted as the table holds it now and as the set leaves it,
// from each set's own diff (diffSeedSet, apply's: the one plan's seeds step read, else read here). So are the
// rows of the database a set moves to another tenant without naming them, by moving their parent (a dataset, a
// conversation) to another organization: the composite foreign key's ON UPDATE CASCADE, whose update the
// tenant trigger sets to the parent's organization too (migration 20261202030000), carries them. Read-only.
import type { ClientBase } from "pg";
import { seedRecordsExist } from "./records";
import {
  countEmbeddedRowsByParent,
  readColumnByKey,
  readEmbeddedRows,
  readTableShapes,
  type EmbeddedRowState,
  type TableShape,
} from "./rows";
import {
  canonicalJson,
  rowKey,
  spaceDimensions,
  type EmbeddedColumn,
  type SeedRow,
  type SeedSet,
} from "./seed-set";
import { diffSeedSet, type SeedSetDiff } from "./sync";

/** An embedded table as the counts need it: its columns, and the parent a row takes its tenant from. */
export interface TenantEmbeddedColumn extends EmbeddedColumn {
  tenantColumn: string;
  /** The trigger sets the row's tenant column to this parent's (core/vector-indexes/spec.ts). */
  tenantParent: { table: string; column: string; key: string };
}

/**
 * How applying the sets changes one table's embedded rows: the net rows per dimension, and per dimension and
 * tenant (organization id; none while the table lacks its tenant column). Changes that net to zero are left out.
 */
export interface EmbeddedRowChanges {
  byDimension: Map<number, number>;
  byTenant: Map<number, Map<string, number>>;
}

/** A set whose plan item is not `unchanged`, with the diff its plan item was decided from when there is one. */
export interface PendingSeedSet {
  set: SeedSet;
  diff?: SeedSetDiff;
}

/** How the last pending set that names a row leaves it: written as that set lists it, or deleted. */
type LeftAs = { set: SeedSet; row: SeedRow } | "deleted";

/** A row some set changes (inserts, updates or deletes), by its key. */
interface ChangedRow {
  key: Record<string, unknown>;
  leftAs?: LeftAs;
}

/**
 * Per table of `tables` (by name), how applying `sets` (in the order they run) changes its embedded rows. A row
 * two sets name counts once, as the later leaves it. A row whose embedding names a space that is not among its
 * set's "EmbeddingSpace" rows is left out (its dimension is not known before the set runs), as is a tenant whose
 * parent is neither in the sets nor in the database (apply refuses such a row). A set given without its diff is
 * diffed here.
 */
export async function embeddedRowChanges(
  client: ClientBase,
  sets: readonly PendingSeedSet[],
  tables: readonly TenantEmbeddedColumn[],
): Promise<Map<string, EmbeddedRowChanges>> {
  const embeddedOf = (table: string) => tables.find((e) => e.table === table);
  const parentOf = (table: string) => tables.some((e) => e.tenantParent.table === table);
  const seeding = sets.filter(({ set }) => set.tables.some((t) => embeddedOf(t.table) || parentOf(t.table)));
  if (seeding.length === 0) return new Map();
  const diffs = await diffsOf(client, seeding);
  const changed = new Map<string, Map<string, ChangedRow>>();
  const rowOf = (table: string, key: Record<string, unknown>) => {
    const rows = changed.get(table) ?? new Map<string, ChangedRow>();
    changed.set(table, rows);
    const id = canonicalJson(key);
    const row = rows.get(id) ?? { key };
    rows.set(id, row);
    return row;
  };
  // Every row a set names, as it leaves it; kept for the rows some set changes.
  const leftAs = new Map<string, Map<string, LeftAs>>();
  const leave = (table: string, key: Record<string, unknown>, as: LeftAs) => {
    const rows = leftAs.get(table) ?? new Map<string, LeftAs>();
    leftAs.set(table, rows);
    rows.set(canonicalJson(key), as);
  };
  // The parents (by table, their rows as sets list them) some set updates: the ones whose tenant may move.
  const updatedParents = new Map<string, SeedRow[]>();
  for (const [i, { set }] of seeding.entries()) {
    const diff = diffs[i]!;
    for (const t of set.tables.filter((t) => embeddedOf(t.table))) {
      for (const row of t.rows) leave(t.table, rowKey(t, row), { set, row });
    }
    for (const r of [...diff.missing, ...diff.differ].filter((r) => embeddedOf(r.table.table))) {
      rowOf(r.table.table, rowKey(r.table, r.table.rows[r.index]!));
    }
    for (const r of diff.removed.filter((r) => embeddedOf(r.table))) {
      leave(r.table, r.key, "deleted");
      rowOf(r.table, r.key);
    }
    for (const r of diff.differ.filter((r) => parentOf(r.table.table))) {
      updatedParents.set(r.table.table, [
        ...(updatedParents.get(r.table.table) ?? []),
        r.table.rows[r.index]!,
      ]);
    }
  }
  for (const [table, rows] of changed) {
    for (const [id, row] of rows) row.leftAs = leftAs.get(table)?.get(id);
  }
  const counting = tables.filter((e) => changed.has(e.table) || updatedParents.has(e.tenantParent.table));
  const shapes = await readTableShapes(client, [
    ...counting.flatMap((e) => [e.table, e.tenantParent.table]),
    "EmbeddingSpace",
  ]);
  const seededSets = seeding.map(({ set }) => set);
  const counted = new Map<string, EmbeddedRowChanges>();
  for (const embedded of counting) {
    const rows = [...(changed.get(embedded.table)?.values() ?? [])];
    const hasTenant = shapes.get(embedded.table)?.columns.has(embedded.tenantColumn) === true;
    const seededTenants = seededParentTenants(embedded, seededSets);
    const before = await embeddedNow(client, embedded, rows, shapes, hasTenant);
    const tenantOf = hasTenant
      ? await parentTenants(client, embedded, rows, seededTenants, shapes)
      : () => undefined;
    const changes: EmbeddedRowChanges = { byDimension: new Map(), byTenant: new Map() };
    for (const row of rows) {
      const after = embeddedAfter(embedded, row.leftAs, tenantOf);
      if (after === "unknown") continue;
      const was = before.get(row);
      if (was) count(changes, was, -1);
      if (after) count(changes, after, 1);
    }
    if (hasTenant) {
      const parents = updatedParents.get(embedded.tenantParent.table) ?? [];
      for (const move of await movedWithParents(client, embedded, parents, seededTenants, rows, shapes)) {
        count(changes, { dimension: move.dimension, tenant: move.from }, -move.rows);
        count(changes, { dimension: move.dimension, tenant: move.to }, move.rows);
      }
    }
    counted.set(embedded.table, withoutZeros(changes));
  }
  return counted;
}

/** Each set's diff: the one given, else read now (apply's diffSeedSet). */
async function diffsOf(client: ClientBase, sets: readonly PendingSeedSet[]): Promise<SeedSetDiff[]> {
  const recordsExist = sets.every((s) => s.diff) ? true : await seedRecordsExist(client);
  const diffs: SeedSetDiff[] = [];
  for (const { set, diff } of sets) diffs.push(diff ?? (await diffSeedSet(client, set, recordsExist)));
  return diffs;
}

/** The changed rows by the columns of their keys (a table's rows may be keyed differently in two files). */
function byKeyColumns(rows: readonly ChangedRow[]): Map<string, ChangedRow[]> {
  const grouped = new Map<string, ChangedRow[]>();
  for (const row of rows) {
    const columns = Object.keys(row.key).sort().join(",");
    grouped.set(columns, [...(grouped.get(columns) ?? []), row]);
  }
  return grouped;
}

/** The changed rows' embeddings as the table holds them now; none while the table or a column is missing. */
async function embeddedNow(
  client: ClientBase,
  embedded: TenantEmbeddedColumn,
  rows: readonly ChangedRow[],
  shapes: ReadonlyMap<string, TableShape>,
  hasTenant: boolean,
): Promise<Map<ChangedRow, EmbeddedRowState>> {
  const shape = shapes.get(embedded.table);
  const found = new Map<ChangedRow, EmbeddedRowState>();
  const readable = (columns: readonly string[]) => columns.every((c) => shape?.columns.has(c));
  if (!shapes.get("EmbeddingSpace")?.exists || !readable([embedded.column, embedded.spaceColumn])) {
    return found;
  }
  // One read per set of key columns.
  for (const [columns, keyed] of byKeyColumns(rows)) {
    if (!readable(columns.split(","))) continue;
    const states = await readEmbeddedRows(
      client,
      embedded.table,
      columns.split(","),
      keyed.map((r) => r.key),
      {
        column: embedded.column,
        spaceColumn: embedded.spaceColumn,
        ...(hasTenant ? { tenantColumn: embedded.tenantColumn } : {}),
      },
    );
    for (const [index, state] of states) found.set(keyed[index]!, state);
  }
  return found;
}

/**
 * The tenant of each parent (by its key, as text) the sets list with one: as the later set lists it, which is
 * how the sets leave it.
 */
function seededParentTenants(embedded: TenantEmbeddedColumn, sets: readonly SeedSet[]): Map<string, string> {
  const parent = embedded.tenantParent;
  const seeded = new Map<string, string>();
  for (const t of sets.flatMap((set) => set.tables).filter((t) => t.table === parent.table)) {
    for (const row of t.rows) {
      const tenant = row[embedded.tenantColumn];
      if (typeof tenant === "string" && row[parent.key] != null) seeded.set(String(row[parent.key]), tenant);
    }
  }
  return seeded;
}

/**
 * The tenant a written row gets, by its parent's key: the parent as the pending sets write it (`seeded`,
 * seededParentTenants), else as the database holds it.
 */
async function parentTenants(
  client: ClientBase,
  embedded: TenantEmbeddedColumn,
  rows: readonly ChangedRow[],
  seeded: ReadonlyMap<string, string>,
  shapes: ReadonlyMap<string, TableShape>,
): Promise<(parentKey: unknown) => string | undefined> {
  const parent = embedded.tenantParent;
  const wanted = new Set<string>();
  for (const { leftAs } of rows) {
    const key = leftAs && leftAs !== "deleted" ? leftAs.row[parent.column] : undefined;
    if (key != null && !seeded.has(String(key))) wanted.add(String(key));
  }
  const shape = shapes.get(parent.table);
  const stored =
    shape?.columns.has(parent.key) && shape.columns.has(embedded.tenantColumn)
      ? await readColumnByKey(client, parent.table, parent.key, embedded.tenantColumn, [...wanted])
      : new Map<string, string>();
  return (key) => (key == null ? undefined : (seeded.get(String(key)) ?? stored.get(String(key))));
}

/** Embedded rows of one dimension that go from one tenant to another. */
interface TenantMove {
  dimension: number;
  from: string;
  to: string;
  rows: number;
}

/**
 * The embedded rows of the database that follow their parent to another tenant: those of `parents` (parent rows
 * some set updates) whose tenant, as the sets leave it (`seeded`), is not the rows' own now. The rows some set
 * changes itself (`changed`) are left to it: each is counted once, as that set leaves it.
 */
async function movedWithParents(
  client: ClientBase,
  embedded: TenantEmbeddedColumn,
  parents: readonly SeedRow[],
  seeded: ReadonlyMap<string, string>,
  changed: readonly ChangedRow[],
  shapes: ReadonlyMap<string, TableShape>,
): Promise<TenantMove[]> {
  const parent = embedded.tenantParent;
  const keys = [
    ...new Set(
      parents
        .map((row) => row[parent.key])
        .filter((k) => k != null)
        .map(String),
    ),
  ];
  const shape = shapes.get(embedded.table);
  const readable = (columns: readonly string[]) => columns.every((c) => shape?.columns.has(c));
  const columns = [embedded.column, embedded.spaceColumn, embedded.tenantColumn, parent.column];
  if (keys.length === 0 || !shapes.get("EmbeddingSpace")?.exists || !readable(columns)) return [];
  const except = [...byKeyColumns(changed)]
    .map(([columns, rows]) => ({ key: columns.split(","), keys: rows.map((r) => r.key) }))
    .filter(({ key }) => readable(key));
  const counts = await countEmbeddedRowsByParent(
    client,
    embedded.table,
    {
      column: embedded.column,
      spaceColumn: embedded.spaceColumn,
      tenantColumn: embedded.tenantColumn,
      parentColumn: parent.column,
    },
    keys,
    except,
  );
  return counts.flatMap(({ parent: key, tenant, dimension, rows }) => {
    const to = seeded.get(key);
    return to !== undefined && to !== tenant ? [{ dimension, from: tenant, to, rows }] : [];
  });
}

/** A changed row's embedding once the sets ran: none, or "unknown" when its dimension is not known yet. */
function embeddedAfter(
  embedded: TenantEmbeddedColumn,
  leftAs: LeftAs | undefined,
  tenantOf: (parentKey: unknown) => string | undefined,
): EmbeddedRowState | undefined | "unknown" {
  if (leftAs === undefined || leftAs === "deleted") return undefined;
  const { set, row } = leftAs;
  if (row[embedded.column] == null) return undefined;
  const dimension = spaceDimensions(set.tables).get(String(row[embedded.spaceColumn]));
  if (typeof dimension !== "number") return "unknown";
  const tenant = tenantOf(row[embedded.tenantParent.column]);
  return { dimension, ...(tenant !== undefined ? { tenant } : {}) };
}

function count(changes: EmbeddedRowChanges, state: EmbeddedRowState, delta: number): void {
  changes.byDimension.set(state.dimension, (changes.byDimension.get(state.dimension) ?? 0) + delta);
  if (state.tenant === undefined) return;
  const tenants = changes.byTenant.get(state.dimension) ?? new Map<string, number>();
  changes.byTenant.set(state.dimension, tenants);
  tenants.set(state.tenant, (tenants.get(state.tenant) ?? 0) + delta);
}

function withoutZeros(changes: EmbeddedRowChanges): EmbeddedRowChanges {
  const byTenant = new Map<number, Map<string, number>>();
  for (const [dimension, tenants] of changes.byTenant) {
    const nonZero = [...tenants].filter(([, n]) => n !== 0);
    if (nonZero.length) byTenant.set(dimension, new Map(nonZero));
  }
  return { byDimension: new Map([...changes.byDimension].filter(([, n]) => n !== 0)), byTenant };
}
