-- Autovacuum and autoanalyze settings for the tables that take bulk embedding loads: "Chunk" (a dataset's
-- chunks arrive by the thousand, through COPY) and "Message" (embedded and backfilled in batches).
--
-- Why. The planner picks the plan of a vector search (`ORDER BY embedding <=> $1 LIMIT k`, usually filtered
-- by dataset or conversation) by comparing cost estimates built from the statistics the last ANALYZE left:
-- rows per page (scaled to the table's current size) and each column's statistics, such as the share of rows
-- that have an embedding and the frequent "datasetId" values a filter's selectivity comes from. After a bulk
-- load those describe the table before it, and the estimates that choose between the vector index and the
-- other plans are off by as much as the load changed the data. Autovacuum analyzes a table once the rows
-- changed since the last ANALYZE exceed autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows:
-- with the server defaults (50 and 0.1), a table of 1,000,000 chunks waits for 100,050 changed rows, so after
-- a load of 50,000 chunks its statistics stay as they were until another 50,000 rows change. Hence, per table:
--   * autovacuum_analyze_scale_factor 0.02: analyze once 2% of the rows changed (20,050 of 1,000,000), so
--     the next autovacuum round (autovacuum_naptime, a minute by default) after any sizeable load analyzes.
--   * autovacuum_vacuum_insert_scale_factor 0.05 (default 0.2): vacuum after inserts too, which marks the
--     loaded pages all-visible (cheaper later vacuums, index-only scans) and lets their rows be frozen a
--     little at a time rather than by one large anti-wraparound vacuum.
--   * autovacuum_vacuum_scale_factor 0.05 (default 0.2): re-embedding a row is an UPDATE that leaves its old
--     version behind, kilobytes of vector each; reclaim them before they bloat the table and its indexes.
-- A loader that queries right after its load should still run ANALYZE itself: these settings make sure it
-- happens when nobody does. `neonhub-db health` reports tables whose analyze is due.
--
-- ALTER TABLE ... SET (storage parameters) takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on.

-- Up Migration
ALTER TABLE "Chunk" SET (
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_insert_scale_factor = 0.05,
  autovacuum_vacuum_scale_factor = 0.05
);
ALTER TABLE "Message" SET (
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_insert_scale_factor = 0.05,
  autovacuum_vacuum_scale_factor = 0.05
);

-- Down Migration
ALTER TABLE "Message" RESET (
  autovacuum_analyze_scale_factor,
  autovacuum_vacuum_insert_scale_factor,
  autovacuum_vacuum_scale_factor
);
ALTER TABLE "Chunk" RESET (
  autovacuum_analyze_scale_factor,
  autovacuum_vacuum_insert_scale_factor,
  autovacuum_vacuum_scale_factor
);
