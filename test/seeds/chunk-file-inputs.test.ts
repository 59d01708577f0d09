// Inputs the bulk loader refused late or in the wrong words: an id longer than the b-tree indexes that hold it
// take (PostgreSQL's "index row size ... exceeds btree version 4 maximum 2704", for the whole load, naming no
// line), and a file written as UTF-16 (with a byte order mark, "not valid UTF-8 ... Latin-1?"; without one,
// "not valid JSON") or UTF-32 (with UTF-32LE's mark, FF FE 00 00, named UTF-16LE with the wrong iconv). Each on a released database, through the loader and the CLI.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BTREE_MAX_ROW_BYTES,
  DEFAULT_MIGRATIONS_DIR,
  HALFVEC_ZERO_BOUND,
  INDEXES_OF_FILE_IDS,
  ReleaseError,
  applyRelease,
  chunkFileHeaderLine,
  chunkLine,
  defaultReleaseSteps,
  documentLine,
  fileIdLimits,
  loadChunkFile,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { chunkFileDir } from "./chunk-files";

const DIMENSION = 3072;
const embedding = Float32Array.from({ length: DIMENSION }, (_, i) => Math.sin(i + 1));

/**
 * `bytes` characters no compression shortens (base64url of a hash chain, from `seed`): PostgreSQL compresses a
 * long repetitive key to fit an index, which would hide the limit.
 */
function incompressible(seed: string, bytes: number): string {
  let text = "";
  for (let block = seed; text.length < bytes; ) {
    block = createHash("sha256").update(block).digest("base64url");
    text += block;
  }
  return text.slice(0, bytes);
}

async function refusal(promise: Promise<unknown>): Promise<ReleaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  return error as ReleaseError;
}

