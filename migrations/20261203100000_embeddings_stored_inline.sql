-- The embeddings of "Chunk" and "Message" are kept in the table's own pages, not in its TOAST table.
--
-- Why. A small or medium tenant is searched exactly (search_chunks(), docs/search.md): every visible row's
-- embedding is read and compared. A vector(1536) is 6 KB. PostgreSQL starts moving values out of a row once
-- the row passes about 2 KB, and pgvector's types are STORAGE EXTERNAL (out of line, uncompressed), so each
-- comparison read the embedding back from TOAST: a lookup in the TOAST index and four chunk tuples, about 4
-- buffers per row. Kept in the row, a row is one heap page: the exact search of the benchmark's tenant of
-- 1,927 rows took 5.5 ms instead of 14.8 ms, and exact search over 100,000 rows 314 ms instead of 1,259 ms
-- (docs/search.md, "Where the embedding is stored").
--
-- How. toast_tuple_target = 8160 (the most a page takes) tells the toaster to leave a row alone until it is
-- larger than a page, instead of shrinking every row to 2 KB. STORAGE MAIN on the embedding makes it the value
-- moved out last: when a row passes a page, its text ("text", "contentJson") is compressed and moved out
-- first. Both are needed: with the target alone the toaster moves out the largest value, so a chunk with
-- 3 KB of text that does not compress kept its text and lost its embedding to TOAST; with MAIN alone it still
-- shrank every row to 2 KB, moving the small text columns out. An embedding too large for a page (above about
-- 2,000 dimensions as vector) still goes out of line, after the toaster tries to compress it.
--
-- What it costs. The table's pages hold the embeddings its TOAST table held, so the total size does not
-- change (the benchmark's 100,000 chunks: 829 MB before, 794 MB after), but a heap page holds one row with its
-- embedding instead of ~70 without: a query that reads many rows of "Chunk" through the heap without their
-- embeddings reads more pages (the release's count of embedded rows per dimension among them).
--
-- Existing rows are not rewritten: the settings apply to rows written from now on (an existing row moves
-- into its page when it is updated). Both statements change the catalog only, instantly: SET STORAGE under an
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
