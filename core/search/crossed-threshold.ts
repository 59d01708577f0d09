// Tenants grown past the exact threshold since the calibration, into the dimension's index. Its setting is
// chosen for the tenants that search it when the release calibrates (or, when none does, for the next to
// cross, calibrate-tenants.ts), and only the dimension's rows doubling recalibrates it (RECALIBRATE_FACTOR): a
// tenant can cross in between, with a filter more selective than any measured there. Measured: the index
// serving no tenant, ivfflat at the unfiltered probes 4, a tenant grown from 1,000 to 1,700 of 5,290 rows got
// recall@10 0.36-0.41 while plan said "unchanged" and health "healthy"; with the setting chosen for the next
// to cross (367 rows), one grown to 2,216 got 0.70 on table-wide queries. So a tenant that searches the index
// now and did not when the search was calibrated is a reason to calibrate again, which then measures it.
// So is one next to a calibration that measured no tenant filter (one tenant with nearly all the rows): a
// second tenant grown to 11,500 of 23,506 rows (3,072 dimensions) got recall@10 0.797 at the unfiltered
// setting while plan said "Nothing to do". A tenant that holds nearly all the rows now is not one: its search
// is the unfiltered one, which the unfiltered calibration and its growth rule cover, and calibrating again
// would measure nothing for it.
// A listed tenant's share falling below that is a reason to calibrate again when the calibration measured it
// while it held nearly all the rows, whether it measured tenant classes or not: its table-wide queries were drawn
// from the few rows the others held then (or from its own topics), never from what they bring as they grow.
// Checked (test/search/multi-tenant-share.test.ts): a tenant of 12,000 rows calibrated beside one of 30 (99.75%
// of the rows, measured as a class) got probes 8 or 9 by run; at half the rows, without a recalibration, its
// table-wide recall@10 went from 0.947 to 0.973 by run. A class measured below that share had table-wide queries
// from the others' many rows: its share falling since is drift the growth rule allows (at 60% falling to 31%,
// forced onto the dimension's IVFFlat index, 0.983-0.995; IVFFlat answered the same queries identically before
// and after the others grew).
import { formatCount } from "../count-format";
import { SINGLE_TENANT_SHARE } from "./calibrate-tenants";
import type { TenantRows } from "../vector-indexes/inventory";
import type { ListedIndex } from "./listed-indexes";
import type { SearchCalibrationRecord } from "./records";

/** How many tenants past the threshold are named. */
const NAMED = 3;

/**
 * Of the dimension's largest tenants (inventory.ts), those past the exact threshold that search the dimension's
 * index (no index or graph of their own is listed for them), did not when the search was calibrated (the
 * record's indexPathTenants) and hold less than SINGLE_TENANT_SHARE of the dimension's rows (`dimensionRows`,
 * when known), said for a plan's reason; undefined if none.
 *
 * A record made before the list: one that measured tenant classes says nothing (which tenants searched the
 * index then is not known). One that measured no tenant filter (no classes) had at most the tenant holding
 * nearly all the rows past the threshold, measured only as the table is: read as an empty list, it names every
 * tenant past the threshold that does not hold nearly all the rows now, none of whose filters was measured,
 * without the claim that it crossed since (the one that held them then may be among them).
 *
 * When none crossed, a listed tenant that held nearly all the rows then (the one a calibration without classes
 * listed, or the one a class measured at SINGLE_TENANT_SHARE or more) is named once it holds less than
 * SINGLE_TENANT_SHARE of `dimensionRows` (known) and still searches the dimension's index past the threshold:
 * its filtered search was never measured.
 */