describe("chunk file inputs the loader names before PostgreSQL does", () => {
  const db = useTestDatabase("chunkinputs");
  const dir = chunkFileDir();
  const header = chunkFileHeaderLine({
    dimension: DIMENSION,
    embeddingSpace: { id: "demo-space-openai-3-large" },
  });

  async function newDataset(id: string): Promise<string> {
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', $2, $2, 'documents')`,
        [id, createHash("sha256").update(id).digest("hex").slice(0, 16)],
      ),
    );
    return id;
  }

  async function rowsOf(datasetId: string) {
    return withClient(db.current.url, async (c) => {
      const r = await c.query<{ chunks: number; documents: number }>(
        `SELECT (SELECT count(*) FROM "Chunk" WHERE "datasetId" = $1)::int AS chunks,
                (SELECT count(*) FROM "Document" WHERE "datasetId" = $1)::int AS documents`,
        [datasetId],
      );
      return r.rows[0]!;
    });
  }

  function file(name: string, content: string | Buffer): string {
    const full = path.join(dir, name);
    writeFileSync(full, content);
    return full;
  }

  const load = (chunkFile: string, datasetId: string) =>
    loadChunkFile({ databaseUrl: db.current.url, file: chunkFile, datasetId });

  beforeAll(async () => {
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
  });

  it("the indexes that decide each id's limit are the database's b-tree indexes that hold it", async () => {
    const { rows } = await withClient(db.current.url, (c) =>
      c.query<{ table: string; index: string; columns: string[] }>(
        `SELECT t.relname AS table, i.relname AS index,
                array_agg(a.attname::text ORDER BY k.position) AS columns
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_am m ON m.oid = i.relam AND m.amname = 'btree'
           CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE t.relname IN ('Document', 'Chunk') AND t.relnamespace = 'public'::regnamespace
          GROUP BY t.relname, i.relname`,
      ),
    );
    const holding = (table: string, column: string) =>
      Object.fromEntries(
        rows
          .filter((r) => r.table === table && r.columns.includes(column))
          .map((r) => [
            r.index,
            r.columns.map((c) => (c === column ? "field" : c === "datasetId" ? "datasetId" : "int4")),
          ]),
      );
    expect(holding("Document", "id")).toEqual(INDEXES_OF_FILE_IDS['document "id"']);
    expect(holding("Chunk", "id")).toEqual(INDEXES_OF_FILE_IDS['chunk "id"']);
    expect(holding("Chunk", "documentId")).toEqual(INDEXES_OF_FILE_IDS['chunk "documentId"']);
  });

  it("loads ids of exactly the limit, refuses one byte more naming the line, the field and the limit, and PostgreSQL agrees", async () => {
    const datasetId = await newDataset("ids-at-the-limit");
    const limits = fileIdLimits(datasetId);
    const documentId = incompressible("document", limits['document "id"'].bytes);
    const chunkId = incompressible("chunk", limits['chunk "id"'].bytes);
    const atLimit = file(
      "at-limit.ndjson",
      header +
        documentLine({ id: documentId, title: "at the limit" }) +
        chunkLine({ id: chunkId, documentId, idx: 0, text: "x", embedding }),
    );
    await expect(load(atLimit, datasetId)).resolves.toMatchObject({ chunks: 1, documents: 1 });

    // Another dataset, whose id is as long as this one's once aligned: the same limits.
    const other = await newDataset("ids-over-the-limit");
    expect(fileIdLimits(other)).toEqual(limits);
    const longDocument = incompressible("long document", limits['document "id"'].bytes + 1);
    const overDocument = file(
      "document-over.ndjson",
      header +
        documentLine({ id: "fine", title: "fine" }) +
        documentLine({ id: longDocument, title: "one byte over" }) +
        chunkLine({ documentId: "fine", idx: 0, text: "x", embedding }),
    );
    const tooLong = await refusal(load(overDocument, other));
    expect(tooLong.code).toBe("invalid-input");
    expect(tooLong.message).toBe(
      `${overDocument}, line 3: the document "id" is 2,673 bytes long (UTF-8): at most 2,672 fit in index "Document_datasetId_id_key" beside the dataset's id ("ids-over-the-limit"), whose rows PostgreSQL's b-tree holds to 2,704 bytes.`,
    );
    expect(tooLong.fix).toContain("Give it a shorter id");
    expect(tooLong.describe()).not.toContain(longDocument);
    expect(await rowsOf(other)).toEqual({ chunks: 0, documents: 0 });

    const overChunk = file(
      "chunk-over.ndjson",
      header +
        documentLine({ id: "fine-2", title: "fine" }) +
        chunkLine({ documentId: "fine-2", idx: 0, text: "x", embedding }) +
        chunkLine({
          id: incompressible("long chunk", limits['chunk "id"'].bytes + 1),
          documentId: "fine-2",
          idx: 1,
          text: "x",
          embedding,
        }),
    );
    expect((await refusal(load(overChunk, other))).message).toBe(
      `${overChunk}, line 4: the chunk "id" is 2,693 bytes long (UTF-8): at most 2,692 fit in index "Chunk_pkey", whose rows PostgreSQL's b-tree holds to 2,704 bytes.`,
    );
    expect(await rowsOf(other)).toEqual({ chunks: 0, documents: 0 });

    // One byte more than the limit is what PostgreSQL itself refuses: the limit is the database's, not a guess.
    await withClient(db.current.url, async (c) => {
      const raw = await c
        .query(
          `INSERT INTO "Chunk" (id, "datasetId", "embeddingSpaceId", "documentId", idx, text) VALUES ($1, $2, 'demo-space-openai-3-large', $3, 5, 'x')`,
          [incompressible("raw chunk", limits['chunk "id"'].bytes + 1), datasetId, documentId],
        )
        .then(
          () => undefined,
          (e: { message: string }) => e.message,
        );
      expect(raw).toMatch(
        new RegExp(`exceeds btree version 4 maximum ${BTREE_MAX_ROW_BYTES} for index "Chunk_pkey"`),
      );
    });
  });

  it("a longer dataset id leaves less room for the document ids beside it, said with the chunk line's document", async () => {
    const datasetId = await newDataset(incompressible("long dataset", 2000));
    const limit = fileIdLimits(datasetId)['document "id"'].bytes;
    // The row's header (8 bytes), the dataset's id with its length (4 + 2,000), the document's length (4).
    expect(limit).toBe(BTREE_MAX_ROW_BYTES - 8 - 4 - 2000 - 4);
    // PostgreSQL takes a document id of the limit beside this dataset's, and refuses one byte more.
    await withClient(db.current.url, async (c) => {
      const insert = (id: string) =>
        c.query(`INSERT INTO "Document" (id, "datasetId", title) VALUES ($1, $2, 't')`, [id, datasetId]).then(
          () => "inserted",
          (e: { message: string }) => e.message,
        );
      await c.query("BEGIN");
      expect(await insert(incompressible("raw at the limit", limit))).toBe("inserted");
      expect(
        await c
          .query("ROLLBACK")
          .then(() => c.query("BEGIN"))
          .then(() => "again"),
      ).toBe("again");
      expect(await insert(incompressible("raw over the limit", limit + 1))).toMatch(
        /exceeds btree version 4 maximum 2704 for index "Document_datasetId_id_key"/,
      );
      await c.query("ROLLBACK");
    });
    const documentId = incompressible("beside a long dataset", limit + 1);
    // A chunk naming such a document (none can exist) is refused for its length, not as an unknown document.
    const chunkOnly = file(
      "chunk-document-over.ndjson",
      header + chunkLine({ documentId, idx: 0, text: "x", embedding }),
    );
    const error = await refusal(load(chunkOnly, datasetId));
    expect(error.message).toContain(
      `line 2: the chunk "documentId" is ${limit + 1} bytes long (UTF-8): at most ${limit} fit in index "Chunk_datasetId_documentId_idx" beside the dataset's id`,
    );
    expect(await rowsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });

  it("names UTF-16 and UTF-32, with a byte order mark or without, and the conversion; takes UTF-8 with one", async () => {
    const datasetId = await newDataset("encodings");
    const text =
      header +
      documentLine({ id: "utf16-doc", title: "Guide" }) +
      chunkLine({ documentId: "utf16-doc", idx: 0, text: "x", embedding });
    const littleEndian = Buffer.from(text, "utf16le");
    const bigEndian = Buffer.from(littleEndian).swap16();
    // UTF-32: each character (all of them ASCII here) as four bytes.
    const utf32LittleEndian = Buffer.alloc(text.length * 4);
    for (let i = 0; i < text.length; i++) utf32LittleEndian.writeUInt32LE(text.charCodeAt(i), i * 4);
    const utf32BigEndian = Buffer.from(utf32LittleEndian).swap32();
    const cases = [
      [
        "le-mark.ndjson",
        Buffer.concat([Buffer.from([0xff, 0xfe]), littleEndian]),
        "UTF-16LE",
        "UTF-16, little-endian, with",
      ],
      ["le.ndjson", littleEndian, "UTF-16LE", "UTF-16, little-endian, without"],
      [
        "be-mark.ndjson",
        Buffer.concat([Buffer.from([0xfe, 0xff]), bigEndian]),
        "UTF-16BE",
        "UTF-16, big-endian, with",
      ],
      ["be.ndjson", bigEndian, "UTF-16BE", "UTF-16, big-endian, without"],
      [
        "le32-mark.ndjson",
        Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x00]), utf32LittleEndian]),
        "UTF-32LE",
        "UTF-32, little-endian, with",
      ],
      ["le32.ndjson", utf32LittleEndian, "UTF-32LE", "UTF-32, little-endian, without"],
      [
        "be32-mark.ndjson",
        Buffer.concat([Buffer.from([0x00, 0x00, 0xfe, 0xff]), utf32BigEndian]),
        "UTF-32BE",
        "UTF-32, big-endian, with",
      ],
      ["be32.ndjson", utf32BigEndian, "UTF-32BE", "UTF-32, big-endian, without"],
    ] as const;
    for (const [name, bytes, encoding, how] of cases) {
      const written = file(name, bytes);
      const error = await refusal(load(written, datasetId));
      expect(error.code).toBe("invalid-input");
      expect(error.message).toBe(
        `${written}, line 1: the file is ${encoding} (${how} a byte order mark), not UTF-8: a chunk file is UTF-8.`,
      );
      expect(error.fix).toContain(`iconv -f ${encoding} -t UTF-8 ${written}`);
      expect(error.describe()).not.toMatch(/not valid (JSON|UTF-8)/);
    }
    expect(await rowsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    // A UTF-8 byte order mark (Notepad's, PowerShell 5's) is the same text: loaded.
    const marked = file(
      "utf8-mark.ndjson",
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
    );
    await expect(load(marked, datasetId)).resolves.toMatchObject({ chunks: 1, documents: 1 });
  });

  it("refuses an embedding a halfvec index holds as the zero vector, naming the line and the chunk, before the database does", async () => {
    const datasetId = await newDataset("below-halfvec");
    // Every component at most the bound (which halfvec rounds to 0), the largest 2.5e-8: the dimension trigger
    // would refuse it (SQLSTATE 22003) in words that name no line.
    const tiny = Float32Array.from(embedding, (v) => v * 2.5e-8);
    const bits = new Uint32Array(Float32Array.of(HALFVEC_ZERO_BOUND).buffer);
    bits[0]! += 1;
    const justAbove = new Float32Array(bits.buffer)[0]!;
    const text =
      header +
      documentLine({ id: "tiny-doc", title: "Guide" }) +
      chunkLine({ documentId: "tiny-doc", idx: 0, text: "held", embedding });
    for (const [name, line] of [
      ["tiny.ndjson", chunkLine({ documentId: "tiny-doc", idx: 1, text: "x", embedding: tiny })],
      [
        "tiny-array.ndjson",
        `${JSON.stringify({ type: "chunk", id: "c-1", documentId: "tiny-doc", idx: 1, text: "x", embedding: Array.from(tiny) })}\n`,
      ],
    ] as const) {
      const written = file(name, text + line);
      const error = await refusal(load(written, datasetId));
      expect(error.code).toBe("invalid-input");
      expect(error.message).toBe(
        `${written}, line 4: the chunk of "documentId" "tiny-doc", "idx" 1${name === "tiny-array.ndjson" ? ' ("id" "c-1")' : ""}: ` +
          "every embedding value is at most 2.98e-8 in magnitude (the largest is 2.5e-8), which a halfvec holds as 0: " +
          "above 2,000 dimensions (here 3072) the vector index stores halfvec, where this embedding is the zero vector " +
          "and no search through the index would find the chunk. The database refuses it.",
      );
      expect(error.fix).toContain("normalize it to unit length");
      expect(error.fix).toContain("l2_normalize");
    }
    expect(await rowsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
    // Every component at the bound is refused; one component just above it is a halfvec the index holds, which
    // the database stores too.
    const atBound = embedding.map((v) => Math.sign(v) * HALFVEC_ZERO_BOUND);
    const edge = (name: string, v: Float32Array) =>
      file(
        name,
        header +
          documentLine({ id: "edge-doc", title: "Edge" }) +
          chunkLine({ documentId: "edge-doc", idx: 0, text: "e", embedding: v }),
      );
    expect((await refusal(load(edge("at-bound.ndjson", atBound), datasetId))).message).toContain(
      "(the largest is 2.98e-8), which a halfvec holds as 0",
    );
    const above = Float32Array.from(atBound);
    above[7] = justAbove;
    await expect(load(edge("above-bound.ndjson", above), datasetId)).resolves.toMatchObject({ chunks: 1 });
  });

  it("names the dataset's id when --dataset is given its slug or name", async () => {
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES
           ('ds-7f3a', 'demo-org', 'Brand guide', 'brand-guide', 'documents'),
           ('ds-91c0', 'demo-org', 'Handbook', 'handbook', 'documents'),
           ('ds-a204', 'demo-org', 'handbook', 'handbook-2025', 'documents')`,
      ),
    );
    const chunks = file(
      "by-slug.ndjson",
      header +
        documentLine({ id: "slug-doc", title: "Guide" }) +
        chunkLine({ documentId: "slug-doc", idx: 0, text: "x", embedding }),
    );
    const bySlug = await runCli(["load-chunks", "--file", chunks, "--dataset", "brand-guide", "--replace"], {
      DATABASE_URL: db.current.url,
    });
    expect(bySlug.code).toBe(1);
    expect(bySlug.stderr).toContain(
      `Dataset "brand-guide" does not exist in this database: --dataset takes a dataset's id, and "brand-guide" is the slug of dataset "ds-7f3a" (organization "demo-org").`,
    );
    expect(bySlug.stderr).toContain(
      `fix: Pass its id: \`neonhub-db load-chunks --file ${chunks} --dataset ds-7f3a --replace\`. Nothing was loaded.`,
    );
    const byName = await refusal(load(chunks, "Brand guide"));
    expect(byName.message).toContain(
      `"Brand guide" is the name of dataset "ds-7f3a" (organization "demo-org").`,
    );
    // One dataset's slug, another's name: both named, the slug's first.
    const both = await refusal(load(chunks, "handbook"));
    expect(both.message).toContain(
      `"handbook" is the slug or name of 2 datasets: "ds-91c0" (slug, organization "demo-org"), "ds-a204" (name, organization "demo-org").`,
    );
    expect(both.fix).toContain("Pass the id of the one meant, e.g. `neonhub-db load-chunks");
    // Neither: the refusal as before.
    const neither = await refusal(load(chunks, "no-such-dataset"));
    expect(neither.message).toBe('Dataset "no-such-dataset" does not exist in this database.');
    for (const id of ["ds-7f3a", "ds-91c0", "ds-a204"]) {
      expect(await rowsOf(id)).toEqual({ chunks: 0, documents: 0 });
    }
  });

  it("says both through the CLI, with --json as the one document on stdout", async () => {
    const datasetId = await newDataset("cli-inputs");
    const long = file(
      "cli-long.ndjson",
      header + documentLine({ id: incompressible("cli", 3000), title: "t" }),
    );
    const run = await runCli(["load-chunks", "--file", long, "--dataset", datasetId, "--json"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    const document = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(document.error.code).toBe("invalid-input");
    expect(document.error.message).toContain(`${long}, line 2: the document "id" is 3,000 bytes long`);
    expect(run.stderr).not.toContain("index row size");
    const utf16 = file("cli-utf16.ndjson", Buffer.from(header, "utf16le"));
    const encoded = await runCli(["load-chunks", "--file", utf16, "--dataset", datasetId], {
      DATABASE_URL: db.current.url,
    });
    expect(encoded.code).toBe(1);
    expect(encoded.stderr).toContain("line 1: the file is UTF-16LE");
    expect(await rowsOf(datasetId)).toEqual({ chunks: 0, documents: 0 });
  });
});
