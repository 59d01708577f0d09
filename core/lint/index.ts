// The migration safety lint: squawk's findings on pending migrations, weighed with the live database. A
// rewrite, a blocking index build or a data-destroying statement on a table that holds data is an error on
// a production stack (a warning elsewhere) unless the statement carries a reasoned exemption; the same on a
// table the release creates, or an empty one, is noise and is left out.
import type { ClientBase } from "pg";
import { ReleaseError } from "../errors";
import type { MigrationFile } from "../migrations/files";
import { DEFAULT_RELEASE_ENVIRONMENT, type ReleaseEnvironment } from "./environment";
import { EXEMPTION_SYNTAX, parseExemptions } from "./exemptions";
import { ruleInfo } from "./rules";
import { runSquawk, type SquawkFinding } from "./squawk";
import {
  canonicalName,
  createdTable,
  lineOf,
  offsetOf,
  splitStatements,
  statementTarget,
  type Statement,
} from "./statements";
import { describeSize, weighTable, type TableWeight } from "./weigh";

export interface SafetyFinding {
  /** error: plan fails (production); warning: shown; exempted: accepted by a reasoned comment, shown. */
  level: "error" | "warning" | "exempted";
  file: string;
  line: number;
  rule: string;
  /** The table as the catalog names it, or as written when the database does not have it. */
  table: string | null;
  /** Rows and size, e.g. "~120,000 rows, 48 MB". */
  tableSize: string | null;
  lock: string;
  problem: string;
  saferForm: string;
  /** The reason of the exemption that accepts it. */
  exemption?: string;
}

export interface SafetyReport {
  environment: ReleaseEnvironment;
  /** squawk's findings before weighing (those left out were on new or empty tables). */
  checked: number;
  findings: SafetyFinding[];
  errors: number;
}

export { RELEASE_ENVIRONMENTS, parseReleaseEnvironment, type ReleaseEnvironment } from "./environment";
export { EXEMPTION_SYNTAX } from "./exemptions";

interface Located {
  file: MigrationFile;
  statement: Statement | undefined;
}

/** Lints `pending` (in order) against the database `client` is connected to. Read-only. */
export async function lintMigrations(
  client: ClientBase,
  pending: readonly MigrationFile[],
  options: { environment?: ReleaseEnvironment; pgVersion?: string } = {},
): Promise<SafetyReport> {
  const environment = options.environment ?? DEFAULT_RELEASE_ENVIRONMENT;
  if (pending.length === 0) return { environment, checked: 0, findings: [], errors: 0 };
  const raw = await runSquawk(pending, { pgVersion: options.pgVersion ?? (await serverVersion(client)) });
  const statements = new Map(pending.map((file) => [file.name, splitStatements(file.sql)]));
  // A table a pending migration creates is new when this migration runs (or was created by it).
  const createdBefore = new Map<string, Set<string>>();
  const created = new Set<string>();
  for (const file of pending) {
    for (const statement of statements.get(file.name) ?? []) {
      const table = createdTable(statement);
      if (table) created.add(canonicalName(table));
    }
    createdBefore.set(file.name, new Set(created));
  }
  const weights = new Map<string, TableWeight | undefined>();
  const weigh = async (name: string, kind: "table" | "index") => {
    const key = `${kind}:${name}`;
    if (!weights.has(key)) weights.set(key, await weighTable(client, name, kind));
    return weights.get(key);
  };

  const findings: SafetyFinding[] = [];
  for (const finding of raw) {
    const file = pending.find((f) => f.name === finding.migration);
    if (!file) continue;
    const located: Located = {
      file,
      statement: statementAt(
        statements.get(file.name) ?? [],
        offsetOf(file.sql, finding.line, finding.column),
      ),
    };
    const weighed = await weighFinding(finding, located, createdBefore.get(file.name) ?? new Set(), weigh);
    if (!weighed) continue;
    const exemption = parseExemptions(located.statement?.comments ?? []).find((e) => e.rule === finding.rule);
    if (exemption?.reason) {
      findings.push({ ...weighed, level: "exempted", exemption: exemption.reason });
      continue;
    }
    const blocksApp = ruleInfo(finding.rule).kind !== "compatibility" && weighed.tableSize !== null;
    findings.push({ ...weighed, level: environment === "production" && blocksApp ? "error" : "warning" });
  }
  findings.push(...exemptionProblems(pending, statements));
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
  return {
    environment,
    checked: raw.length,
    findings,
    errors: findings.filter((f) => f.level === "error").length,
  };
}

