// Bulk chunk load: the loader (chunk file -> parse, check, encode -> binary COPY) against a raw binary COPY
// of the very same rows, prepared in advance, into the same table on the same server, in the same run.
// The ratio is what the loader's reading, checking and encoding cost on top of the COPY itself.
//   npm run bench:bulk-load [-- --chunks N] [--runs N]
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync, createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { DEFAULT_MIGRATIONS_DIR, applyRelease } from "../core";
import { defaultReleaseSteps } from "../core";
import { loadChunks } from "../core";
import { chunkFileHeaderLine, chunkLine, documentLine } from "../core";
import { CopyRowBuffer, copyHeader, copyTrailer, toNetworkOrder } from "../core";
import { derivedChunkId } from "../core";
import { seededRandom } from "../core";
import { median, timed, withBenchCluster } from "./support/cluster";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const CHUNKS = flag("--chunks", 100_000);
const RUNS = flag("--runs", 3);
const CHUNKS_PER_DOCUMENT = 100;
const DATASET = "bench-dataset";
const SPACE = "demo-space-openai-3-large";
const DIMENSION = 3072;

interface Files {
  ndjson: string;
  binary: string;
}

/** The same rows twice: as a chunk file for the loader, and as binary COPY data for the baseline. */
function writeFiles(dir: string): Files {
  const files = { ndjson: path.join(dir, "chunks.ndjson"), binary: path.join(dir, "chunks.copy") };
  const ndjson = openSync(files.ndjson, "w");
  const binary = openSync(files.binary, "w");
  const random = seededRandom("bench:bulk-load");
  const rows = new CopyRowBuffer(4 << 20);
  const dataset = Buffer.from(DATASET);
  const space = Buffer.from(SPACE);
  const flush = (batch: Buffer | undefined) => batch && writeSync(binary, batch);
  try {
    writeSync(
      ndjson,
      chunkFileHeaderLine({
        dimension: DIMENSION,
        embeddingSpace: { provider: "openai", model: "text-embedding-3-large" },
      }),
    );
    const documents = Math.ceil(CHUNKS / CHUNKS_PER_DOCUMENT);
    for (let d = 0; d < documents; d++)
      writeSync(ndjson, documentLine({ id: `bench-doc-${d}`, title: `Document ${d}` }));
    writeSync(binary, copyHeader());
    let lines: string[] = [];
    for (let n = 0; n < CHUNKS; n++) {
      const documentId = `bench-doc-${Math.floor(n / CHUNKS_PER_DOCUMENT)}`;
      const idx = n % CHUNKS_PER_DOCUMENT;
      const text = `Chunk ${idx} of ${documentId}. `.repeat(12);
      const metadata = { position: n };
      const embedding = new Float32Array(DIMENSION);
      let sum = 0;
      for (let i = 0; i < DIMENSION; i++) sum += (embedding[i] = random() * 2 - 1) ** 2;
      const norm = Math.sqrt(sum);
      for (let i = 0; i < DIMENSION; i++) embedding[i]! /= norm;
      lines.push(chunkLine({ documentId, idx, text, embedding, metadata }));
      if (lines.length === 500) {
        writeSync(ndjson, lines.join(""));
        lines = [];
      }
      const id = derivedChunkId(DATASET, documentId, idx);
      const json = JSON.stringify(metadata);
      const be = toNetworkOrder(Buffer.from(embedding.buffer));
      flush(
        rows.reserve(
          2 +
            8 * 4 +
            id.length +
            dataset.length +
            space.length +
            documentId.length +
            4 +
            text.length +
            4 +
            be.length +
            1 +
            json.length,
        ),
      );
      rows.fieldCount(8);
      rows.text(id, Buffer.byteLength(id));
      rows.bytes(dataset);
      rows.bytes(space);
      rows.text(documentId, Buffer.byteLength(documentId));
      rows.int4(idx);
      rows.text(text, Buffer.byteLength(text));
      rows.vector(be);
      rows.jsonb(json, Buffer.byteLength(json));
    }
    writeSync(ndjson, lines.join(""));
    flush(rows.take());
    writeSync(binary, copyTrailer());
  } finally {
    closeSync(ndjson);
    closeSync(binary);
  }
  return files;
}

async function rawCopy(client: Client, file: string, table: string): Promise<void> {
  await client.query("BEGIN");
  await pipeline(
    createReadStream(file, { highWaterMark: 4 << 20 }),
    client.query(
      copyFrom(
        `COPY ${table} (id, "datasetId", "embeddingSpaceId", "documentId", idx, text, embedding, metadata) FROM STDIN WITH (FORMAT binary)`,
      ),
    ),
  );
  await client.query("COMMIT");
}

/** Empties the table and flushes dirty pages, so that every run starts from the same state. */
async function reset(client: Client, table: string): Promise<void> {
  await client.query(`TRUNCATE ${table}`);
  await client.query("CHECKPOINT");
}

