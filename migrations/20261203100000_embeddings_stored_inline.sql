-- The embeddings of "Chunk" and "Message" are kept in the table's own pages, not in its TOAST table.
--
-- Why. A small or medium tenant is searched exactly (search_chunks(), docs/search.md): every visible row's
-- embedding is read and compared. A vector(1536) is 6 KB, above the 2 KB at which PostgreSQL moves a value out
-- of line by default, so each comparison read the embedding back from TOAST: a lookup in the TOAST index and
-- four chunk tuples, about 4 buffers per row. Kept inline, a row is one heap page: the exact search of the
-- benchmark's tenant of 1,927 rows took 5.5 ms instead of 14.1 ms, of 192 rows 1.4 ms instead of 1.9 ms, and a
-- sequential exact search of 19,331 rows 88 ms instead of 165 ms (docs/search.md, "Where the embedding is
-- stored").
--
-- How. pgvector's types default to STORAGE EXTERNAL (out of line, uncompressed, whenever the row passes 2 KB).
-- STORAGE MAIN lets the toaster compress the column but move it out of line only as a last resort, and
-- toast_tuple_target = 8160 (the most a page takes) stops it from shrinking a row below that: a row with a
-- 1,536-dimension embedding stays whole on its page, while a long "text" / "contentJson" still goes to TOAST
-- first (EXTENDED), so the embedding is the value kept. An embedding too large for a page (above about 2,000
-- dimensions as vector) still goes out of line, as before.
--
-- What it costs. The table's pages hold the embeddings their TOAST table held, so the total size does not
-- change (the benchmark's 100,000 chunks: 829 MB before, 794 MB after), but a heap page holds one row with its
-- embedding instead of ~70 without: a query that reads many rows of "Chunk" without their embedding through
-- the heap reads more pages. The b-trees of the tenant paths are unaffected.
--
-- Existing rows are not rewritten: the settings apply to rows written from now on (an existing row moves
-- inline when it is updated). Both statements change the catalog only, instantly: SET STORAGE under an
-- ACCESS EXCLUSIVE lock held for that instant (the release's lock_timeout applies), toast_tuple_target under
-- SHARE UPDATE EXCLUSIVE. To move old rows in a maintenance window: VACUUM FULL or pg_repack the table.

-- Up Migration
ALTER TABLE "Chunk" ALTER COLUMN "embedding" SET STORAGE MAIN;
ALTER TABLE "Chunk" SET (toast_tuple_target = 8160);
ALTER TABLE "Message" ALTER COLUMN "embedding" SET STORAGE MAIN;
ALTER TABLE "Message" SET (toast_tuple_target = 8160);

-- Down Migration
ALTER TABLE "Message" RESET (toast_tuple_target);
ALTER TABLE "Message" ALTER COLUMN "embedding" SET STORAGE EXTERNAL;
ALTER TABLE "Chunk" RESET (toast_tuple_target);
ALTER TABLE "Chunk" ALTER COLUMN "embedding" SET STORAGE EXTERNAL;
