// Runs squawk (the pinned squawk-cli package, whose platform package ships the binary) over sections of
// migration files. Offline, no configuration file: the rules and the PostgreSQL version come from here.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ReleaseError } from "../errors";
import { migrationSection, type MigrationFile } from "../migrations/files";
import { EXCLUDED_RULES } from "./rules";

/** A text for squawk: one section of a migration file (sectionOnly), named by a plain file name. */
export interface SquawkSource {
  /** Unique among the sources of a run, and a file name without .sql. */
  id: string;
  text: string;
}

export interface SquawkFinding {
  /** The id of the source it is in. */
  source: string;
  /** 1-based line and column in the file. */
  line: number;
  column: number;
  rule: string;
  message: string;
  help: string | null;
}

interface SquawkJson {
  file: string;
  line: number;
  column: number;
  rule_name: string;
  message: string;
  help: string | null;
}

const run = promisify(execFile);

function squawkBinary(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const squawk = require("squawk-cli/js/index.js") as { getBinaryPath: () => string };
  try {
    return squawk.getBinaryPath();
  } catch (error) {
    throw new ReleaseError(
      "invalid-input",
      `The migration safety lint needs squawk, which is not installed here: ${(error as Error).message}`,
      "Run `npm ci` (with optional dependencies: squawk's binary comes in a platform package).",
      { cause: error },
    );
  }
}

/** Only one section, with everything else blanked line for line, so squawk's lines are the file's. */
export function sectionOnly(file: MigrationFile, section: "up" | "down"): string {
  const { offset: start, text } = migrationSection(file.sql, section);
  const end = start + text.length;
  const blank = (text: string) => text.replace(/[^\n]/g, "");
  return blank(file.sql.slice(0, start)) + file.sql.slice(start, end) + blank(file.sql.slice(end));
}

export async function runSquawk(
  sources: readonly SquawkSource[],
  options: { pgVersion?: string } = {},
): Promise<SquawkFinding[]> {
  if (sources.length === 0) return [];
  const dir = mkdtempSync(path.join(tmpdir(), "neonhub-db-lint-"));
  try {
    const paths = sources.map((source) => {
      const target = path.join(dir, `${source.id}.sql`);
      writeFileSync(target, source.text);
      return target;
    });
    const args = [
      "--reporter",
      "json",
      "--assume-in-transaction",
      `--exclude=${EXCLUDED_RULES.join(",")}`,
      ...(options.pgVersion ? [`--pg-version=${options.pgVersion}`] : []),
      ...paths,
    ];
    // squawk exits 1 when it found something: that is its answer, not a failure.
    const output = await run(squawkBinary(), args, { maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { code?: unknown; stdout?: string; stderr?: string }) => {
        if (error.code === 1 && typeof error.stdout === "string" && error.stdout.trim().startsWith("[")) {
          return { stdout: error.stdout };
        }
        throw new ReleaseError(
          "invalid-input",
          `squawk could not lint the migrations: ${(error.stderr ?? String(error)).trim()}`,
          "A statement squawk cannot parse is also a statement PostgreSQL may refuse: check the file's SQL.",
        );
      },
    );
    const raw = JSON.parse(output.stdout.trim() || "[]") as SquawkJson[];
    return raw.map((finding) => ({
      source: path.basename(finding.file, ".sql"),
      // squawk counts lines and columns from 0.
      line: finding.line + 1,
      column: finding.column + 1,
      rule: finding.rule_name,
      message: finding.message,
      help: finding.help,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
