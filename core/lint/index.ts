// The migration safety lint: squawk's findings on pending migrations, weighed with the live database. A
// rewrite, a blocking index build or a data-destroying statement on a table that holds data is an error on
// a production stack (a warning elsewhere) unless the statement carries a reasoned exemption; the same on a
// table the release creates, or an empty one, is noise and is left out. One whose table the lint cannot find
// is weighed as one on a table with data, and says so: a blocking statement passes only where the lint knows
// it costs nothing. What squawk does not report (unflagged.ts, and a backfill under a lock its migration took:
// held-locks.ts), the lint does. A statement PostgreSQL cannot
// run as written (a syntax error, one that cannot run in a transaction), transaction control that would end the
// migration's transaction part way (transaction-control.ts) and a malformed exemption are errors on
// every stack and on any table, and no exemption accepts them. A statement squawk's parser cannot read is put
// to the server's own parser first (unreadable.ts): one the server parses is not a syntax error but a warning
// that the lint could not check it. plan and apply lint the pending migrations' Down sections too, since revert
// runs them on the tables as they are then: what they cannot run is an error like the Up section's (refused
// before the migration is applied, while the file may still change), what they block a warning that plan shows
// and apply leaves out (apply never runs them), and what they destroy is revert's to show (its preview lists
// it). revert lints the Down sections it runs (`runs: "down"`), and judges them as apply judges its Up sections.
import type { ClientBase } from "pg";
import { countText } from "../count-format";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import type { MigrationFile } from "../migrations/files";
import { DEFAULT_RELEASE_ENVIRONMENT, type ReleaseEnvironment } from "./environment";
import { EXEMPTION_SYNTAX, exemptionProblem, knownRules, parseExemptions } from "./exemptions";
import { BACKFILL_UNDER_LOCK_RULE, backfillsUnderLock } from "./held-locks";
import { notNullProof, readPendingChecks, setNotNullColumn } from "./not-null-proof";
import { accessMethodNamed, changesAccessMethod, liveAccessMethod } from "./access-method";
import { rewritingColumn } from "./added-column";
import { changesWhatDefaultsCall, storedDefault } from "./stored-default";
import { statementsRun, textWithBlocksRead, type UnreadBody } from "./statements-run";
import { atTheirCalls, callsElsewhere, withDefinitionsAppended, type AppendedLines } from "./calls-elsewhere";
import {
  ACCESS_METHOD_RULE,
  EXEMPTION_RULE,
  NOT_NULL_RULE,
  SYNTAX_ERROR_RULE,
  TRANSACTION_BLOCK_RULE,
  TRANSACTION_CONTROL_RULE,
  TYPE_CHANGE_RULE,
  UNCHECKED_DO_BLOCK_RULE,
  UNCHECKED_STATEMENT_RULE,
  accessMethodUnchanged,
  ADDED_DEFAULT_RULE,
  storedOnceDefault,
  movingAllInTablespace,
  provenNotNull,
  rewriteFreeTypeChange,
  sameConstraintFinding,
  ruleInfo,
  ruleJudges,
  type RuleKind,
} from "./rules";
import type { ServerParse } from "./server-parse";
import { sectionOnly, type SquawkFinding } from "./squawk";
import {
  alterMaterializedViewAction,
  alterTableAction,
  alterTableActions,
  canonicalName,
  createdIndex,
  createdTable,
  lineOf,
  offsetOf,
  positionOf,
  splitStatements,
  statementAt,
  statementPartAt,
  statementTargets,
  tablesGivenRows,
  tablespaceMove,
  withoutStatements,
  type Statement,
  type StatementPart,
  type StatementTarget,
} from "./statements";
import { describeSyntaxError, withLiteralMasked } from "./syntax-errors";
import { outsideTransaction } from "./transaction-block";
import { TRANSACTION_CONTROL_FIX, transactionControls } from "./transaction-control";
import { judgeTypeChange, typeChange, type TypeChangeVerdict } from "./type-change";
import { readWithServerParser, type UnreadStatement } from "./unreadable";
import { unflaggedFindings } from "./unflagged";
import { describeSize, weighTable, type TableWeight } from "./weigh";

/** A migration's sections: apply runs the Up section, revert the Down section. */
export type MigrationSection = "up" | "down";

/** The sections the lint reads, by the section the command runs: plan and apply read the Down sections of the
 *  pending migrations for review; revert reads only the Down sections it runs, their Up sections having run. */
const SECTIONS_READ: Record<MigrationSection, readonly MigrationSection[]> = {
  up: ["up", "down"],
  down: ["down"],
};

/** The command that runs a section, for what would stop it. */
const RUN_BY: Record<MigrationSection, "apply" | "revert"> = { up: "apply", down: "revert" };

