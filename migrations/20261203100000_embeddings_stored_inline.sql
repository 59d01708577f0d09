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
-- larger than a page, instead of shrinking every row to 2 KB. The column keeps its EXTERNAL storage: a row
-- with a 1,536-dimension embedding stays whole, and a row too large for a page (a long "text" or
-- "contentJson", or an embedding above about 2,000 dimensions) is toasted exactly as before, its largest
-- value moved out of line first and the embedding never compressed. (STORAGE MAIN as well was tried: it made
-- the toaster move the text out and attempt to compress a 3,072-dimension embedding before moving it, and
-- the bulk load of such rows 20% slower.)
--
-- What it costs. The table's pages hold the embeddings its TOAST table held, so the total size does not
-- change (the benchmark's 100,000 chunks: 829 MB before, 794 MB after), but a heap page holds one row with its
-- embedding instead of ~70 without: a query that reads many rows of "Chunk" through the heap without their
-- embeddings reads more pages (the release's count of embedded rows per dimension among them).
--
-- Existing rows are not rewritten: the setting applies to rows written from now on (an existing row moves
-- into its page when it is updated). The statement changes the catalog only, under a SHARE UPDATE EXCLUSIVE
-- lock, which does not block reads or writes. To move old rows in a maintenance window: VACUUM FULL or
-- pg_repack the table.

-- Up Migration
ALTER TABLE "Chunk" SET (toast_tuple_target = 8160);
ALTER TABLE "Message" SET (toast_tuple_target = 8160);

-- Down Migration
ALTER TABLE "Message" RESET (toast_tuple_target);
ALTER TABLE "Chunk" RESET (toast_tuple_target);
