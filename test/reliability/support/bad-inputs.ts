// The bad inputs of the reliability matrix that reach a process: connection strings, CLI flags, migration
// files, seed files and chunk files. Each is run against a released database and must fail with its own
// message (matched here), a non-zero exit, no password in the output and the database untouched (checked by
// the scenario). Config values, which never reach a process, are in bad-config.ts.
import { cpSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SEEDS_DIR } from "../../../core";
import { chunkLine, type ChunkFileHeader } from "../../../core";
import { runCli, type CliRun } from "../../support/cli";
import { writeMigration } from "../../support/fixtures";
import { writeChunkFile } from "../../seeds/chunk-files";
import { runDriver } from "./driver";
import type { DriverOptions } from "./release-driver";
import { scratchDir } from "../../support/scratch";

export interface BadInputContext {
  /** A superuser login of the released database, with a password the output must never show. */
  url: string;
  withUrl(mutate: (u: URL) => void): string;
  /** A port nothing listens on, and one that accepts connections and never answers. */
  closedPort: number;
  silentPort: number;
  /** An empty dataset of the demo organization (a target for chunk files). */
  emptyDataset: string;
  /** A scratch folder, removed after the matrix. */
  scratch: string;
}

export interface BadInput {
  area: "DSN" | "CLI flags" | "migration files" | "seed files" | "bulk-load files";
  label: string;
  run(ctx: BadInputContext): Promise<CliRun>;
  /** The specific message (on stderr). */
  message: RegExp;
}

const cli = (ctx: BadInputContext, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { DATABASE_URL: ctx.url, ...env });

// ---- migration folders: a copy of the released migrations, changed one way ----

let folders = 0;
function migrationsVariant(ctx: BadInputContext, change: (dir: string) => void): string {
  const dir = path.join(ctx.scratch, `migrations-${++folders}`);
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  change(dir);
  return dir;
}
const applyWith = (ctx: BadInputContext, change: (dir: string) => void) =>
  cli(ctx, ["apply", "--migrations-dir", migrationsVariant(ctx, change)]);
const NEXT = "20990101000100";

// ---- seed folders: a copy of seeds/, the demo set changed one way; applied through the release driver ----

interface SeedFile {
  tables: { table: string; key?: string[]; rows: Record<string, unknown>[] }[];
}
function editSeed(dir: string, file: string, edit: (content: SeedFile) => void): void {
  const full = path.join(dir, "demo", file);
  const content = JSON.parse(readFileSync(full, "utf8")) as SeedFile;
  edit(content);
  writeFileSync(full, JSON.stringify(content, null, 2));
}
function rowOf(content: SeedFile, table: string, index = 0): Record<string, unknown> {
  const row = content.tables.find((t) => t.table === table)?.rows[index];
  if (!row) throw new Error(`the demo seed has no ${table} row ${index}`);
  return row;
}
function applySeedsWith(ctx: BadInputContext, change: (dir: string) => void): Promise<CliRun> {
  const dir = path.join(ctx.scratch, `seeds-${++folders}`);
  cpSync(DEFAULT_SEEDS_DIR, dir, { recursive: true });
  change(dir);
  const options: DriverOptions = { migrationsDir: DEFAULT_MIGRATIONS_DIR, seedsDir: dir, seedSets: ["demo"] };
  return runDriver("apply", options, ctx.url);
}

// ---- chunk files ----

const DEMO_SPACE: ChunkFileHeader["embeddingSpace"] = { id: "demo-space-openai-3-large" };
const DEMO_DIMENSION = 3072;
function chunkFile(ctx: BadInputContext, spec: { dimension?: number; tail?: string[] }): string {
  return writeChunkFile(ctx.scratch, `chunks-${++folders}.ndjson`, {
    dimension: spec.dimension ?? DEMO_DIMENSION,
    documents: 2,
    chunksPerDocument: 3,
    header: { embeddingSpace: DEMO_SPACE },
    prefix: `bad-${folders}`,
    tail: spec.tail,
  }).file;
}
const loadChunks = (ctx: BadInputContext, file: string, dataset: string, ...more: string[]) =>
  cli(ctx, ["load-chunks", "--file", file, "--dataset", dataset, ...more]);

