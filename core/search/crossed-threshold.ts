// Tenants grown past the exact threshold since the calibration, into the dimension's index. Its setting is
// chosen for the tenants that search it when the release calibrates (or, when none does, for the next to
// cross, calibrate-tenants.ts), and only the dimension's rows doubling recalibrates it (RECALIBRATE_FACTOR): a
// tenant can cross in between, with a filter more selective than any measured there. Measured: the index
// serving no tenant, ivfflat at the unfiltered probes 4, a tenant grown from 1,000 to 1,700 of 5,290 rows got
// recall@10 0.36-0.41 while plan said "unchanged" and health "healthy"; with the setting chosen for the next
// to cross (367 rows), one grown to 2,216 got 0.70 on table-wide queries. So a tenant that searches the index
// now and did not when the search was calibrated is a reason to calibrate again, which then measures it.
import { formatCount } from "../count-format";
import type { TenantRows } from "../vector-indexes/inventory";
import type { ListedIndex } from "./listed-indexes";
import type { SearchCalibrationRecord } from "./records";

/** How many tenants past the threshold are named. */
const NAMED = 3;

/**
 * Of the dimension's largest tenants (inventory.ts), those past the exact threshold that search the dimension's
 * index (no index or graph of their own is listed for them) and did not when the search was calibrated (the
 * record's indexPathTenants), said for a plan's reason; undefined if none, and for a record made before the
 * list.
 */
export function crossedThreshold(
  search: SearchCalibrationRecord,
  largestTenants: readonly TenantRows[],
  listed: readonly ListedIndex[],
  index: { table: string; dimension: number },
): string | undefined {
  if (!search.indexPathTenants) return undefined;
  const searchedThen = new Set(search.indexPathTenants);
  const ownPath = new Set(
    listed
      .filter((l) => l.table === index.table && l.dimension === index.dimension)
      .map((l) => l.organizationId),
  );
  const crossed = largestTenants
    .filter(
      (t) =>
        t.rows > search.exactRows && !ownPath.has(t.organizationId) && !searchedThen.has(t.organizationId),
    )
    .sort((a, b) => a.rows - b.rows);
  if (crossed.length === 0) return undefined;
  const named = crossed
    .slice(0, NAMED)
    .map((t) => `${t.organizationId} (${formatCount(t.rows)} rows)`)
    .join(", ");
  const more = crossed.length > NAMED ? ` and ${crossed.length - NAMED} more` : "";
  const who = crossed.length === 1 ? `tenant ${named} has` : `tenants ${named}${more} have`;
  return (
    `${who} grown past the exact threshold (${formatCount(search.exactRows)} visible rows) since the search ` +
    `was calibrated, into the dimension's index, which was not measured for it`
  );
}