export function crossedThreshold(
  search: SearchCalibrationRecord,
  largestTenants: readonly TenantRows[],
  listed: readonly ListedIndex[],
  index: { table: string; dimension: number },
  dimensionRows?: number,
): string | undefined {
  const listedThen = search.indexPathTenants ?? (search.classes.length === 0 ? [] : undefined);
  if (!listedThen) return undefined;
  const searchedThen = new Set(listedThen);
  const ownPath = new Set(
    listed
      .filter((l) => l.table === index.table && l.dimension === index.dimension)
      .map((l) => l.organizationId),
  );
  const searchedAsTheTable = (rows: number) =>
    dimensionRows !== undefined && dimensionRows > 0 && rows >= SINGLE_TENANT_SHARE * dimensionRows;
  const onIndexPath = largestTenants
    .filter((t) => t.rows > search.exactRows && !ownPath.has(t.organizationId))
    .sort((a, b) => a.rows - b.rows);
  const crossed = onIndexPath.filter(
    (t) => !searchedThen.has(t.organizationId) && !searchedAsTheTable(t.rows),
  );
  const threshold = `the exact threshold (${formatCount(search.exactRows)} visible rows)`;
  if (crossed.length === 0) {
    // A tenant that held nearly all the rows then was measured only as the table is, whether the calibration
    // measured classes or not (its table-wide queries were its own topics or the few others'); once its share
    // falls below SINGLE_TENANT_SHARE its search is filtered, which no calibration measured, though it never
    // crossed. Its share known only with `dimensionRows`. Named only when none crossed: a recalibration planned
    // for those measures it too.
    const heldNearlyAll = heldNearlyAllRows(search, listedThen);
    const fallen =
      dimensionRows !== undefined
        ? onIndexPath.filter((t) => heldNearlyAll.has(t.organizationId) && !searchedAsTheTable(t.rows))
        : [];
    if (fallen.length === 0) return undefined;
    const one = fallen.length === 1;
    return (
      `${one ? "tenant" : "tenants"} ${namedTenants(fallen)} ${one ? "holds" : "hold"} less than ` +
      `${100 * SINGLE_TENANT_SHARE}% of the dimension's ${formatCount(dimensionRows!)} rows now, past ` +
      `${threshold}, and ${one ? "its" : "their"} search under the tenant filter was not measured: the search ` +
      `was calibrated while ${one ? "it" : "one"} held nearly all the rows, measured only as the table is`
    );
  }
  const named = namedTenants(crossed);
  const one = crossed.length === 1;
  if (!search.indexPathTenants) {
    return (
      `${one ? `tenant ${named} searches` : `tenants ${named} search`} the dimension's index, past ` +
      `${threshold}, which was not measured for ${one ? "it" : "them"}: the search was calibrated with no ` +
      `tenant filter to measure, by a release that did not record which tenants searched the index then`
    );
  }
  const who = one ? `tenant ${named} has` : `tenants ${named} have`;
  return (
    `${who} grown past ${threshold} since the search was calibrated, into the dimension's index, which was ` +
    `not measured for it`
  );
}

/**
 * The listed tenants that held SINGLE_TENANT_SHARE of the dimension's rows or more when the search was calibrated:
 * every listed one when no class was measured (only that tenant can be past the threshold then); otherwise the
 * one a class measured at that share (none known in records made before classes named their tenant).
 */
function heldNearlyAllRows(search: SearchCalibrationRecord, listedThen: readonly string[]): Set<string> {
  if (search.classes.length === 0) return new Set(listedThen);
  return new Set(
    search.classes
      .filter((c) => c.sharePercent >= 100 * SINGLE_TENANT_SHARE)
      .flatMap((c) =>
        c.organizationId !== undefined && listedThen.includes(c.organizationId) ? [c.organizationId] : [],
      ),
  );
}

/** The first NAMED tenants, each with its rows, and how many more. */
function namedTenants(tenants: readonly TenantRows[]): string {
  const named = tenants
    .slice(0, NAMED)
    .map((t) => `${t.organizationId} (${formatCount(t.rows)} rows)`)
    .join(", ");
  return tenants.length > NAMED ? `${named} and ${tenants.length - NAMED} more` : named;
}