/** The server's version as squawk takes it ("15.20"), so that its rules fit the server that will run them. */
async function serverVersion(client: ClientBase): Promise<string | undefined> {
  const result = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  return /^\d+(?:\.\d+)?/.exec(result.rows[0]?.v ?? "")?.[0];
}

/**
 * The one decision on a lint report: its errors stop the release. plan reports them and exits 1; apply calls
 * this under the release lock, before it writes anything (not even the ledger), so that it refuses what plan
 * refuses and nothing is half-applied.
 */
export function refuseUnsafeMigrations(report: SafetyReport): void {
  const errors = report.findings.filter((f) => f.level === "error");
  if (errors.length === 0) return;
  throw new ReleaseError(
    "unsafe-migration",
    `The pending migrations fail the safety lint (${report.environment}); nothing was applied:\n${errors.map((f) => `- ${describeFinding(f)}`).join("\n")}`,
    `Use the safer form, or accept the finding in the migration with \`${EXEMPTION_SYNTAX}\` before the statement (docs/runbook.md).`,
  );
}

/** One finding as one line, for a preview's output and its failure. */
export function describeFinding(f: SafetyFinding): string {
  const table = f.table ? ` on ${f.table}${f.tableSize ? ` (${f.tableSize})` : ""}` : "";
  const head = `${f.level}: ${f.file}:${f.line} ${f.rule}${table}: ${f.problem}`;
  if (f.level === "exempted") return `${head} Accepted: ${f.exemption}`;
  return `${head} Lock: ${f.lock}. Safer: ${f.saferForm}.`;
}

function statementAt(statements: readonly Statement[], offset: number): Statement | undefined {
  return statements.find((s) => offset >= s.start && offset < s.end) ?? statements.at(-1);
}

/** The finding with its table's weight, or undefined when it is noise (a new or empty table). */
async function weighFinding(
  finding: SquawkFinding,
  { file, statement }: Located,
  created: ReadonlySet<string>,
  weigh: (name: string, kind: "table" | "index") => Promise<TableWeight | undefined>,
): Promise<Omit<SafetyFinding, "level"> | undefined> {
  const info = ruleInfo(finding.rule);
  const target = statement ? statementTarget(statement) : undefined;
  const base = {
    file: `${file.name}.sql`,
    line: statement ? firstCodeLine(file.sql, statement) : finding.line,
    rule: finding.rule,
    lock: info.lock,
    problem: finding.message,
    saferForm: info.saferForm,
  };
  // A statement that creates its table concerns no data yet.
  if (statement && createdTable(statement)) return undefined;
  if (!target) return { ...base, table: null, tableSize: null };
  if (target.kind === "table" && created.has(canonicalName(target.name))) return undefined;
  const weight = await weigh(target.name, target.kind);
  if (!weight) {
    // An index the release creates, or a table it does not know: nothing to weigh, nothing to hold up.
    return undefined;
  }
  if (!weight.hasData) return undefined;
  return { ...base, table: weight.table, tableSize: describeSize(weight) };
}

/** The line where the statement's code starts (after its leading comments). */
function firstCodeLine(sql: string, statement: Statement): number {
  const leading = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(sql.slice(statement.start, statement.end));
  return lineOf(sql, statement.start + (leading?.[0].length ?? 0));
}

/** Exemptions without a reason: an error wherever they are. */
function exemptionProblems(
  pending: readonly MigrationFile[],
  statements: ReadonlyMap<string, Statement[]>,
): SafetyFinding[] {
  const problems: SafetyFinding[] = [];
  for (const file of pending) {
    for (const statement of statements.get(file.name) ?? []) {
      for (const exemption of parseExemptions(statement.comments)) {
        if (exemption.reason) continue;
        const at = file.sql.indexOf(exemption.comment, statement.start);
        problems.push({
          level: "error",
          file: `${file.name}.sql`,
          line: lineOf(file.sql, at < 0 ? statement.start : at),
          rule: "neonhub-db:allow",
          table: null,
          tableSize: null,
          lock: "-",
          problem: `The exemption for ${exemption.rule} gives no reason.`,
          saferForm: `Say why it is safe: ${EXEMPTION_SYNTAX}`,
        });
      }
    }
  }
  return problems;
}
