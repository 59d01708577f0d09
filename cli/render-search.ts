// `status`'s lines for the search under the tenant filter (the vector-index step's tenantSearch facts):
// one line per tenant-size class and query kind, so that an operator reads how search behaves per tenant.
import {
  commandToRun,
  describePrefilterGraph,
  describePrefilterSmall,
  formatCount,
  PREFILTER_MIN_FACTOR,
  type CommandPrinter,
  type TenantSearchFacts,
} from "../core";

/** What the lines read of the facts: a record from before the tenant indexes lists none. */
type RenderedFacts = Omit<TenantSearchFacts, "calibratedAt" | "tenantIndexes"> &
  Partial<Pick<TenantSearchFacts, "tenantIndexes">>;

/** The facts' lines; `print` prints the apply a line names to run on this database (ReleaseOptions.printCommand). */
export function renderTenantSearch(facts: RenderedFacts, indent: string, print?: CommandPrinter): string[] {
  const apply = commandToRun(print, ["apply"]);
  const lines = [
    `${indent}tenant search: exact up to ${formatCount(facts.exactRows)} visible rows, ` +
      `${facts.searchSetting} through the index above; ${facts.targetReached ? "target reached" : `TARGET MISSED: ${facts.missed ?? ""}`}`,
  ];
  if (facts.unusableIndexes) {
    lines.push(
      `${indent}  NOT USABLE: ${facts.unusableIndexes}; ${apply} builds it again or takes it off the list`,
    );
  }
  if (facts.outgrownIndexes) {
    lines.push(`${indent}  OUTGROWN: ${facts.outgrownIndexes}; ${apply} recalibrates the tenant search`);
  }
  if (facts.rebuiltIndexes) {
    lines.push(`${indent}  BUILT AGAIN: ${facts.rebuiltIndexes}; ${apply} recalibrates the tenant search`);
  }
  if (facts.crossedThreshold) {
    lines.push(
      `${indent}  GROWN PAST THE THRESHOLD: ${facts.crossedThreshold}; ${apply} recalibrates the tenant search`,
    );
  }
  if (facts.calibrationCost) {
    lines.push(
      `${indent}  last calibration: ${facts.calibrationCost.statements.toLocaleString("en-US")} statements in ` +
        `${(facts.calibrationCost.ms / 1000).toFixed(1)} s`,
    );
  }
  const prefilter = facts.prefilter;
  if (prefilter?.state === "on") {
    lines.push(
      `${indent}  prefilter: above ${formatCount(PREFILTER_MIN_FACTOR * prefilter.depth)} visible rows, the ` +
        `${prefilter.depth} nearest by sign bits (${prefilter.indexName}) ranked exactly; largest tenant recall@10 ` +
        `${prefilter.recall}, p50 ${prefilter.latencyP50Ms} ms`,
    );
    if (prefilter.small) lines.push(`${indent}  ${describePrefilterSmall(prefilter.small)}`);
    for (const g of prefilter.graphs ?? []) lines.push(`${indent}  ${describePrefilterGraph(g)}`);
  } else if (prefilter) {
    lines.push(`${indent}  prefilter: off (${prefilter.reason})`);
  }
  for (const t of facts.tenantIndexes ?? []) {
    lines.push(
      `${indent}  tenant ${t.organizationId} (${t.rows.toLocaleString("en-US")} rows): its own index ${t.indexName}, ` +
        `hnsw.ef_search = ${t.efSearch} above ${t.exactRows.toLocaleString("en-US")} visible rows`,
    );
  }
  // Not when no tenant filter was measured at all (one tenant with nearly all rows): the unfiltered
  // calibration above measured that tenant's search through the index.
  if (facts.classes.length > 0 && !facts.classes.some((c) => c.path === "index")) {
    lines.push(`${indent}  the index above: no tenant searches it, and none was measured through it`);
  }
  for (const c of facts.classes) {
    // "next": below the threshold, measured through the index as the search will take it once it has crossed.
    const who = c.class === "next" ? "next tenant to cross the threshold" : `${c.class} tenant`;
    lines.push(
      `${indent}  ${who} (${formatCount(c.tenantRows)} rows, ${c.sharePercent}%), ${c.kind} queries: ` +
        `${c.path}, recall@10 ${c.recall} (at least ${c.recallLowerBound}), rows ${c.rowsMean} (least ${c.rowsMin}), ` +
        `p50 ${c.latencyP50Ms} ms, p95 ${c.latencyP95Ms} ms${c.targetReached ? "" : "  (missed)"}`,
    );
  }
  return lines;
}
