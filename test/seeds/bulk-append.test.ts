// load-chunks --append: documents added to a dataset that already has chunks, a document it already has
// replaced, the others kept; and the tenant column filled for every loaded chunk.
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  ReleaseError,
  applyRelease,
  collectingLogger,
  defaultReleaseSteps,
  loadChunkFile,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { chunkFileDir, writeChunkFile } from "./chunk-files";

const DIMENSION = 3072;

describe("load-chunks --append", () => {
  const db = useTestDatabase();
  const dir = chunkFileDir();
  const datasetId = "append-dataset";
  const load = (file: string, extra: { replace?: boolean; append?: boolean } = {}) =>
    loadChunkFile({ databaseUrl: db.current.url, file, datasetId, ...extra });
  const chunksByDocument = () =>
    withClient(db.current.url, async (c) => {
      const r = await c.query<{ doc: string; n: number; orgs: string[] }>(
        `SELECT "documentId" AS doc, count(*)::int AS n, array_agg(DISTINCT "organizationId") AS orgs
           FROM "Chunk" WHERE "datasetId" = $1 GROUP BY 1 ORDER BY 1`,
        [datasetId],
      );
      return r.rows;
    });

  beforeAll(async () => {
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', $1, $1, 'documents')`,
        [datasetId],
      ),
    );
  });

  it("adds new documents, replaces one the dataset has, and keeps the others", async () => {
    const first = writeChunkFile(dir, "first.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 5,
      prefix: "a",
    });
    await load(first.file);
    // "a-doc-0" again, with 3 chunks instead of 5, and a new document "b-doc-0".
    const again = writeChunkFile(dir, "again.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 3,
      prefix: "a",
    });
    expect(await load(again.file, { append: true })).toMatchObject({ replaced: 5, chunks: 3, documents: 1 });
    const added = writeChunkFile(dir, "added.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 4,
      prefix: "b",
    });
    expect(await load(added.file, { append: true })).toMatchObject({ replaced: 0, chunks: 4, documents: 1 });
    expect(await chunksByDocument()).toEqual([
      { doc: "a-doc-0", n: 3, orgs: ["demo-org"] },
      { doc: "a-doc-1", n: 5, orgs: ["demo-org"] },
      { doc: "b-doc-0", n: 4, orgs: ["demo-org"] },
    ]);
  });

  it("names the file's documents it left without chunks, as --replace does, and keeps them", async () => {
    const first = writeChunkFile(dir, "kept-first.ndjson", {
      dimension: DIMENSION,
      documents: 2,
      chunksPerDocument: 3,
      prefix: "kept",
    });
    await load(first.file, { append: true });
    // A document line for "kept-doc-0" (a new title, say) and no chunk lines: its chunks are replaced by none.
    const titleOnly = writeChunkFile(dir, "kept-title.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 0,
      prefix: "kept",
    });
    const log = collectingLogger();
    const result = await loadChunkFile({
      databaseUrl: db.current.url,
      file: titleOnly.file,
      datasetId,
      append: true,
      log,
    });
    expect(result).toMatchObject({
      replaced: 3,
      chunks: 0,
      documents: 1,
      documentsWithoutChunks: ["kept-doc-0"],
    });
    expect(log.lines).toContain(
      "warning: load-chunks: 1 document of the dataset now has no chunks, as no chunk line of the file names it (a load deletes no document, nor its versions): kept-doc-0",
    );
    const byDocument = await chunksByDocument();
    expect(byDocument.find((r) => r.doc === "kept-doc-0")).toBeUndefined();
    expect(byDocument.find((r) => r.doc === "kept-doc-1")).toMatchObject({ n: 3 });
    // The CLI says it too, on stderr and in --json; documents the file does not name are not its to report.
    const cli = await runCli(
      ["load-chunks", "--file", titleOnly.file, "--dataset", datasetId, "--append", "--json"],
      { DATABASE_URL: db.current.url },
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ replaced: 0, documentsWithoutChunks: ["kept-doc-0"] });
    expect(cli.stderr).toContain("1 document of the dataset now has no chunks");
  });

  it("refuses --replace with --append, naming both, and changes nothing", async () => {
    const before = await chunksByDocument();
    const file = writeChunkFile(dir, "both.ndjson", {
      dimension: DIMENSION,
      documents: 1,
      chunksPerDocument: 1,
      prefix: "c",
    });
    const error = await load(file.file, { replace: true, append: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).describe()).toContain("--replace and --append together");
    expect(await chunksByDocument()).toEqual(before);
  });
});