export interface SafetyFinding {
  /**
   * error: plan fails (an Up section's blocking statement on a table with data in production; everywhere, a
   * statement that cannot run and a malformed exemption); warning: shown; exempted: accepted by a reasoned
   * comment, shown.
   */
  level: "error" | "warning" | "exempted";
  file: string;
  line: number;
  /** The section the statement is in. */
  section: MigrationSection;
  rule: string;
  /** The table as the catalog names it, or as written when the database does not have it. */
  table: string | null;
  /** Rows and size, e.g. "~120,000 rows, 48 MB". */
  tableSize: string | null;
  /** The lock the statement takes; null when the finding is not about a lock (a statement that cannot run, an exemption). */
  lock: string | null;
  problem: string;
  /** What to write instead; for a finding without a lock, what to do about it. */
  saferForm: string;
  /** Whether a `neonhub-db:allow` comment may accept it: squawk's weighed findings, not what must be corrected. */
  exemptable: boolean;
  /** squawk's own text, when the problem says it in other words (a syntax error's "expected NULL_KW", or
   *  what squawk's parser said of a statement the server's parser reads). */
  detail?: string;
  /** The reason of the exemption that accepts it. */
  exemption?: string;
}

export interface SafetyReport {
  environment: ReleaseEnvironment;
  /** The section the command runs, whose blocking findings are judged by environment: plan and apply run the
   *  Up sections ("up"), revert the Down sections ("down"). */
  runs: MigrationSection;
  /** squawk's findings before weighing (those left out were on new or empty tables). */
  checked: number;
  findings: SafetyFinding[];
  errors: number;
}

export { RELEASE_ENVIRONMENTS, parseReleaseEnvironment, type ReleaseEnvironment } from "./environment";
export { EXEMPTION_SYNTAX } from "./exemptions";
export { EXEMPTABLE_RULES, UNFLAGGED_RULES } from "./rules";
export { serverParse, type ServerParse } from "./server-parse";
export { columnsProvenNotNull } from "./not-null-proof";

/** A section of a pending migration as the lint reads it. */
interface LintedFile {
  file: MigrationFile;
  section: MigrationSection;
  /** The section, the rest of the file blanked line for line (lines are the file's). */
  text: string;
  /** The statements as they run: a DO block's SQL commands in its place (do-blocks.ts). */
  statements: Statement[];
  /** The statements as written: a DO block one statement. */
  written: Statement[];
  /** `text` as squawk reads it: each DO block's commands in their places, the rest of the block blanked. */
  squawkText: string;
  /** What of its DO blocks cannot be read. */
  unread: UnreadBody[];
}

/** What the pending migrations create, as the lint reads their Up sections. */
interface Creations {
  /** The CREATE TABLE statements that create their table: not an IF NOT EXISTS of one the database has. */
  statements: Set<Statement>;
  /** Per migration, the tables (canonical names) that exist once its Up section ran. */
  tablesBefore: Map<string, Set<string>>;
  /** Per migration, the indexes its Up section and those before it create (canonical names), each with the
   *  table it is on (as written): what a DROP INDEX or REINDEX INDEX of one locks, and is weighed with. */
  indexesBefore: Map<string, Map<string, string>>;
}

type Weigh = (name: string, kind: "table" | "index") => Promise<TableWeight | undefined>;
/** The validated CHECK that proves a column NOT NULL when `statement` runs (not-null-proof.ts), if any. */
type ProveNotNull = (table: string, column: string, statement: Statement) => Promise<string | undefined>;
/** Whether an Up section's ALTER COLUMN ... TYPE (`action` of `statement`) changes the catalog alone (type-change.ts). */
type JudgeTypeChange = (
  table: string,
  action: string,
  statement: Statement,
) => Promise<TypeChangeVerdict | undefined>;

/** Whether an Up section's SET ACCESS METHOD names the access method its relation already has, as the live
 *  catalog shows it where no earlier pending statement may change one (access-method.ts); the method if so. */
type SameAccessMethod = (
  relation: string,
  named: string,
  statement: Statement,
) => Promise<string | undefined>;

/** Where an earlier statement of the sections that run may add rows to one of `tables` (canonical names) before
 *  `statement` runs (`<file>.sql:<line>`, with its section when Down), if one does. */
type GivenRowsBefore = (tables: readonly string[], statement: Statement) => string | undefined;

/** What the live catalog says of a finding's statement, beyond its table's weight. */
interface CatalogProofs {
  /** The section the command runs: the live catalog is what it finds (a Down section plan reads runs after its
   *  Up section changed the tables, so the catalog proves nothing of it). */
  runs: MigrationSection;
  proveNotNull: ProveNotNull;
  judgeTypeChange: JudgeTypeChange;
  sameAccessMethod: SameAccessMethod;
  /** The functions an ADD COLUMN's DEFAULT calls when the live catalog shows PostgreSQL stores it once, where no
   *  earlier statement that runs may change what it calls (stored-default.ts). */
  storedDefault: (action: string, statement: Statement) => Promise<string[] | undefined>;
  /** A table empty now is not empty when the statement runs if an earlier one gave it rows (revert's Down
   *  sections putting back what their Up sections moved out, a pending Up section's INSERT). */
  givenRowsBefore: GivenRowsBefore;
}

/** squawk's name for a section (a file name): the migration's own for its Up section. */
const sourceId = (name: string, section: MigrationSection) => (section === "up" ? name : `${name}.down`);

interface Located {
  linted: LintedFile;
  statement: Statement | undefined;
  /** Where squawk points, as an offset in the file. */
  offset: number;
}

/**
 * Lints `pending` (in the order their `runs` sections run: apply's oldest first, revert's newest first) against
 * the database `client` is connected to. Read-only.
 */
