// A calibration that measured no tenant filter (one tenant with nearly all the rows) and a second tenant
// grown past the exact threshold since (docs/search.md, "Kept right as data grows"). Found by a walk-through
// (3072 dimensions): tenant A 12,006 rows, calibrated alone; a second grown to 11,500 rows (23,506 in all)
// searched the dimension's index at the unfiltered setting with recall@10 0.797, while plan said "Nothing to
// do", health nothing and status "prefilter: off (no tenant filter to measure yet)". Here at 16 dimensions,
// with the real default threshold (10,000 visible rows): the dimension's rows stay below twice the calibrated
// ones, so only the crossing can plan the recalibration.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EXACT_ROWS } from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { vectorText } from "../vector-indexes/data";
import { addTenantOrganization, loadCorpus, type Corpus } from "./corpus";
import { meanSearchRecall } from "./search-recall";
import {
  CHUNK,
  expectRecalibrationFor,
  ONE_TENANT_SHAPE,
  releaseSteps,
  chunkIndexPlan,
  chunkTenantSearchInStatus,
  chunkCalibration,
} from "./one-tenant-corpus";

const SHAPE = ONE_TENANT_SHAPE;
/** Past the exact threshold, and with the first tenant's rows below twice the calibrated rows. */
const GROWN_ROWS = DEFAULT_EXACT_ROWS + 100;
/** The second tenant's first load: below the threshold, the first tenant keeping 90% of the rows or more. */
const FIRST_LOAD = 1_000;
const K = 10;
const QUERIES = 12;

describe("a second tenant grown past the threshold after a calibration with one tenant", () => {
  const target = useReleasedDatabase("search_single_tenant");
  let owner: Client;
  let app: Client;
  let corpus: Corpus;

  const steps = releaseSteps;
  const planOf = () => chunkIndexPlan(target);
  const tenantSearchInStatus = () => chunkTenantSearchInStatus(target);
  const recordOf = () => chunkCalibration(owner);
  const setListed = (list: string[] | null) =>
    owner.query(
      `UPDATE neonhub_release.search_calibrations SET index_path_tenants = $2::jsonb WHERE index_name = $1`,
      [CHUNK.indexName, list === null ? null : JSON.stringify(list)],
    );

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    corpus = await loadCorpus(owner, SHAPE);
    await applyAsMigrator(target.current, steps());
    app = await target.current.roles.connect("app");
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
  });

  it("records the tenant that searched the index alone, plans a recalibration once another crosses, and serves it after apply", async () => {
    const [first] = corpus.tenants;
    expect(first!.rows).toBe(SHAPE.rows);
    // One tenant with all the rows: no tenant filter measured, and the tenant past the threshold recorded as
    // searching the dimension's index.
    const alone = await recordOf();
    expect(alone).toMatchObject({ exactRows: DEFAULT_EXACT_ROWS, classes: [] });
    expect(alone?.indexPathTenants).toEqual([first!.organizationId]);
    expect((await planOf())?.action).toBe("unchanged");
    // A record of the release before the list, made the same way, means an empty list; a tenant holding
    // nearly all the rows is searched as the table is, which the unfiltered calibration measured: nothing to do.
    await setListed(null);
    expect((await planOf())?.action).toBe("unchanged");
    await setListed([first!.organizationId]);

    // A second tenant, from other topics, grown past the threshold in two loads (below it after the first, and
    // the first tenant still with 90% of the rows: with less, its own search under the filter would plan the
    // recalibration, single-tenant-share.test.ts).
    const grown = await addTenantOrganization(owner, {
      slug: "grown-org",
      rows: GROWN_ROWS,
      topics: [SHAPE.topics - 1, SHAPE.topics - 2, SHAPE.topics - 3].filter(
        (t) => !first!.topics.includes(t),
      ),
    });
    const load = async (from: number, to: number) => {
      const vectors = Array.from({ length: to - from }, (_, i) =>
        vectorText(corpus.draw(grown.topics[i % grown.topics.length]!)),
      );
      await owner.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding")
         SELECT $1 || '-' || ($4 + n), $2, $3, $1, $4 + n, 'grown', v::vector
           FROM unnest($5::text[]) WITH ORDINALITY AS g(v, n)`,
        [grown.documentId, grown.datasetId, corpus.spaceId, from, vectors],
      );
      await owner.query(`ANALYZE "Chunk"`);
    };
    await load(0, FIRST_LOAD);
    expect((await planOf())?.action).toBe("unchanged");
    await load(FIRST_LOAD, GROWN_ROWS);

    const crossed =
      `tenant ${grown.organizationId} (${GROWN_ROWS.toLocaleString("en-US")} rows) has grown past the exact ` +
      `threshold (${DEFAULT_EXACT_ROWS.toLocaleString("en-US")} visible rows) since the search was calibrated`;
    await expectRecalibrationFor(target, crossed);
    expect((await planOf())?.reason).not.toContain(first!.organizationId);

    // The same record without the list (as the release before it wrote one): empty, so both tenants past the
    // threshold are named, the first no longer holding nearly all the rows, and said as not known to have crossed
    // since.
    await setListed(null);
    const legacy = await planOf();
    expect(legacy?.action).toBe("update");
    expect(legacy?.reason).toContain(`${grown.organizationId} (${GROWN_ROWS.toLocaleString("en-US")} rows)`);
    expect(legacy?.reason).toContain(`${first!.organizationId} (${SHAPE.rows.toLocaleString("en-US")} rows)`);
    expect(legacy?.reason).not.toContain("since the search was calibrated");

    await applyAsMigrator(target.current, steps());
    expect((await planOf())?.action).toBe("unchanged");
    expect((await tenantSearchInStatus())?.crossedThreshold).toBeUndefined();
    for (const kind of ["own", "table-wide"] as const) {
      expect(
        await meanSearchRecall({ app, owner }, corpus, grown, kind, { queries: QUERIES, k: K }),
        kind,
      ).toBeGreaterThanOrEqual(0.95);
    }
    // A calibration (apply) runs inside the test: past vitest's 60 s on a loaded machine.
  }, 180_000);
});
