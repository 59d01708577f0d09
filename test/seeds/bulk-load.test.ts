import { readFileSync, statSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, ReleaseError, applyRelease, collectingLogger } from "../../core";
import { defaultReleaseSteps } from "../../core";
import { derivedChunkId, loadChunkFile } from "../../core";
import { MAX_LINE_BYTES, chunkLine, documentLine, openChunkFile, chunkRate } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { runCli } from "../support/cli";
import { chunkFileDir, writeChunkFile } from "./chunk-files";

const DIMENSION = 3072;

async function expectReleaseError(promise: Promise<unknown>, code: string, ...fragments: string[]) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  expect((error as ReleaseError).code).toBe(code);
  for (const fragment of fragments) expect((error as ReleaseError).describe()).toContain(fragment);
  return error as ReleaseError;
}

describe("the bulk chunk loader", () => {
  const db = useTestDatabase();
  const dir = chunkFileDir();
  let datasetCount = 0;

  /** A new empty dataset of the demo organization. */
  async function newDataset(): Promise<string> {
    const id = `bulk-${++datasetCount}`;
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', $1, $1, 'documents')`,
        [id],
      ),
    );
    return id;
  }

  async function countsOf(datasetId: string) {
    return withClient(db.current.url, async (c) => {
      const r = await c.query<{ chunks: number; documents: number }>(
        `SELECT (SELECT count(*) FROM "Chunk" WHERE "datasetId" = $1)::int AS chunks,
                (SELECT count(*) FROM "Document" WHERE "datasetId" = $1)::int AS documents`,
        [datasetId],
      );
      return r.rows[0]!;
    });
  }

  /**
   * A chunk file of one document whose `before` generated chunks are followed by one more with `embedding`:
   * in base64 (a Float32Array) or as a JSON array (a plain array, which may hold what float4 cannot).
   */
  function fileEndingWith(name: string, embedding: Float32Array | (number | null)[], before: number): string {
    const prefix = name.replace(/\.ndjson$/, "");
    const documentId = `${prefix}-doc-0`;
    const last =
      embedding instanceof Float32Array
        ? chunkLine({ documentId, idx: before, text: "x", embedding })
        : `${JSON.stringify({ type: "chunk", documentId, idx: before, text: "x", embedding })}\n`;
    return writeChunkFile(dir, name, {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: before,
      prefix,
      tail: [last],
    }).file;
  }

  const load = (file: string, datasetId: string, extra: { replace?: boolean } = {}) =>
    loadChunkFile({ databaseUrl: db.current.url, file, datasetId, ...extra });

  beforeAll(async () => {
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
  });

  it("lands every row of a 6,000-chunk file with its documents, exactly as written, reporting progress", async () => {
    const datasetId = await newDataset();
    const generated = writeChunkFile(dir, "full.ndjson", {
      dimension: DIMENSION,
      documents: 60,
      chunksPerDocument: 100,
      prefix: "full",
      idOf: (n) => (n % 3 === 0 ? `full-chunk-${n}` : undefined),
    });
    const log = collectingLogger();
    const result = await loadChunkFile({
      databaseUrl: db.current.url,
      file: generated.file,
      datasetId,
      log,
      progressEveryMs: 0,
    });
    expect(result).toMatchObject({
      datasetId,
      embeddingSpaceId: "demo-space-openai-3-large",
      dimension: DIMENSION,
      documents: 60,
      chunks: 6000,
      replaced: 0,
    });
    expect(result.copyBytes).toBeGreaterThan(6000 * DIMENSION * 4);
    expect(
      log.lines.some((l) => /load-chunks: [\d,]+ chunks, \d+% of the file read, [\d,]+ chunks\/s/.test(l)),
    ).toBe(true);
    expect(log.lines.at(-1)).toContain("6,000 chunks and 60 documents loaded");
    expect(await countsOf(datasetId)).toEqual({ chunks: 6000, documents: 60 });

    await withClient(db.current.url, async (c) => {
      const shape = await c.query(
        `SELECT count(*)::int AS n, bool_and(vector_dims(embedding) = $2) AS dims,
                count(*) FILTER (WHERE metadata IS NOT NULL)::int AS with_metadata,
                count(DISTINCT "documentId")::int AS documents
           FROM "Chunk" WHERE "datasetId" = $1`,
        [datasetId, DIMENSION],
      );
      expect(shape.rows[0]).toEqual({ n: 6000, dims: true, with_metadata: 3000, documents: 60 });
      const first = await c.query(
        `SELECT id, idx, text, metadata, embedding::text AS embedding FROM "Chunk" WHERE "documentId" = 'full-doc-0' AND idx = 0`,
      );
      expect(first.rows[0]).toMatchObject({
        id: "full-chunk-0",
        text: 'Chunk 0 of full-doc-0: ünïcödé text, "quotes" and a\ttab.',
        metadata: { n: 0, even: true },
      });
      const stored = Float32Array.from(JSON.parse(first.rows[0].embedding) as number[]);
      expect(stored).toEqual(generated.firstEmbedding);
      const derived = await c.query(`SELECT id FROM "Chunk" WHERE "documentId" = 'full-doc-0' AND idx = 1`);
      expect(derived.rows[0].id).toBe(derivedChunkId(datasetId, "full-doc-0", 1));
    });
  });

  it("refuses a dataset that already has chunks, and with replace swaps them in one transaction", async () => {
    const datasetId = await newDataset();
    const first = writeChunkFile(dir, "first.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 50,
      prefix: "first",
    });
    await load(first.file, datasetId);
    await expectReleaseError(
      load(first.file, datasetId),
      "invalid-input",
      `Dataset "${datasetId}" already has 100 chunks`,
      "--replace",
    );
    const second = writeChunkFile(dir, "second.ndjson", {
      dimension: DIMENSION,
      documents: 3,
      chunksPerDocument: 10,
      prefix: "first",
    });
    const result = await load(second.file, datasetId, { replace: true });
    expect(result).toMatchObject({ replaced: 100, chunks: 30, documents: 3, documentsWithoutChunks: [] });
    expect(await countsOf(datasetId)).toEqual({ chunks: 30, documents: 3 });
    // A file that names fewer documents: the others are kept, without chunks, and the load says which.
    const third = writeChunkFile(dir, "third.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 4,
      prefix: "first",
    });
    const log = collectingLogger();
    const narrower = await loadChunkFile({
      databaseUrl: db.current.url,
      file: third.file,
      datasetId,
      replace: true,
      log,
    });
    expect(narrower).toMatchObject({
      replaced: 30,
      chunks: 4,
      documentsWithoutChunks: ["first-doc-1", "first-doc-2"],
    });
    expect(await countsOf(datasetId)).toEqual({ chunks: 4, documents: 3 });
    // A file of chunks only, for documents the dataset has (no document lines): those got chunks.
    const chunksOnly = writeChunkFile(dir, "chunks-only.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 3,
      prefix: "first",
    });
    writeFileSync(
      chunksOnly.file,
      readFileSync(chunksOnly.file, "utf8")
        .split("\n")
        .filter((line) => !line.includes('"type":"document"'))
        .join("\n"),
    );
    const reembedded = await load(chunksOnly.file, datasetId, { replace: true });
    expect(reembedded).toMatchObject({ documents: 0, chunks: 6, documentsWithoutChunks: ["first-doc-2"] });
    expect(log.lines).toContain(
      "warning: load-chunks: 2 documents of the dataset now have no chunks, as no chunk line of the file names them (a load deletes no document, nor its versions): first-doc-1, first-doc-2",
    );
  });

  it("tells a login that cannot load chunks to use the migrator's, whether row-level security hides the dataset or it may not write", async () => {
    const datasetId = await newDataset();
    const file = writeChunkFile(dir, "logins.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 5,
      prefix: "logins",
    }).file;
    // An app-like login (row-level security applies: it owns nothing) and a read-only one.
    await withClient(db.current.url, async (c) => {
      await c.query(`CREATE ROLE bulk_app LOGIN PASSWORD 'bulk-app'`);
      await c.query(`CREATE ROLE bulk_reader LOGIN PASSWORD 'bulk-reader'`);
      await c.query(`GRANT USAGE ON SCHEMA public TO bulk_app, bulk_reader`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bulk_app`);
      await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO bulk_reader`);
    });
    const as = (user: string) => {
      const url = new URL(db.current.url);
      url.username = user;
      url.password = user.replace("_", "-");
      return url.toString();
    };
    const hidden = await expectReleaseError(
      loadChunkFile({ databaseUrl: as("bulk_app"), file, datasetId }),
      "permission",
      `Dataset "${datasetId}" is not visible to this login: row-level security applies to it`,
      '--database-url "$DIRECT_URL"',
    );
    expect(hidden.describe()).not.toContain("does not exist");
    await expectReleaseError(
      loadChunkFile({ databaseUrl: as("bulk_reader"), file, datasetId }),
      "permission",
      "permission denied for table Dataset",
      "this login may not write chunks",
      '--database-url "$DIRECT_URL"',
    );
    // The CLI's --json says the same: a permission error whose fix names the migrator's login.
    for (const user of ["bulk_app", "bulk_reader"]) {
      const run = await runCli(["load-chunks", "--file", file, "--dataset", datasetId, "--json"], {
        DATABASE_URL: as(user),
      });
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({
        error: { code: "permission", fix: expect.stringContaining('--database-url "$DIRECT_URL"') },
      });
    }
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    // The migrator's (here the database's admin) loads the same file.
    await load(file, datasetId);
    expect(await countsOf(datasetId)).toEqual({ chunks: 5, documents: 1 });
  });

  it("leaves nothing behind when the file turns out corrupt near its end, naming the line", async () => {
    const datasetId = await newDataset();
    const goodLine = chunkLine({
      documentId: "corrupt-doc-0",
      idx: 999,
      text: "x",
      embedding: new Float32Array(DIMENSION),
    });
    const generated = writeChunkFile(dir, "corrupt.ndjson", {
      dimension: DIMENSION,
      documents: 20,
      chunksPerDocument: 100,
      prefix: "corrupt",
      // A line cut short, as a copy that ran out of disk would leave it.
      tail: [goodLine.slice(0, 5000)],
    });
    const lastLine = 1 + 20 + generated.chunks + 1;
    const error = await expectReleaseError(
      load(generated.file, datasetId),
      "invalid-input",
      `corrupt.ndjson, line ${lastLine}: not valid JSON`,
      "nothing was loaded",
    );
    expect(error.fix).toContain("nothing was loaded");
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  // One convention for every message that names a component: its index in the embedding's array, from 0.
  it("numbers a NaN component as the search functions do: from 0, as the array's index", async () => {
    const datasetId = await newDataset();
    const embedding = new Float32Array(DIMENSION).fill(1);
    embedding[7] = Number.NaN;
    await expectReleaseError(
      load(fileEndingWith("nan-index.ndjson", embedding, 3), datasetId),
      "invalid-input",
      'nan-index.ndjson, line 6: "embedding" value 7 is NaN',
    );
    const query = `[${Array.from(embedding, (v) => (Number.isNaN(v) ? "NaN" : "1")).join(",")}]`;
    await withClient(db.current.url, async (c) => {
      for (const fn of ["search_chunks", "search_messages"]) {
        await expect(c.query(`SELECT * FROM ${fn}($1, 10)`, [query])).rejects.toThrow(
          new RegExp(`^${fn}: query component 7 is NaN, expected a finite number$`),
        );
      }
    });
  });

  it("leaves nothing behind on a bad embedding mid-file, or a chunk of an unknown document", async () => {
    const datasetId = await newDataset();
    const dims = new Float32Array(DIMENSION);
    dims[7] = Number.NaN;
    const nan = writeChunkFile(dir, "nan.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "nan",
      tail: [chunkLine({ documentId: "nan-doc-0", idx: 10, text: "x", embedding: dims })],
    });
    await expectReleaseError(
      load(nan.file, datasetId),
      "invalid-input",
      'nan.ndjson, line 13: "embedding" value 7 is NaN',
    );
    const invalidBase64 = writeChunkFile(dir, "base64.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "b64",
      tail: [
        chunkLine({
          documentId: "b64-doc-0",
          idx: 10,
          text: "x",
          embedding: new Float32Array(DIMENSION),
        }).replace("AAAA", "A*AA"),
      ],
    });
    await expectReleaseError(
      load(invalidBase64.file, datasetId),
      "invalid-input",
      'base64.ndjson, line 13: "embedding" is not valid base64',
    );
    const orphan = writeChunkFile(dir, "orphan.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "orphan",
      tail: [
        chunkLine({
          documentId: "nowhere",
          idx: 0,
          text: "x",
          embedding: new Float32Array(DIMENSION).fill(0.5),
        }),
      ],
    });
    await expectReleaseError(
      load(orphan.file, datasetId),
      "invalid-input",
      'orphan.ndjson, line 13: document "nowhere" is neither in the file',
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("words a malformed embedding and a one-row load exactly: byte length, position, singular counts", async () => {
    const datasetId = await newDataset();
    // "AAAA" is 3 bytes: not a float32 count at all, whatever the dimension.
    const short = writeChunkFile(dir, "three-bytes.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 1,
      prefix: "three-bytes",
      tail: [
        `${JSON.stringify({ type: "chunk", documentId: "three-bytes-doc-0", idx: 1, text: "x", embedding: "AAAA" })}\n`,
      ],
    });
    const error = await expectReleaseError(
      load(short.file, datasetId),
      "invalid-input",
      'three-bytes.ndjson, line 4: "embedding" decodes to 3 bytes, not a multiple of 4',
      "the header says 3072 dimensions, 12288 bytes",
    );
    expect(error.message).not.toContain("0.75");
    // A NaN written as JSON becomes null: the array form names its position, as the base64 form does.
    const values: (number | null)[] = new Array<number>(DIMENSION).fill(0.5);
    values[7] = null;
    await expectReleaseError(
      load(fileEndingWith("array-null.ndjson", values, 1), datasetId),
      "invalid-input",
      'array-null.ndjson, line 4: "embedding" value 7 is null; as an array it must hold only numbers',
    );
    const one = writeChunkFile(dir, "one.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 1,
      prefix: "one",
    });
    const run = await runCli(["load-chunks", "--file", one.file, "--dataset", datasetId], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Loaded 1 chunk and 1 document into dataset ${datasetId}`);
    expect(run.stderr).toContain("load-chunks: 1 chunk and 1 document loaded");
  });

  it("refuses the zero vector, which has no cosine distance, in either form", async () => {
    const datasetId = await newDataset();
    await expectReleaseError(
      load(fileEndingWith("zero.ndjson", new Float32Array(DIMENSION), 2), datasetId),
      "invalid-input",
      'zero.ndjson, line 5: "embedding" is the zero vector (every value 0), whose cosine distance to anything is undefined',
    );
    const array = fileEndingWith("zero-array.ndjson", new Array<number>(DIMENSION).fill(-0), 2);
    await expectReleaseError(
      load(array, datasetId),
      "invalid-input",
      'zero-array.ndjson, line 5: "embedding" is the zero vector',
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("refuses, above 2,000 dimensions, a component halfvec cannot hold, in either form, naming it and the limit", async () => {
    const datasetId = await newDataset();
    const large = new Float32Array(DIMENSION).fill(0.01);
    large[7] = 100000;
    await expectReleaseError(
      load(fileEndingWith("halfvec.ndjson", large, 1), datasetId),
      "invalid-input",
      'halfvec.ndjson, line 4: "embedding" value 7 is 100000, beyond ±65504, the largest a halfvec holds: above 2,000 dimensions (here 3072)',
    );
    const array = fileEndingWith("halfvec-array.ndjson", Array.from(large), 1);
    await expectReleaseError(
      load(array, datasetId),
      "invalid-input",
      'halfvec-array.ndjson, line 4: "embedding" value 7 is 100000, beyond ±65504',
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    // Up to 2,000 dimensions the index stores `vector`, which holds any finite float4.
    const smallSpace = "bulk-space-1536";
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ($1, 'test', 'small', 1536)`,
        [smallSpace],
      ),
    );
    const small = new Float32Array(1536).fill(0.01);
    small[7] = 100000;
    const vectorFile = writeChunkFile(dir, "vector-range.ndjson", {
      dimension: 1536,
      header: { embeddingSpace: { id: smallSpace } },
      documents: 1,
      chunksPerDocument: 1,
      prefix: "vector-range",
      tail: [chunkLine({ documentId: "vector-range-doc-0", idx: 1, text: "x", embedding: small })],
    });
    await expect(load(vectorFile.file, datasetId)).resolves.toMatchObject({ chunks: 2 });
  });

  it("refuses a wrong dimension before loading anything, whether the header or one embedding is wrong", async () => {
    const datasetId = await newDataset();
    const small = writeChunkFile(dir, "1536.ndjson", {
      dimension: 1536,
      documents: 1,
      chunksPerDocument: 5,
      prefix: "small",
    });
    const error = await expectReleaseError(
      load(small.file, datasetId),
      "invalid-input",
      "the embeddings have 1536 dimensions, but embedding space openai/text-embedding-3-large has 3072",
    );
    expect(error.fix).toContain("load into a space of 1536 dimensions");
    const mixed = writeChunkFile(dir, "mixed.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 5,
      prefix: "mixed",
      tail: [chunkLine({ documentId: "mixed-doc-0", idx: 5, text: "x", embedding: new Float32Array(1536) })],
    });
    await expectReleaseError(
      load(mixed.file, datasetId),
      "invalid-input",
      'mixed.ndjson, line 8: "embedding" holds 1536 float32 values (6144 bytes), but the header says 3072 dimensions',
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it.each([
    [{ embeddingSpaceId: "demo\u0000space" }, "embeddingSpaceId"],
    [{ embeddingSpace: { provider: "openai", model: "text\u0000embedding" } }, "embeddingSpace.model"],
  ])(
    "names a NUL character in the header's embedding space as the file's fault (%j)",
    async (space, field) => {
      const datasetId = await newDataset();
      const file = `${dir}/nul-space-${field}.ndjson`;
      writeFileSync(
        file,
        `${JSON.stringify({ format: "neonhub-chunks", version: 1, dimension: DIMENSION, ...space })}\n`,
      );
      const error = await expectReleaseError(
        load(file, datasetId),
        "invalid-input",
        `nul-space-${field}.ndjson, line 1: "${field}" contains a NUL character (\\u0000).`,
      );
      expect(error.fix).toContain("nothing was loaded");
      expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    },
  );

  it("says in its own words that a chunk id the file gives is taken outside the dataset, naming nothing of it", async () => {
    const datasetId = await newDataset();
    // The id of a chunk the demo seed set already wrote, in another dataset: only the primary key can tell.
    const clash = writeChunkFile(dir, "clash.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "clash",
      idOf: (n) => (n === 6 ? "demo-chunk-brand-guide-0" : undefined),
    });
    const error = await expectReleaseError(
      load(clash.file, datasetId),
      "invalid-input",
      `clash.ndjson, line 9: chunk id "demo-chunk-brand-guide-0" is taken by a chunk outside dataset "${datasetId}" (chunk ids are global).`,
      'Omit "id" on that line to let the loader derive one from dataset, document and idx',
      "Nothing was loaded",
    );
    // Nothing of the chunk that has the id: not its dataset, document or organization, nor the raw error.
    for (const hidden of ["demo-dataset", "demo-doc", "demo-org", "Chunk_pkey", "duplicate key"])
      expect(error.describe()).not.toContain(hidden);
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("under --append, names the chunk of the dataset that holds a file's chunk id, given or derived", async () => {
    const datasetId = await newDataset();
    const first = writeChunkFile(dir, "own.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 3,
      prefix: "own",
    });
    await load(first.file, datasetId);
    const embedding = new Float32Array(DIMENSION).fill(0.5);
    // A new document's chunk given the id the loader derived for chunk 2 of own-doc-0, which --append keeps.
    const given = writeChunkFile(dir, "own-given.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 1,
      prefix: "own-given",
      tail: [
        chunkLine({
          id: derivedChunkId(datasetId, "own-doc-0", 2),
          documentId: "own-given-doc-0",
          idx: 1,
          text: "x",
          embedding,
        }),
      ],
    });
    await expectReleaseError(
      loadChunkFile({ databaseUrl: db.current.url, file: given.file, datasetId, append: true }),
      "invalid-input",
      `own-given.ndjson, line 4: chunk id "${derivedChunkId(datasetId, "own-doc-0", 2)}" is taken by chunk 2 of document "own-doc-0" of dataset "${datasetId}", which this load keeps`,
      'Omit "id" on that line',
    );
    // A chunk of own-doc-0, which has no document line: its chunks are kept, and its idx 1 is taken.
    const derived = writeChunkFile(dir, "own-derived.ndjson", {
      dimension: DIMENSION,
      documents: 0,
      chunksPerDocument: 0,
      prefix: "own-derived",
      tail: [chunkLine({ documentId: "own-doc-0", idx: 1, text: "x", embedding })],
    });
    await expectReleaseError(
      loadChunkFile({ databaseUrl: db.current.url, file: derived.file, datasetId, append: true }),
      "invalid-input",
      `own-derived.ndjson, line 2: chunk 1 of document "own-doc-0" is already in dataset "${datasetId}": --append replaces the chunks of the documents the file has a document line for, and this one has none.`,
      'Add a document line for "own-doc-0"',
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 3, documents: 1 });
  });

  it("under --append, names the stored chunk at a line's document and idx when the line's chunk id is new", async () => {
    const datasetId = await newDataset();
    // Chunks stored with ids of their own: neither a new given id nor the derived one clashes with theirs.
    const first = writeChunkFile(dir, "spot.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 3,
      prefix: "spot",
      idOf: (n) => `spot-stored-${n}`,
    });
    await load(first.file, datasetId);
    const embedding = new Float32Array(DIMENSION).fill(0.5);
    const storedIds = () =>
      withClient(db.current.url, async (c) => {
        const r = await c.query<{ id: string }>(`SELECT id FROM "Chunk" WHERE "datasetId" = $1 ORDER BY id`, [
          datasetId,
        ]);
        return r.rows.map((row) => row.id);
      });
    for (const [name, id] of [
      ["spot-given.ndjson", "spot-new"],
      ["spot-derived.ndjson", undefined],
    ] as const) {
      // spot-doc-0 has no document line: --append keeps its chunks, and its idx 1 is taken.
      const file = writeChunkFile(dir, name, {
        dimension: DIMENSION,
        documents: 0,
        chunksPerDocument: 0,
        prefix: name.replace(/\.ndjson$/, ""),
        tail: [
          chunkLine({ documentId: "spot-doc-0", idx: 7, text: "x", embedding }),
          chunkLine({ id, documentId: "spot-doc-0", idx: 1, text: "x", embedding }),
        ],
      });
      const error = await expectReleaseError(
        loadChunkFile({ databaseUrl: db.current.url, file: file.file, datasetId, append: true }),
        "invalid-input",
        `${name}, line 3: chunk 1 of document "spot-doc-0" is already in dataset "${datasetId}" (chunk id "spot-stored-1"): --append replaces the chunks of the documents the file has a document line for, and this one has none.`,
        'Add a document line for "spot-doc-0" (its chunks are then replaced by the file\'s), give that line an idx document "spot-doc-0" has no chunk at, or drop it.',
        "Nothing was loaded",
      );
      for (const raw of ["Chunk_documentId_idx_key", "duplicate key"])
        expect(error.describe()).not.toContain(raw);
    }
    // Nothing written: not the first line's chunk (idx 7), nor any other.
    expect(await countsOf(datasetId)).toEqual({ chunks: 3, documents: 1 });
    expect(await storedIds()).toEqual(["spot-stored-0", "spot-stored-1", "spot-stored-2"]);
  });

  it("names the first line in file order of the documents another dataset has", async () => {
    const other = await newDataset();
    const datasetId = await newDataset();
    // Stored a first, z second: by id or by storage order the database meets order-a first.
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Document" (id, "datasetId", title) VALUES ('order-a', $1, 'a'), ('order-z', $1, 'z')`,
        [other],
      ),
    );
    const file = writeChunkFile(dir, "order.ndjson", {
      dimension: DIMENSION,
      documents: 0,
      chunksPerDocument: 0,
      prefix: "order",
      tail: [
        documentLine({ id: "order-fresh", title: "fresh" }),
        documentLine({ id: "order-z", title: "z" }),
        documentLine({ id: "order-a", title: "a" }),
      ],
    }).file;
    await expectReleaseError(
      load(file, datasetId),
      "invalid-input",
      `order.ndjson, line 3: document "order-z" already exists in another dataset ("${other}")`,
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("refuses a line that is not UTF-8, naming the line and the byte, rather than store replacement characters", async () => {
    const datasetId = await newDataset();
    const embedding = new Float32Array(DIMENSION).fill(0.5);
    // The chunk line as a Latin-1 writer leaves it: é is the one byte e9.
    const latin1 = Buffer.from(
      chunkLine({ documentId: "latin1-doc-0", idx: 10, text: "café au lait", embedding }),
      "latin1",
    );
    const generated = writeChunkFile(dir, "latin1.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "latin1",
      tail: [latin1],
    });
    const inLine = latin1.indexOf(0xe9);
    const lineStart = statSync(generated.file).size - latin1.length;
    const error = await expectReleaseError(
      load(generated.file, datasetId),
      "invalid-input",
      `latin1.ndjson, line 13: not valid UTF-8: the bytes at offset ${lineStart + inLine} of the file (byte ${inLine} of the line, both counted from 0) are e9 20 61 75`,
      "nothing was loaded",
    );
    expect(error.describe()).not.toContain("\ufffd");
    // A surrogate encoded on its own (CESU-8, Java's modified UTF-8): well-formed-looking bytes UTF-8 forbids.
    const [before, after] = chunkLine({ documentId: "cesu-doc-0", idx: 0, text: "@", embedding }).split("@");
    const cesu = Buffer.concat([
      Buffer.from(before!),
      Buffer.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]),
      Buffer.from(after!),
    ]);
    const surrogate = writeChunkFile(dir, "cesu.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 0,
      prefix: "cesu",
      tail: [cesu],
    });
    const at = Buffer.byteLength(before!);
    await expectReleaseError(
      load(surrogate.file, datasetId),
      "invalid-input",
      `cesu.ndjson, line 3: not valid UTF-8: the bytes at offset ${statSync(surrogate.file).size - cesu.length + at} of the file (byte ${at} of the line, both counted from 0) are ed a0 bd ed`,
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("refuses a line longer than the limit, naming the line and the limit, and takes one of exactly the limit", async () => {
    const datasetId = await newDataset();
    const embedding = new Float32Array(DIMENSION).fill(0.5);
    const long = chunkLine({ documentId: "long-doc-0", idx: 10, text: "x".repeat(30_000), embedding });
    const longBytes = long.length - 1; // ASCII; its line break not counted
    const generated = writeChunkFile(dir, "long.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 10,
      prefix: "long",
      tail: [long],
    });
    const withLimit = (maxLineBytes: number) =>
      loadChunkFile({ databaseUrl: db.current.url, file: generated.file, datasetId, maxLineBytes });
    await expectReleaseError(
      withLimit(longBytes - 1),
      "invalid-input",
      `long.ndjson, line 13: the line is longer than ${(longBytes - 1).toLocaleString("en-US")} bytes, the most a line of a chunk file may hold`,
      "nothing was loaded",
    );
    expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    await expect(withLimit(longBytes)).resolves.toMatchObject({ chunks: 11 });
  });

  it("refuses a line without an end as soon as it passes the limit, before reading it whole", async () => {
    const file = writeChunkFile(dir, "endless.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 1,
      prefix: "endless",
      tail: [Buffer.alloc(24 << 20, "x")],
    }).file;
    const reader = openChunkFile(file, { maxLineBytes: 100_000 });
    await reader.header;
    const error = await (async () => {
      for await (const _ of reader.records);
    })().catch((e: unknown) => e);
    expect((error as ReleaseError).describe()).toContain(
      "endless.ndjson, line 4: the line is longer than 100,000 bytes",
    );
    // One 4 MB block read of the 24 MB line: the rest never is.
    expect(reader.position.bytesRead).toBeLessThanOrEqual(4 << 20);
    await reader.close();
  });

  it("takes a line of exactly 8 MiB, and the CLI refuses one byte more, printing no summary", async () => {
    const datasetId = await newDataset();
    const embedding = new Float32Array(DIMENSION).fill(0.5);
    const lineOf = (bytes: number, idx: number) => {
      const empty = chunkLine({ documentId: "max-doc-0", idx, text: "", embedding }).length - 1;
      return chunkLine({ documentId: "max-doc-0", idx, text: "x".repeat(bytes - empty), embedding });
    };
    const exact = lineOf(MAX_LINE_BYTES, 0);
    expect(MAX_LINE_BYTES).toBe(8 * 1024 * 1024);
    expect(exact.length).toBe(MAX_LINE_BYTES + 1);
    const fits = writeChunkFile(dir, "max.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 0,
      prefix: "max",
      // A Windows line end: its \r is not counted either.
      tail: [exact.replace(/\n$/, "\r\n")],
    });
    await expect(load(fits.file, datasetId)).resolves.toMatchObject({ chunks: 1 });
    const over = writeChunkFile(dir, "over.ndjson", {
      dimension: DIMENSION,
      documents: 0,
      chunksPerDocument: 0,
      prefix: "over",
      tail: [lineOf(MAX_LINE_BYTES + 1, 1)],
    });
    const run = await runCli(["load-chunks", "--file", over.file, "--dataset", datasetId, "--replace"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("over.ndjson, line 2: the line is longer than 8,388,608 bytes");
    // The error and nothing else: no summary of a load that did not happen.
    expect(run.stdout).toBe("");
    expect(run.stderr).not.toMatch(/chunks\/s|loaded in/);
    const json = await runCli(
      ["load-chunks", "--file", over.file, "--dataset", datasetId, "--replace", "--json"],
      { DATABASE_URL: db.current.url },
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "invalid-input" } });
    expect(await countsOf(datasetId)).toEqual({ chunks: 1, documents: 1 });
  });

  it("reports the rate of a slow load of few chunks as it is, not as 0 chunks/s", () => {
    expect(chunkRate(1, 14_200)).toBe(0.07);
    expect(chunkRate(3, 2_000)).toBe(1.5);
    expect(chunkRate(0, 1_000)).toBe(0);
    expect(chunkRate(6_000, 1_234)).toBe(4862);
  });

  it("names the load to run again once the database's refusal is fixed: as the operator ran it, or what a library caller calls", async () => {
    const datasetId = await newDataset();
    const file = fileEndingWith("db-refused.ndjson", new Float32Array(DIMENSION).fill(0.5), 3);
    // A rule of the database's own that the file breaks (the last chunk's text), which only the server checks.
    const rule = `ALTER TABLE "Chunk" ADD CONSTRAINT bulk_no_x CHECK ("text" <> 'x') NOT VALID`;
    await withClient(db.current.url, (c) => c.query(rule));
    try {
      const run = await runCli(
        ["load-chunks", "--file", file, "--dataset", datasetId, "--replace", "--json"],
        {
          DATABASE_URL: db.current.url,
        },
      );
      expect(run.code, run.stderr).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
      expect(error.code).toBe("seed-failed");
      expect(error.message).toContain(`at ${file} line 6`);
      expect(error.fix).toBe(
        "Nothing was loaded (the load is one transaction). Fix the file or the database, then run " +
          `\`neonhub-db load-chunks --file ${file} --dataset ${datasetId} --replace --json\` again.`,
      );
      const library = await expectReleaseError(load(file, datasetId), "seed-failed", `at ${file} line 6`);
      expect(library.fix).toBe(
        "Nothing was loaded (the load is one transaction). Fix the file or the database, then call the load again " +
          "(loadChunkFile, or loadChunks on a connection) with the same options.",
      );
      expect(await countsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    } finally {
      await withClient(db.current.url, (c) => c.query(`ALTER TABLE "Chunk" DROP CONSTRAINT bulk_no_x`));
    }
    // The fix followed (here the database's rule dropped), the same load lands.
    await load(file, datasetId);
    expect(await countsOf(datasetId)).toEqual({ chunks: 4, documents: 1 });
  });

  it("runs as `neonhub-db load-chunks`, progress on stderr and the result as JSON", async () => {
    const datasetId = await newDataset();
    const generated = writeChunkFile(dir, "cli.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 25,
      prefix: "cli",
    });
    const run = await runCli(["load-chunks", "--file", generated.file, "--dataset", datasetId, "--json"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.stderr).toContain("load-chunks: 50 chunks and 2 documents loaded");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ datasetId, chunks: 50, documents: 2 });
    const missing = await runCli(["load-chunks", "--file", generated.file, "--dataset", "no-such-dataset"], {
      DATABASE_URL: db.current.url,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Dataset "no-such-dataset" does not exist');
  });
});