/** Both paths must have landed every row, or the timings compare nothing. */
async function expectChunks(client: Client): Promise<void> {
  const count = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Chunk"`);
  if (count.rows[0]?.n !== CHUNKS) throw new Error(`expected ${CHUNKS} chunks, found ${count.rows[0]?.n}`);
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "neonhub-bench-"));
  try {
    process.stderr.write(
      `writing ${CHUNKS.toLocaleString("en-US")} chunks x ${DIMENSION} dimensions twice (chunk file, COPY data)...\n`,
    );
    const files = writeFiles(work);
    const fileBytes = statSync(files.ndjson).size;
    const copyBytes = statSync(files.binary).size;
    await withBenchCluster(async (cluster) => {
      const url = await cluster.createDatabase("bulk");
      await applyRelease({
        databaseUrl: url,
        migrationsDir: DEFAULT_MIGRATIONS_DIR,
        steps: defaultReleaseSteps({ seedSets: ["demo"] }),
      });
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(
          `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', 'Bench', 'bench', 'documents')`,
          [DATASET],
        );
        // The documents the loader would insert from the file, so the baseline's rows have their parents too.
        await client.query(
          `INSERT INTO "Document" (id, "datasetId", title)
           SELECT 'bench-doc-' || d, $1, 'Document ' || d FROM generate_series(0, $2::int - 1) AS d`,
          [DATASET, Math.ceil(CHUNKS / CHUNKS_PER_DOCUMENT)],
        );
        // A copy of "Chunk" without its triggers, foreign keys and indexes: what the table's own checks cost.
        // Stored as "Chunk" stores its rows (column storage and the toaster's target). Its "organizationId" may
        // be NULL: in "Chunk" the trigger fills it from the dataset, and here there is no trigger (nor an
        // organization for its default).
        await client.query(
          `CREATE TABLE bare_chunk (LIKE "Chunk" INCLUDING DEFAULTS INCLUDING STORAGE) WITH (toast_tuple_target = 8160)`,
        );
        await client.query(`ALTER TABLE bare_chunk ALTER COLUMN "organizationId" DROP NOT NULL`);
        const loader: number[] = [];
        const raw: number[] = [];
        const bare: number[] = [];
        // One untimed load first: the server creates its WAL segment files once, and later loads reuse them.
        await rawCopy(client, files.binary, "bare_chunk");
        for (let run = 0; run < RUNS; run++) {
          // Alternate which goes first, so that neither always follows the other's checkpoint and WAL.
          const order = run % 2 === 0 ? ["raw", "loader"] : ["loader", "raw"];
          for (const which of order) {
            await reset(client, `"Chunk"`);
            if (which === "raw") raw.push(await timed(() => rawCopy(client, files.binary, `"Chunk"`)));
            else
              loader.push(await timed(() => loadChunks(client, { file: files.ndjson, datasetId: DATASET })));
            await expectChunks(client);
          }
          await reset(client, "bare_chunk");
          bare.push(await timed(() => rawCopy(client, files.binary, "bare_chunk")));
          process.stderr.write(
            `run ${run + 1}: loader ${loader.at(-1)!.toFixed(0)} ms, raw COPY ${raw.at(-1)!.toFixed(0)} ms, bare table ${bare.at(-1)!.toFixed(0)} ms\n`,
          );
        }
        const server = await client.query<{ v: string; e: string }>(
          "SELECT current_setting('server_version') AS v, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS e",
        );
        const rate = (ms: number) => ({
          ms: Math.round(ms),
          chunksPerSecond: Math.round(CHUNKS / (ms / 1000)),
          copyMegabytesPerSecond: Number((copyBytes / 1e6 / (ms / 1000)).toFixed(1)),
        });
        const report = {
          chunks: CHUNKS,
          dimension: DIMENSION,
          runs: RUNS,
          postgres: server.rows[0]?.v,
          pgvector: server.rows[0]?.e,
          chunkFileMegabytes: Number((fileBytes / 1e6).toFixed(1)),
          copyDataMegabytes: Number((copyBytes / 1e6).toFixed(1)),
          loader: {
            ...rate(median(loader)),
            fileMegabytesPerSecond: Number((fileBytes / 1e6 / (median(loader) / 1000)).toFixed(1)),
          },
          rawBinaryCopy: rate(median(raw)),
          rawBinaryCopyIntoBareTable: rate(median(bare)),
          loaderToRawCopyRatio: Number((median(raw) / median(loader)).toFixed(2)),
        };
        console.log(JSON.stringify(report, null, 2));
        console.log(
          `${CHUNKS.toLocaleString("en-US")} chunks x ${DIMENSION}: loader ${report.loader.chunksPerSecond} chunks/s (${report.loader.copyMegabytesPerSecond} MB/s of COPY data, ${report.loader.fileMegabytesPerSecond} MB/s of file) ` +
            `vs raw binary COPY ${report.rawBinaryCopy.chunksPerSecond} chunks/s (${report.rawBinaryCopy.copyMegabytesPerSecond} MB/s): ratio ${report.loaderToRawCopyRatio}`,
        );
      } finally {
        await client.end();
      }
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