export async function lintMigrations(
  client: ClientBase,
  pending: readonly MigrationFile[],
  options: LintOptions = {},
): Promise<SafetyReport> {
  const runs = options.runs ?? "up";
  const calls = await callsElsewhere(
    client,
    pending.map((file) => ({ file: file.name, text: sectionOnly(file, runs) })),
  );
  if (calls.length === 0) return lintSections(client, pending, options);
  // The functions the sections that run call but do not define, linted as if each section defined them.
  const appendedTo = new Map<string, AppendedLines>();
  const files = pending.map((file) => {
    const called = calls.find((c) => c.file === file.name);
    const appended = called && withDefinitionsAppended(file, runs, called);
    if (!appended) return file;
    appendedTo.set(file.name, appended.appended);
    return appended.file;
  });
  return atTheirCalls(await lintSections(client, files, options), appendedTo);
}

interface LintOptions {
  environment?: ReleaseEnvironment;
  pgVersion?: string;
  runs?: MigrationSection;
}

async function lintSections(
  client: ClientBase,
  pending: readonly MigrationFile[],
  options: LintOptions,
): Promise<SafetyReport> {
  const environment = options.environment ?? DEFAULT_RELEASE_ENVIRONMENT;
  const runs = options.runs ?? "up";
  if (pending.length === 0) return { environment, runs, checked: 0, findings: [], errors: 0 };
  const linted = new Map(
    pending.flatMap((file) =>
      SECTIONS_READ[runs].map((section): [string, LintedFile] => {
        const text = sectionOnly(file, section);
        const written = splitStatements(text);
        const run = statementsRun(written);
        const squawkText = textWithBlocksRead(text, written, run);
        const read = {
          file,
          section,
          text,
          statements: run.statements,
          written,
          squawkText,
          unread: run.unread,
        };
        return [sourceId(file.name, section), read];
      }),
    ),
  );
  const weights = new Map<string, TableWeight | undefined>();
  const weigh: Weigh = async (name, kind) => {
    const key = `${kind}:${name}`;
    if (!weights.has(key)) weights.set(key, await weighTable(client, name, kind));
    return weights.get(key);
  };
  const running = [...linted.values()].filter((l) => l.section === runs);
  const creations = await readCreations(linted.values(), runs, weigh);
  const pendingChecks = readPendingChecks(running.map((l) => l.statements));
  const proveNotNull: ProveNotNull = (table, column, statement) =>
    notNullProof(client, table, column, pendingChecks.get(statement));
  // The statements of the sections that run, in the order they run: what runs before a statement.
  const runStatements = running.flatMap((l) => l.statements);
  const judgeType: JudgeTypeChange = async (table, action, statement) => {
    const change = typeChange(action);
    if (!change) return undefined;
    const earlier = runStatements.slice(0, Math.max(0, runStatements.indexOf(statement)));
    return judgeTypeChange(client, table, change, earlier);
  };
  const givenRowsBefore: GivenRowsBefore = (tables, statement) => {
    const before = runStatements.slice(0, Math.max(0, runStatements.indexOf(statement)));
    const writer = before.find((s) => tablesGivenRows(s).some((t) => tables.includes(t)));
    const section = writer && running.find((l) => l.statements.includes(writer));
    if (!writer || !section) return undefined;
    const where = `${section.file.name}.sql:${firstCodeLine(section.text, writer)}`;
    return section.section === "down" ? `${where} (Down section)` : where;
  };
  const sameAccessMethod: SameAccessMethod = async (relation, named, statement) => {
    if (changesAccessMethod(runStatements.slice(0, Math.max(0, runStatements.indexOf(statement))))) return;
    const live = await liveAccessMethod(client, relation);
    return live === named ? live : undefined;
  };
  const storedDefaultOf = async (action: string, statement: Statement) =>
    changesWhatDefaultsCall(runStatements.slice(0, Math.max(0, runStatements.indexOf(statement))))
      ? undefined
      : storedDefault(client, action);
  // squawk takes a table created earlier in the file for a new one, and reports nothing on it: a CREATE TABLE
  // IF NOT EXISTS of a table the database has creates nothing, so squawk does not see it.
  const reading = await readWithServerParser(
    client,
    [...linted].map(([id, { squawkText, statements }]) => ({
      id,
      text: withoutStatements(
        squawkText,
        statements.filter((s) => createdTable(s) && !creations.statements.has(s)),
      ),
      statements,
    })),
    { pgVersion: options.pgVersion ?? (await serverVersion(client)) },
  );
  const raw = [...reading.findings, ...lintOwnFindings(linted, reading.findings)].filter((f) => {
    const name = linted.get(f.source)?.file.name;
    return name === undefined || ruleJudges(f.rule, name);
  });

  const findings: SafetyFinding[] = [];
  // The rules squawk reported on each statement, before weighing: what its exemptions may match.
  const reported = new Map<Statement, Set<string>>();
  const located = raw.flatMap((finding) => {
    const file = linted.get(finding.source);
    if (!file) return [];
    // Where squawk points in the text it read (the same offset in the file).
    const read = reading.texts.get(finding.source) ?? file.text;
    const offset = offsetOf(read, finding.line, finding.column);
    const statement = statementAt(file.statements, offset);
    // The ALTER TABLE action it points at, by where it starts in the file.
    const action = statement && alterTableActions(statement).find((a) => actionHolds(a, offset))?.offset;
    return [{ finding, file, read, offset, statement, action }];
  });
  for (const { finding, file, read, offset, statement, action } of located) {
    // Two rules that say the same of one ADD CONSTRAINT are one finding, under the rule of the constraint's
    // kind, which an exemption naming either accepts (rules.ts, sameConstraintFinding).
    const onAction = located.filter(
      (o) => action !== undefined && o.file === file && o.action === action && o.finding !== finding,
    );
    const alsoAccepted = onAction
      .filter((o) => sameConstraintFinding(o.finding.rule, finding.rule))
      .map((o) => o.finding.rule);
    if (onAction.some((o) => sameConstraintFinding(finding.rule, o.finding.rule))) {
      // Weighed and judged under the other rule; still what an exemption of its statement may name.
    } else if (finding.rule === SYNTAX_ERROR_RULE) {
      // A statement's first syntax error is where squawk's parser lost it; the ones after are its recovery.
      if (statement && reported.get(statement)?.has(SYNTAX_ERROR_RULE)) continue;
      const server = statement && reading.unreadable.get(statement)?.server;
      if (server?.verdict === "parses") continue;
      findings.push(syntaxErrorFinding(file, read, finding, server));
    } else {
      const weighed = await weighFinding(finding, { linted: file, statement, offset }, creations, weigh, {
        runs,
        proveNotNull,
        judgeTypeChange: judgeType,
        sameAccessMethod,
        storedDefault: storedDefaultOf,
        givenRowsBefore,
      });
      for (const one of weighed) findings.push(judged(one, statement, { environment, runs }, alsoAccepted));
    }
    if (statement) reported.set(statement, (reported.get(statement) ?? new Set()).add(finding.rule));
  }
  // What squawk's parser could not read and the server's parser can: none of squawk's rules was checked on it.
  const unchecked = [...reading.unreadable.values()].filter((u) => u.server.verdict === "parses");
  for (const unread of unchecked) findings.push(uncheckedFinding(linted.get(unread.source)!, unread));
  for (const file of linted.values()) {
    if (!ruleJudges(UNCHECKED_DO_BLOCK_RULE, file.file.name)) continue;
    findings.push(...file.unread.map((unread) => uncheckedBlockFinding(file, unread)));
  }
  const known = knownRules(raw.map((f) => f.rule));
  const uncheckedStatements = new Set(unchecked.map((u) => u.statement));
  for (const file of linted.values()) {
    findings.push(
      ...transactionBlockFindings(file),
      ...exemptionFindings(file, reported, known, uncheckedStatements),
    );
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
  return {
    environment,
    runs,
    checked: raw.length,
    findings,
    errors: findings.filter((f) => f.level === "error").length,
  };
}

/** A squawk finding weighed: whether its table holds data (or could not be found, and so may), and what kind
 *  of finding it is on that statement (rules.ts; advice where the catalog shows it blocks nothing). */
type Weighed = Omit<SafetyFinding, "level"> & { holdsData: boolean; kind: RuleKind };

/**
 * A weighed finding's level: accepted by a reasoned exemption, else an error in production when it blocks the
 * app in a section the command runs (apply's Up sections, revert's Down sections).
 */
function judged(
  { holdsData, kind, ...weighed }: Weighed,
  statement: Statement | undefined,
  { environment, runs }: Pick<SafetyReport, "environment" | "runs">,
  alsoAccepted: readonly string[] = [],
): SafetyFinding {
  const exemption = parseExemptions(statement?.comments ?? []).find(
    (e) => e.rule === weighed.rule || (e.rule !== null && alsoAccepted.includes(e.rule)),
  );
  if (exemption?.reason) return { ...weighed, level: "exempted", exemption: exemption.reason };
  const blocksApp = (kind === "blocking" || kind === "data-loss") && holdsData;
  // plan and apply read a pending migration's Down section for review: apply never runs it, so what it would
  // block is for the reviewer to know, not a reason to refuse the release. revert runs it, and refuses it so.
  const refused = environment === "production" && blocksApp && weighed.section === runs;
  return { ...weighed, level: refused ? "error" : "warning" };
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
  const what =
    report.runs === "up"
      ? "The pending migrations fail the safety lint"
      : "The Down sections to revert fail the safety lint";
  throw new ReleaseError(
    "unsafe-migration",
    `${what} (${report.environment}); nothing was ${report.runs === "up" ? "applied" : "reverted"}:\n${errors.map((f) => `- ${describeFinding(f)}`).join("\n")}`,
    safetyErrorsFix(errors),
  );
}

/**
 * What apply (or revert) says of a lint report it goes on with, before its first write: each warning of a
 * section it runs as one line (where, the rule, the table, the problem's first sentence), which the CLI's
 * --json keeps in `warnings`, and how many of their findings exemptions accept, as progress. A Down section's
 * warnings are not apply's to say: it never runs them (plan shows them, and revert says them when it does).
 * plan shows each finding in full, with its lock and safer form. `shownAlready`: the findings the caller showed
 * in full before this run (ReleaseOptions.safetyFindingShown), which it says nothing more of.
 */
export function logSafetyWarnings(
  report: SafetyReport,
  log: Logger,
  shownAlready: (finding: SafetyFinding) => boolean = () => false,
): void {
  const run = report.findings.filter((f) => f.section === report.runs && !shownAlready(f));
  for (const f of run) {
    if (f.level !== "warning") continue;
    const table = f.table ? ` on ${f.table}${f.tableSize ? ` (${f.tableSize})` : ""}` : "";
    log.warn(`safety lint: ${findingPlace(f)} ${f.rule}${table}: ${firstSentence(f.problem)}`);
  }
  const exempted = run.filter((f) => f.level === "exempted").length;
  if (exempted > 0) {
    log.info(
      `safety lint: ${countText(exempted, "finding")} accepted by exemptions (plan lists them with their reasons)`,
    );
  }
}

/** A problem's first sentence: up to the first full stop (not an ellipsis's) before the next one's capital. */
function firstSentence(text: string): string {
  return /^[\s\S]*?[^.]\.(?=\s+[A-Z"`(]|$)/.exec(text)?.[0] ?? text;
}

/**
 * What to do about a lint report's errors, worded for the ones it holds: those an exemption may accept, and
 * those that must be corrected (a statement PostgreSQL cannot run, a malformed exemption).
 */
export function safetyErrorsFix(findings: readonly SafetyFinding[]): string {
  const errors = findings.filter((f) => f.level === "error");
  const steps: string[] = [];
  if (errors.some((f) => !f.exemptable)) {
    steps.push("Correct the statements and comments that no exemption accepts, as each finding says");
  }
  if (errors.some((f) => f.exemptable)) {
    steps.push(
      `${steps.length > 0 ? "for the others, use" : "Use"} the safer form, or accept the finding in the migration with \`${EXEMPTION_SYNTAX}\` before the statement`,
    );
  }
  return `${steps.join("; ")} (docs/runbook.md, "The safety lint: blocking migrations on tables with data").`;
}

/** Where a finding is: file and line, and the section when it is the Down one (a reader assumes the Up). */
export function findingPlace(f: SafetyFinding): string {
  return `${f.file}:${f.line}${f.section === "down" ? " (Down section, run by revert)" : ""}`;
}

/** One finding as one line, for a preview's output and its failure. */
export function describeFinding(f: SafetyFinding): string {
  const table = f.table ? ` on ${f.table}${f.tableSize ? ` (${f.tableSize})` : ""}` : "";
  const detail = f.detail ? ` (squawk: ${f.detail})` : "";
  const head = `${f.level}: ${findingPlace(f)} ${f.rule}${table}: ${f.problem}${detail}`;
  if (f.level === "exempted") return `${head} Accepted: ${f.exemption}`;
  if (f.lock === null) return `${head} Fix: ${f.saferForm}.`;
  return `${head} Lock: ${f.lock}. Safer: ${f.saferForm}.`;
}

/**
 * What the sections that run (`runs`: the pending migrations' Up sections, or revert's Down sections) create,
 * in the order they run: a table or index one of them creates is new when a later one runs (or when a later
 * statement of its own runs). A CREATE TABLE IF NOT EXISTS of a table the database has creates nothing: the
 * table keeps its rows.
 */
async function readCreations(
  linted: Iterable<LintedFile>,
  runs: MigrationSection,
  weigh: Weigh,
): Promise<Creations> {
  const creations: Creations = { statements: new Set(), tablesBefore: new Map(), indexesBefore: new Map() };
  const tables = new Set<string>();
  const indexes = new Map<string, string>();
  for (const { file, section, statements } of linted) {
    for (const statement of statements) {
      const table = createdTable(statement);
      if (!table) continue;
      const name = canonicalName(table.name);
      const creates =
        !table.ifNotExists || tables.has(name) || (await weigh(table.name, "table")) === undefined;
      if (!creates) continue;
      creations.statements.add(statement);
      if (section === runs) tables.add(name);
    }
    if (section !== runs) continue;
    for (const statement of statements) {
      const index = createdIndex(statement);
      if (index) indexes.set(canonicalName(index.name), index.table);
    }
    creations.tablesBefore.set(file.name, new Set(tables));
    creations.indexesBefore.set(file.name, new Map(indexes));
  }
  return creations;
}

/** The lint's own findings (unflagged.ts, held-locks.ts), as squawk's are given, less any squawk reported itself
 *  (on the same ALTER TABLE action, for one on an action). */
function lintOwnFindings(
  linted: ReadonlyMap<string, LintedFile>,
  squawkFindings: readonly SquawkFinding[],
): SquawkFinding[] {
  const own: SquawkFinding[] = [];
  for (const [source, { text, statements }] of linted) {
    const bySquawk = squawkFindings.filter((f) => f.source === source);
    const backfills = backfillsUnderLock(statements, text);
    // Where a backfill under a lock starts (a statement, or a WITH's query): the table lock held through it is
    // what blocks the app, and one finding says both (held-locks.ts).
    const underLock = new Set(backfills.map((found) => found.offset));
    for (const statement of statements) {
      // Where squawk pointed in the statement: an ALTER TABLE action (one of several SET NOT NULLs), else the
      // statement as a whole.
      const actions = alterTableActions(statement);
      const actionAt = (offset: number) => actions.find((a) => actionHolds(a, offset));
      const reported = bySquawk
        .map((f) => ({ rule: f.rule, offset: offsetOf(text, f.line, f.column) }))
        .filter((f) => statementAt(statements, f.offset) === statement);
      const reportedByRule = (rule: string, offset: number) =>
        reported.some(
          (f) => f.rule === rule && (!actionAt(offset) || actionAt(f.offset) === actionAt(offset)),
        );
      for (const { rule, offset } of unflaggedFindings(statement)) {
        if (reportedByRule(rule, offset) || (underLock.has(offset) && rule === "updating-all-rows")) continue;
        const problem = ruleInfo(rule).problem ?? rule;
        own.push({ source, ...positionOf(text, offset), rule, message: problem, help: null });
      }
    }
    for (const { offset, message } of backfills) {
      own.push({ source, ...positionOf(text, offset), rule: BACKFILL_UNDER_LOCK_RULE, message, help: null });
    }
  }
  return own;
}

/**
 * The finding with its table's weight, once for each table it names that holds data or that the lint cannot
 * find (`TRUNCATE a, b`: each its own finding); none when every one is new or empty, and so it is noise.
 */
async function weighFinding(
  finding: SquawkFinding,
  { linted, statement, offset }: Located,
  creations: Creations,
  weigh: Weigh,
  proofs: CatalogProofs,
): Promise<Weighed[]> {
  const action = statement && alterTableAction(statement, offset);
  // SET ACCESS METHOD is an ALTER MATERIALIZED VIEW's action too.
  const methodNamed =
    finding.rule === ACCESS_METHOD_RULE && statement
      ? accessMethodNamed(action ?? alterMaterializedViewAction(statement, offset) ?? "")
      : undefined;
  const info = ruleInfo(finding.rule, action);
  // A Down section removes what its Up section added: the data it destroys is revert's to name (its preview
  // lists the drops and asks for --confirm), and a rename back is its point. What it blocks is the lint's.
  if (linted.section === "down" && info.kind !== "blocking") return [];
  // Inside a WITH, the table of the query the finding points at.
  const targets = statement ? statementTargets(statementPartAt(statement, offset)) : [];
  const base = {
    file: `${linted.file.name}.sql`,
    line: statement ? firstCodeLine(linted.text, statement) : finding.line,
    section: linted.section,
    rule: finding.rule,
    lock: info.lock,
    problem: info.problem ?? finding.message,
    saferForm: info.saferForm,
    exemptable: true,
    kind: info.kind,
  };
  // A statement that creates its table concerns no data yet.
  if (statement && creations.statements.has(statement)) return [];
  // ALTER ... ALL IN TABLESPACE names a tablespace, whose relations the lint does not list: its finding says so.
  const move = finding.rule === "moving-tablespace" && statement ? tablespaceMove(statement) : undefined;
  if (move) {
    return [
      {
        ...base,
        ...movingAllInTablespace(move.kind, move.from),
        table: null,
        tableSize: null,
        holdsData: true,
      },
    ];
  }
  if (targets.length === 0) {
    return [
      {
        ...base,
        // Advice is a warning whatever the table holds: there is nothing to weigh.
        problem: info.kind === "advice" ? base.problem : `${sentence(base.problem)} ${UNKNOWN_TABLE.unread}`,
        table: null,
        tableSize: null,
        holdsData: true,
      },
    ];
  }
  const notNullColumn = finding.rule === NOT_NULL_RULE && action ? setNotNullColumn(action) : undefined;
  const weighed: Weighed[] = [];
  for (const written of targets) {
    // An index a pending migration creates is not in the catalog yet: DROP INDEX and REINDEX INDEX lock the
    // table it is on (ACCESS EXCLUSIVE, SHARE), and are weighed with that table's data.
    const onTable =
      written.kind === "index"
        ? creations.indexesBefore.get(linted.file.name)?.get(canonicalName(written.name))
        : undefined;
    const target: StatementTarget = onTable === undefined ? written : { name: onTable, kind: "table" };
    if (
      target.kind === "table" &&
      creations.tablesBefore.get(linted.file.name)?.has(canonicalName(target.name))
    )
      continue;
    const weight = await weigh(target.name, target.kind);
    if (!weight) {
      // Renamed, or created in a way the lint does not read (CREATE TABLE AS, a DO block): it may hold rows.
      weighed.push({
        ...base,
        problem: `${sentence(base.problem)} ${UNKNOWN_TABLE[target.kind]}`,
        table: target.name,
        tableSize: null,
        holdsData: true,
      });
      continue;
    }
    // Two indexes of one table (DROP INDEX a, b) are one finding on it.
    if (weighed.some((w) => w.table === weight.table)) continue;
    // The live table is as the statement finds it unless an earlier statement that runs before it gave it rows.
    const givenRows =
      !weight.hasData && statement && linted.section === proofs.runs
        ? proofs.givenRowsBefore([canonicalName(weight.table), canonicalName(target.name)], statement)
        : undefined;
    if (!weight.hasData && !givenRows) continue;
    const found = {
      ...base,
      table: weight.table,
      tableSize: describeSize(weight),
      holdsData: true,
      ...(givenRows
        ? {
            problem: `${sentence(base.problem)} The table is empty now, but ${givenRows} adds rows to it before this statement runs, so the lint weighs it as one that holds data.`,
          }
        : {}),
    };
    // SET NOT NULL skips its scan where a validated CHECK (col IS NOT NULL) proves it: the safer form followed.
    const proof =
      notNullColumn && statement && linted.section === proofs.runs
        ? await proofs.proveNotNull(target.name, notNullColumn, statement)
        : undefined;
    if (proof) {
      weighed.push({ ...found, ...provenNotNull(proof) });
      continue;
    }
    // A type change the live column's type shows PostgreSQL makes in the catalog alone. A Down section plan
    // reads runs after its Up section changed the column: the live type is not the one it finds.
    const typeVerdict =
      finding.rule === TYPE_CHANGE_RULE && action && statement && linted.section === proofs.runs
        ? await proofs.judgeTypeChange(target.name, action, statement)
        : undefined;
    const sameMethod =
      methodNamed !== undefined && statement && linted.section === proofs.runs
        ? await proofs.sameAccessMethod(target.name, methodNamed, statement)
        : undefined;
    if (sameMethod) {
      weighed.push({ ...found, ...accessMethodUnchanged(sameMethod) });
      continue;
    }
    // A DEFAULT squawk takes for volatile that the catalog shows is not: stored once, no rewrite.
    const storedOnce =
      finding.rule === ADDED_DEFAULT_RULE &&
      action &&
      rewritingColumn(action) === "volatile-default" &&
      statement &&
      linted.section === proofs.runs
        ? await proofs.storedDefault(action, statement)
        : undefined;
    if (storedOnce) {
      weighed.push({ ...found, ...storedOnceDefault(storedOnce) });
      continue;
    }
    if (typeVerdict?.catalogOnly)
      weighed.push({
        ...found,
        ...rewriteFreeTypeChange(typeVerdict.from, typeVerdict.to, typeVerdict.because),
      });
    else if (typeVerdict) weighed.push({ ...found, problem: `${found.problem} ${typeVerdict.reason}` });
    else weighed.push(found);
  }
  return weighed;
}

/** Whether `offset` of a statement is in the ALTER TABLE action `action`. */
function actionHolds(action: StatementPart, offset: number): boolean {
  return offset >= action.offset && offset < action.offset + action.text.length;
}

/** A problem as a sentence, to say more after it: squawk's messages do not all end in a full stop. */
const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** What a finding says when the lint cannot weigh its table. */
const UNKNOWN_TABLE = {
  unread: "The lint cannot tell which table the statement works on, so it weighs it as one that holds data.",
  table:
    "The table is not in the database and no pending migration creates it with CREATE TABLE, so the lint weighs it as one that holds data.",
  index:
    "The index is not in the database and no pending migration creates it with CREATE INDEX, so the lint weighs its table as one that holds data.",
} as const;

/** The line where the statement's code starts (after its leading comments). */
function firstCodeLine(sql: string, statement: Statement): number {
  const leading = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(sql.slice(statement.start, statement.end));
  return lineOf(sql, statement.start + (leading?.[0].length ?? 0));
}

/** A finding that is not about a table's data: an error wherever it is, that no exemption accepts. */
function unexemptable(
  { file, section }: LintedFile,
  line: number,
  rule: string,
  problem: string,
  fix: string,
): SafetyFinding {
  return {
    level: "error",
    file: `${file.name}.sql`,
    line,
    section,
    rule,
    table: null,
    tableSize: null,
    lock: null,
    problem,
    saferForm: fix,
    exemptable: false,
  };
}

const CORRECT_IT = "correct the statement (no exemption accepts a syntax error)";

/**
 * A statement squawk cannot parse and the server's parser refuses too (in PostgreSQL's words, where it
 * points), or that the server's parser could not be asked about (in squawk's, saying so): apply (or revert)
 * would stop at it. `read`: the text squawk read.
 */
function syntaxErrorFinding(
  file: LintedFile,
  read: string,
  finding: SquawkFinding,
  server: Exclude<ServerParse, { verdict: "parses" }> | undefined,
): SafetyFinding {
  const run = RUN_BY[file.section];
  if (server?.verdict === "refuses") {
    return {
      ...unexemptable(
        file,
        lineOf(file.text, server.offset),
        SYNTAX_ERROR_RULE,
        `${withLiteralMasked(server.message)}: the statement is not valid SQL (the server's parser refuses it too), so ${run} would stop at it.`,
        CORRECT_IT,
      ),
      detail: finding.message,
    };
  }
  const error = describeSyntaxError(read, finding);
  const unconfirmed = server
    ? ` The server's parser could not check it: ${withLiteralMasked(server.reason)}.`
    : "";
  return {
    ...unexemptable(
      file,
      error.line,
      SYNTAX_ERROR_RULE,
      `${withLiteralMasked(error.message)}: the statement is not valid SQL as squawk's parser reads it, so ${run} would stop at it.${unconfirmed}`,
      server
        ? `${CORRECT_IT}; if PostgreSQL runs it as written, write it in a form squawk's parser reads`
        : CORRECT_IT,
    ),
    detail: error.detail,
  };
}

/** A statement squawk's parser cannot read and the server's can: valid SQL, but the lint checked nothing on it. */
function uncheckedFinding(file: LintedFile, { statement, squawk }: UnreadStatement): SafetyFinding {
  return {
    ...uncheckedWarning(
      file,
      firstCodeLine(file.text, statement),
      UNCHECKED_STATEMENT_RULE,
      "squawk's parser cannot read this statement, but the server's parser can: it is valid SQL, and none of squawk's rules was checked on it, so what it locks or rewrites on a table with data was not weighed.",
      'check by hand what it locks and rewrites before it runs on a table with data (docs/runbook.md#the-safety-lint-blocking-migrations-on-tables-with-data), or write it in a form squawk\'s parser reads, so that plan checks it: squawk misreads some keywords used as names, which it reads when quoted (a column "exclude", a table "sequence")',
    ),
    detail: squawk.message,
  };
}

/** A warning that the lint checked nothing on what it names: it blocks nothing, and no exemption is needed. */
function uncheckedWarning(
  file: LintedFile,
  line: number,
  rule: string,
  problem: string,
  fix: string,
): SafetyFinding {
  return { ...unexemptable(file, line, rule, problem, fix), level: "warning" };
}

/** Statements PostgreSQL refuses inside the transaction every migration runs in, and transaction control that
 *  would end that transaction part way (transaction-control.ts). */
function transactionBlockFindings(file: LintedFile): SafetyFinding[] {
  const controls = transactionControls(file.written, RUN_BY[file.section]);
  const controlled = [...controls].map(([statement, control]) => {
    const line = lineOf(file.text, statement.start + control.offset);
    return unexemptable(file, line, TRANSACTION_CONTROL_RULE, control.problem, TRANSACTION_CONTROL_FIX);
  });
  // A statement as it runs, a DO block's commands included (CREATE INDEX CONCURRENTLY in one is refused too).
  return controlled.concat(
    file.statements.flatMap((statement) => {
      if (controls.has(statement)) return [];
      const found = outsideTransaction(statement);
      if (!found) return [];
      return [
        unexemptable(
          file,
          firstCodeLine(file.text, statement),
          TRANSACTION_BLOCK_RULE,
          `${found.command} cannot run inside a transaction block, and every migration runs in one: ${RUN_BY[file.section]} would stop at it.`,
          found.instead,
        ),
      ];
    }),
  );
}

/** What the lint cannot read of a DO block or a function the section calls: SQL it builds at run time, or a
 *  body in another language. */
function uncheckedBlockFinding(
  file: LintedFile,
  { offset, why, function: called }: UnreadBody,
): SafetyFinding {
  const dynamic = why === "dynamic";
  const where = called ? `function ${called}, which this section calls,` : "a DO block";
  const problem = dynamic
    ? `This EXECUTE in ${where} runs SQL built when ${called ? "it" : "the block"} runs, which the lint cannot read: none of its rules was checked on it, so what it locks or rewrites on a table with data was not weighed.`
    : called
      ? `The body of function ${called}, which this section calls, is not PL/pgSQL or SQL in dollar quotes, which the lint cannot read: none of its rules was checked on the statements it runs, so what they lock or rewrite on a table with data was not weighed.`
      : "This DO block's body is not PL/pgSQL in dollar quotes, which the lint cannot read: none of its rules was checked on the statements it runs, so what they lock or rewrite on a table with data was not weighed.";
  const holder = called ? "the function" : "the block";
  const fix = dynamic
    ? `write the statement out in ${holder} (or as a statement of the section), so that plan checks it; where it must be built (a name or a list read from the database), check by hand what it locks and rewrites before it runs on a table with data (docs/runbook.md#the-safety-lint-blocking-migrations-on-tables-with-data)`
    : called
      ? "write its body in PL/pgSQL or SQL in dollar quotes (AS $$ ... $$), or its statements as statements of the section, so that plan checks them; otherwise check by hand what they lock and rewrite before they run on a table with data (docs/runbook.md#the-safety-lint-blocking-migrations-on-tables-with-data)"
      : "write the statements in a PL/pgSQL block in dollar quotes (DO $$ ... $$) or as statements of their own, so that plan checks them; otherwise check by hand what they lock and rewrite before they run on a table with data (docs/runbook.md#the-safety-lint-blocking-migrations-on-tables-with-data)";
  return uncheckedWarning(file, lineOf(file.text, offset), UNCHECKED_DO_BLOCK_RULE, problem, fix);
}

/** Exemptions that cannot do what they say: named no rule, an unknown one, no reason, or matched nothing.
 *  `unchecked`: statements squawk did not check (unreadable.ts), whose findings are unknown. */
function exemptionFindings(
  file: LintedFile,
  reported: ReadonlyMap<Statement, ReadonlySet<string>>,
  known: ReadonlySet<string>,
  unchecked: ReadonlySet<Statement>,
): SafetyFinding[] {
  const problems: SafetyFinding[] = [];
  // After a syntax error squawk's reading of the file is its parser's recovery: what it reports there says
  // nothing of whether an exemption matches.
  const readable = !file.statements.some((s) => reported.get(s)?.has(SYNTAX_ERROR_RULE));
  for (const statement of file.statements) {
    for (const exemption of parseExemptions(statement.comments)) {
      const matchable =
        readable && !unchecked.has(statement) ? (reported.get(statement) ?? new Set<string>()) : undefined;
      const found = exemptionProblem(exemption, matchable, known);
      if (!found) continue;
      const at = file.text.indexOf(exemption.comment, statement.start);
      const line = lineOf(file.text, at < 0 ? statement.start : at);
      problems.push({
        ...unexemptable(file, line, EXEMPTION_RULE, found.problem, found.fix),
        level: found.level,
      });
    }
  }
  return problems;
}