export const BAD_INPUTS: BadInput[] = [
  // ---- connection strings ----
  {
    area: "DSN",
    label: "refused connection",
    run: (ctx) =>
      cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.port = String(ctx.closedPort)))]),
    message: /Cannot connect to PostgreSQL at 127\.0\.0\.1:\d+: connection refused/,
  },
  {
    area: "DSN",
    label: "server that accepts and never answers",
    run: (ctx) =>
      cli(ctx, [
        "apply",
        "--connect-timeout",
        "1",
        "--database-url",
        ctx.withUrl((u) => (u.port = String(ctx.silentPort))),
      ]),
    message: /PostgreSQL at 127\.0\.0\.1:\d+ did not answer within 1 s/,
  },
  {
    area: "DSN",
    label: "wrong password",
    run: (ctx) => cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.password += "-wrong"))]),
    message: /Password authentication failed for user "rel_bad_\w+" at 127\.0\.0\.1:\d+/,
  },
  {
    area: "DSN",
    label: "user that does not exist",
    run: (ctx) => cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.username = "no_such_user"))]),
    message: /Password authentication failed for user "no_such_user"/,
  },
  {
    area: "DSN",
    label: "database that does not exist",
    run: (ctx) => cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.pathname = "/no_such_db"))]),
    message: /Database "no_such_db" does not exist at 127\.0\.0\.1:\d+/,
  },
  {
    area: "DSN",
    label: "URL of another database system",
    run: (ctx) => cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.protocol = "mysql:"))]),
    message: /--database-url must start with postgresql:\/\/ \(got mysql:\/\/\)/,
  },
  {
    area: "DSN",
    label: "URL without a database name",
    run: (ctx) => cli(ctx, ["apply", "--database-url", ctx.withUrl((u) => (u.pathname = "/"))]),
    message: /--database-url names no database/,
  },
  {
    area: "DSN",
    label: "libpq key=value string instead of a URL",
    run: (ctx) => {
      const u = new URL(ctx.url);
      const keywords = `host=127.0.0.1 port=${u.port} user=${u.username} password=${decodeURIComponent(u.password)}`;
      return cli(ctx, ["apply"], { DATABASE_URL: keywords });
    },
    message: /DATABASE_URL is not a valid URL/,
  },
  {
    area: "DSN",
    label: "no URL at all",
    run: (ctx) => cli(ctx, ["apply"], { DATABASE_URL: "" }),
    message: /No database URL given/,
  },

  // ---- CLI flags ----
  {
    area: "CLI flags",
    label: "unknown flag (a typo)",
    run: (ctx) => cli(ctx, ["apply", "--sed", "demo"]),
    message: /Unknown option --sed/,
  },
  {
    area: "CLI flags",
    label: "unknown command",
    run: (ctx) => cli(ctx, ["migrate"]),
    message: /Unknown command "migrate"/,
  },
  {
    area: "CLI flags",
    label: "flag without its value",
    run: (ctx) => cli(ctx, ["apply", "--migrations-dir"]),
    message: /--migrations-dir needs a value/,
  },
  {
    area: "CLI flags",
    label: "lock timeout that is not a number",
    run: (ctx) => cli(ctx, ["apply", "--lock-timeout", "soon"]),
    message: /--lock-timeout takes a whole number of seconds from 1 to 3600, got "soon"/,
  },
  {
    area: "CLI flags",
    label: "negative connect timeout",
    run: (ctx) => cli(ctx, ["apply", "--connect-timeout=-5"]),
    message: /--connect-timeout takes a number of seconds more than 0, from 0\.001 to 86400 .*, got "-5"/,
  },
  {
    area: "CLI flags",
    label: "unknown seed set",
    run: (ctx) => cli(ctx, ["apply", "--seed", "prod-data"]),
    message: /Unknown seed set "prod-data"/,
  },
  {
    area: "CLI flags",
    label: "migrations folder that does not exist",
    run: (ctx) => cli(ctx, ["apply", "--migrations-dir", path.join(ctx.scratch, "no-such-folder")]),
    message: /The migrations folder .*no-such-folder does not exist\.\n {2}fix: Correct --migrations-dir/,
  },
  {
    area: "CLI flags",
    label: "a stray second command",
    run: (ctx) => cli(ctx, ["apply", "verify"]),
    message: /Unexpected argument "verify"/,
  },
  {
    area: "CLI flags",
    label: "load-chunks without --dataset",
    run: (ctx) => cli(ctx, ["load-chunks", "--file", "chunks.ndjson"]),
    message: /load-chunks needs --file and --dataset: --dataset \(the Dataset's id\) is missing/,
  },

  // ---- migration files ----
  {
    area: "migration files",
    label: "malformed file name",
    run: (ctx) => applyWith(ctx, (dir) => writeMigration(dir, "add-plan-column.sql", "SELECT 1;")),
    message: /Migration file name "add-plan-column\.sql" is malformed/,
  },
  {
    area: "migration files",
    label: "a stray non-migration file",
    run: (ctx) => applyWith(ctx, (dir) => writeFileSync(path.join(dir, "NOTES.md"), "# notes\n")),
    message: /Migration file name "NOTES\.md" is malformed/,
  },
  {
    area: "migration files",
    label: "two new migrations with the same timestamp",
    run: (ctx) =>
      applyWith(ctx, (dir) => {
        writeMigration(dir, `${NEXT}_a_table.sql`, "CREATE TABLE rel_a (id int);");
        writeMigration(dir, `${NEXT}_b_table.sql`, "CREATE TABLE rel_b (id int);");
      }),
    message: new RegExp(`"${NEXT}_a_table\\.sql" and "${NEXT}_b_table\\.sql" share the timestamp ${NEXT}`),
  },
  {
    area: "migration files",
    label: "file that is not UTF-8 (Latin-1)",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeFileSync(
          path.join(dir, `${NEXT}_latin1.sql`),
          Buffer.from(
            "-- Up Migration\nCOMMENT ON TABLE \"Brand\" IS 'caf\xe9';\n-- Down Migration\n",
            "latin1",
          ),
        ),
      ),
    message: new RegExp(`Migration "${NEXT}_latin1\\.sql" is not valid UTF-8`),
  },
  {
    area: "migration files",
    label: "a NUL character in a statement",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeFileSync(
          path.join(dir, `${NEXT}_nul.sql`),
          "-- Up Migration\nCREATE TABLE rel_x (id int);\0\n-- Down Migration\nDROP TABLE rel_x;\n",
        ),
      ),
    message: new RegExp(
      `Migration "${NEXT}_nul\\.sql" holds a NUL character \\(\\\\0\\) at line 2, which no SQL statement may hold`,
    ),
  },
  {
    area: "migration files",
    label: "a file saved as UTF-16",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeFileSync(
          path.join(dir, `${NEXT}_utf16.sql`),
          Buffer.from(
            "-- Up Migration\nCREATE TABLE rel_x (id int);\n-- Down Migration\nDROP TABLE rel_x;\n",
            "utf16le",
          ),
        ),
      ),
    message: new RegExp(`Migration "${NEXT}_utf16\\.sql" holds a NUL character [\\s\\S]* save it as UTF-8`),
  },
  {
    area: "migration files",
    label: "a link to a file that is gone",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        symlinkSync(path.join(dir, "no-such-file.sql"), path.join(dir, `${NEXT}_gone.sql`)),
      ),
    message: new RegExp(
      `Migration file "${NEXT}_gone\\.sql" cannot be read \\(ENOENT: a link to a file that is not there\\)`,
    ),
  },
  {
    area: "migration files",
    label: "a file name with a newline",
    run: (ctx) => applyWith(ctx, (dir) => writeFileSync(path.join(dir, `${NEXT}_a\nb.sql`), "SELECT 1;\n")),
    message: new RegExp(`Migration file name "${NEXT}_a\\\\nb\\.sql" is malformed`),
  },
  {
    area: "migration files",
    label: 'no "-- Up Migration" line',
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeFileSync(
          path.join(dir, `${NEXT}_no_up.sql`),
          "CREATE TABLE rel_x (id int);\n-- Down Migration\n",
        ),
      ),
    message: new RegExp(`Migration "${NEXT}_no_up\\.sql" has no "-- Up Migration" line`),
  },
  {
    area: "migration files",
    label: 'no "-- Down Migration" section',
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeFileSync(
          path.join(dir, `${NEXT}_no_down.sql`),
          "-- Up Migration\nCREATE TABLE rel_x (id int);\n",
        ),
      ),
    message: new RegExp(`Migration "${NEXT}_no_down\\.sql" has no "-- Down Migration" section`),
  },
  {
    area: "migration files",
    label: "SQL error after a statement that succeeded",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeMigration(
          dir,
          `${NEXT}_typo.sql`,
          // A type that does not exist: valid SQL, so that the lint lets it through and the server refuses it.
          "CREATE TABLE rel_typo (id int);\nALTER TABLE rel_typo ADD COLUMN name texte;",
        ),
      ),
    message: new RegExp(
      `Migration ${NEXT}_typo\\.sql failed at line 3: type "texte" does not exist\\n.*ADD COLUMN name texte;\\n\\s+\\^`,
    ),
  },
  {
    area: "migration files",
    label: "constraint the existing rows violate",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeMigration(
          dir,
          `${NEXT}_slug_check.sql`,
          `ALTER TABLE "Organization" ADD CONSTRAINT "Organization_slug_check" CHECK ("slug" <> 'demo');`,
        ),
      ),
    message: /check constraint "Organization_slug_check" of relation "Organization" is violated by some row/,
  },
  {
    area: "migration files",
    label: "applied migration edited afterwards",
    run: (ctx) =>
      applyWith(ctx, (dir) => {
        const file = path.join(dir, "20250126000600_brands.sql");
        writeFileSync(file, readFileSync(file, "utf8").replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"));
      }),
    message: /Migration 20250126000600_brands\.sql was changed after it was applied/,
  },
  {
    area: "migration files",
    label: "applied migration deleted",
    run: (ctx) => applyWith(ctx, (dir) => unlinkSync(path.join(dir, "20250126001200_audit_log.sql"))),
    message: /Migration 20250126001200_audit_log\.sql was applied \(.*\) but its file is gone/,
  },
  {
    area: "migration files",
    label: "new migration ordered before applied ones",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        writeMigration(
          dir,
          "20250126000650_brand_tagline.sql",
          'ALTER TABLE "Brand" ADD COLUMN "tagline" text;',
        ),
      ),
    message: /Migration 20250126000650_brand_tagline\.sql is new but ordered before the applied migration/,
  },
  {
    area: "migration files",
    label: "applied migration renamed",
    run: (ctx) =>
      applyWith(ctx, (dir) =>
        renameSync(path.join(dir, "20250126000700_agents.sql"), path.join(dir, `${NEXT}_agents.sql`)),
      ),
    message: /Migration 20250126000700_agents\.sql was applied \(.*\) but its file is gone/,
  },

  // ---- seed files (the demo set, changed in a copy) ----
  {
    area: "seed files",
    label: "broken JSON",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        writeFileSync(path.join(dir, "demo", "30-agents.json"), '{ "tables": [ { "table": '),
      ),
    message: /Seed set "demo", file 30-agents\.json: not valid JSON/,
  },
  {
    area: "seed files",
    label: "unknown column",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) => editSeed(dir, "20-brand.json", (c) => (rowOf(c, "Brand").colour = "red"))),
    message:
      /Seed set "demo" does not fit the schema: table "Brand" has no column "colour" \(file 20-brand\.json\)/,
  },
  {
    area: "seed files",
    label: "unknown table",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "30-agents.json", (c) => c.tables.push({ table: "Agents", rows: [{ id: "x" }] })),
      ),
    message: /Seed set "demo" does not fit the schema: table "Agents" does not exist/,
  },
  {
    area: "seed files",
    label: "embedding of the wrong dimension",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "50-knowledge.json", (c) => (rowOf(c, "Chunk").embedding = "[0.1,0.2,0.3]")),
      ),
    message: /Seed set "demo" failed writing table "Chunk".*3 dimensions.*3072/s,
  },
  {
    area: "seed files",
    label: "embedding space whose dimension changes",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "20-brand.json", (c) => (rowOf(c, "EmbeddingSpace").dimension = 1536)),
      ),
    message: /the dimension of embedding space "demo-space-openai-3-large" cannot change from 3072 to 1536/,
  },
  {
    area: "seed files",
    label: "the same row twice",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "30-agents.json", (c) => c.tables[0]!.rows.push({ ...c.tables[0]!.rows[0]! })),
      ),
    message:
      /Seed set "demo", file 30-agents\.json, table "\w+", row \d+: \w+ [\w-]+ is already seeded by file 30-agents\.json, row 1/,
  },
  {
    area: "seed files",
    label: "row without its key column",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "10-organization.json", (c) => delete rowOf(c, "Organization").id),
      ),
    message:
      /Seed set "demo", file 10-organization\.json, table "Organization", row 1: key column "id" must be a string or a number/,
  },
  {
    area: "seed files",
    label: "a $vector in a row without an embedding space",
    run: (ctx) =>
      applySeedsWith(ctx, (dir) =>
        editSeed(dir, "50-knowledge.json", (c) => delete rowOf(c, "Chunk").embeddingSpaceId),
      ),
    message: /a "\$vector" needs the row's "embeddingSpaceId" to name an EmbeddingSpace row/,
  },

  // ---- chunk files (neonhub-db load-chunks) ----
  {
    area: "bulk-load files",
    label: "file that does not exist",
    run: (ctx) => loadChunks(ctx, path.join(ctx.scratch, "missing.ndjson"), ctx.emptyDataset),
    message: /Cannot read the chunk file .*missing\.ndjson: ENOENT/,
  },
  {
    area: "bulk-load files",
    label: "a directory given as the chunk file",
    run: (ctx) => loadChunks(ctx, ctx.scratch, ctx.emptyDataset),
    message: /The chunk file .* is a directory/,
  },
  {
    area: "bulk-load files",
    label: "dataset that does not exist",
    run: (ctx) => loadChunks(ctx, chunkFile(ctx, {}), "no-such-dataset"),
    message: /Dataset "no-such-dataset" does not exist in this database/,
  },
  {
    area: "bulk-load files",
    label: "embeddings of another dimension than the space's",
    run: (ctx) => loadChunks(ctx, chunkFile(ctx, { dimension: 8 }), ctx.emptyDataset),
    message: /the embeddings have 8 dimensions, but embedding space "demo-space-openai-3-large" has 3072/,
  },
  {
    area: "bulk-load files",
    label: "dataset that already has chunks, without --replace",
    run: (ctx) => loadChunks(ctx, chunkFile(ctx, {}), "demo-dataset"),
    message: /Dataset "demo-dataset" already has \d+ chunks; loading would mix two versions of it/,
  },
  {
    area: "bulk-load files",
    label: "broken line after six good chunks",
    run: (ctx) =>
      loadChunks(ctx, chunkFile(ctx, { tail: ['{"type":"chunk","documentId":\n'] }), ctx.emptyDataset),
    message: /chunks-\d+\.ndjson, line 10: not valid JSON/,
  },
  {
    area: "bulk-load files",
    label: "one embedding of the wrong length among good ones",
    run: (ctx) =>
      loadChunks(
        ctx,
        chunkFile(ctx, {
          tail: [
            chunkLine({
              documentId: `bad-${folders + 1}-doc-0`,
              idx: 99,
              text: "short",
              embedding: new Float32Array(4),
            }),
          ],
        }),
        ctx.emptyDataset,
      ),
    message: /chunks-\d+\.ndjson, line 10: .*4 .*3072|line 10: .*3072.*4/,
  },
  {
    area: "bulk-load files",
    label: "a misspelt field among good chunks",
    run: (ctx) =>
      loadChunks(
        ctx,
        chunkFile(ctx, {
          tail: [
            chunkLine({
              documentId: `bad-${folders + 1}-doc-0`,
              idx: 99,
              text: "misspelt",
              embedding: new Float32Array(DEMO_DIMENSION).fill(0.5),
              metadata: { source: "typo" },
            }).replace('"metadata"', '"metdata"'),
          ],
        }),
        ctx.emptyDataset,
      ),
    message:
      /chunks-\d+\.ndjson, line 10: unknown field "metdata" \(a chunk line has "type", "id", "documentId"/,
  },
  {
    area: "bulk-load files",
    label: "an embedding that is not base64, of the wrong length",
    run: (ctx) =>
      loadChunks(
        ctx,
        chunkFile(ctx, {
          tail: [
            `${JSON.stringify({ type: "chunk", documentId: `bad-${folders + 1}-doc-0`, idx: 99, text: "x", embedding: "!!!notbase64" })}\n`,
          ],
        }),
        ctx.emptyDataset,
      ),
    message: /chunks-\d+\.ndjson, line 10: "embedding" is not valid base64 \("!" at character 1\)/,
  },
  {
    area: "bulk-load files",
    label: "a header naming the embedding space twice",
    run: (ctx) => {
      const file = path.join(ctx.scratch, `chunks-${++folders}.ndjson`);
      writeFileSync(
        file,
        `${JSON.stringify({ format: "neonhub-chunks", version: 1, dimension: DEMO_DIMENSION, embeddingSpaceId: DEMO_SPACE.id, embeddingSpace: { provider: "openai", model: "text-embedding-3-large" } })}\n`,
      );
      return loadChunks(ctx, file, ctx.emptyDataset);
    },
    message:
      /line 1: header: names the embedding space twice, by "embeddingSpaceId" and by "embeddingSpace": keep one of them/,
  },
  {
    area: "bulk-load files",
    label: "a header with more dimensions than an embedding space can have",
    run: (ctx) => {
      const file = path.join(ctx.scratch, `chunks-${++folders}.ndjson`);
      writeFileSync(
        file,
        `${JSON.stringify({ format: "neonhub-chunks", version: 1, dimension: 5000, embeddingSpaceId: DEMO_SPACE.id })}\n`,
      );
      return loadChunks(ctx, file, ctx.emptyDataset);
    },
    message:
      /line 1: header: "dimension" must be an integer from 1 to 4000, the most dimensions an embedding space has \(got 5000\)/,
  },
];

/** A scratch folder for the matrix's files. */
export function scratchFolder(): { dir: string; remove: () => void } {
  const dir = scratchDir("neonhub-bad-input-");
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
