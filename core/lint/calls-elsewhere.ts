// The functions a section calls but does not define: one an earlier pending migration defines, or one the
// database has (an applied migration's). A backfill written once as a function (`CREATE FUNCTION backfill()`
// in one migration) and called by a later one (`SELECT backfill();`) ran an UPDATE of every row unweighed: the
// later migration's lint read only a SELECT. Such a function's definition is linted as if the section defined
// it, at its end: statementsRun then weighs its body where the call runs, with what runs before the call known
// (the tables the section creates, the rows it gives them), and each finding of the body is said at the call
// (atTheirCalls). The functions such a function calls are followed the same way, as deep as they go (a
// backfill kept as `run_backfill()` that PERFORMs the function doing the work). Read-only: the database's
// definitions are read with pg_get_functiondef.
import type { ClientBase } from "pg";
import type { MigrationFile } from "../migrations/files";
import { migrationSection } from "../migrations/files";
import type { MigrationSection, SafetyFinding, SafetyReport } from "./index";
import { EXEMPTION_RULE } from "./rules";
import {
  accepts,
  definedFunctions,
  everyFunctionDefined,
  namesCalledIn,
  type CalledName,
  type DefinedFunction,
} from "./called-functions";
import { withoutStrings } from "./do-blocks";
import { statementsRun } from "./statements-run";
import { canonicalName, lineOf, splitStatements, type Statement } from "./statements";

/** A definition linted at the end of a section that calls it. */
export interface DefinitionElsewhere {
  /** The name as the call writes it, for messages. */
  name: string;
  /** Where it is defined: `by migration <name>` or `in the database`. */
  definedIn: string;
  /** The CREATE FUNCTION or CREATE PROCEDURE as the lint reads one, its comments included. */
  definition: string;
  /** The call's comments, copied above the definition of the function the call names (none above one that
   *  function calls). */
  comments: readonly string[];
  /** The functions between the call and this one, nearest first: empty when the call names it. */
  through: readonly string[];
  /** The file's lines of the call: its comments' first, its code's (where its body's findings are said). */
  commentsLine: number;
  callLine: number;
}

/** A section that runs, with the definitions of the functions it calls elsewhere. */
export interface SectionWithCalls {
  file: string;
  definitions: DefinitionElsewhere[];
}

/** What the database holds of a function the lint may follow: user-defined, no extension's. */
const DEFINITIONS_SQL = `
  SELECT n.nspname AS schema, p.proname AS name, pg_get_functiondef(p.oid) AS definition,
         array_position(current_schemas(false), n.nspname::text) AS on_path
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prokind IN ('f', 'p') AND p.proname = ANY($1::text[])
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  ORDER BY p.oid DESC`;

interface DatabaseDefinition {
  schema: string;
  name: string;
  definition: string;
  on_path: number | null;
}

/**
 * For each of `sections` (in the order they run), the functions it calls that it does not define, with the
 * definition each call runs: the latest one an earlier section of `sections` defines, else the database's; and
 * the functions those call in turn, as deep as they go (each said at the section's call that reaches it). A
 * definition is followed once per section, at its first call. Overloads are told apart by the number of
 * arguments the call passes; those taking as many, which only the arguments' types tell apart, are all followed.
 */
export async function callsElsewhere(
  client: ClientBase,
  /** Each section's text as the lint reads it: the file's lines, the other section's blank. */
  sections: readonly { file: string; text: string }[],
): Promise<SectionWithCalls[]> {
  const read = sections.map((s) => {
    const written = splitStatements(s.text);
    const calls: { called: CalledName; call: Statement }[] = [];
    const own = definedFunctions(written);
    for (const statement of statementsRun(written).statements) {
      for (const called of namesCalledIn(statement)) {
        if (own.has(called.name) || calls.some((c) => sameCall(c.called, called))) continue;
        calls.push({ called, call: statement });
      }
    }
    return { ...s, own, defines: everyFunctionDefined(written), calls };
  });
  const database = new DatabaseDefinitions(client);
  await database.read(read.flatMap((s) => s.calls.map((c) => c.called.name)));
  const result: SectionWithCalls[] = [];
  for (const [position, s] of read.entries()) {
    const earlier = read.slice(0, position).reverse();
    /**
     * The definitions a call of `called` may run when this section runs: those of the latest earlier section
     * defining an overload that takes its arguments, else the database's; and whether the name has overloads.
     */
    const definitionsOf = (called: CalledName): { runs: Candidate[]; overloaded: boolean } => {
      const earlierOnes = earlier.map((e) => ({
        e,
        named: e.defines.filter((fn) => canonicalName(fn.name) === called.name),
      }));
      const inDatabase = database.definitions(called.name);
      // Counted apart: a pending migration's `n int` may be the database's `n integer` replaced.
      const overloaded =
        new Set(earlierOnes.flatMap(({ named }) => named.map((fn) => fn.parameters))).size > 1 ||
        new Set(inDatabase.map((d) => d.fn.parameters)).size > 1;
      for (const { e, named } of earlierOnes) {
        const taking = lastOfEachSignature(named.filter((fn) => accepts(fn.arity, called.args)));
        if (taking.length > 0) {
          const definedIn = `by migration ${e.file}`;
          const runs = taking.map((fn) => ({
            fn,
            definedIn,
            definition: e.text.slice(fn.statement.start, fn.statement.end).trim(),
          }));
          return { runs, overloaded };
        }
      }
      return { runs: onFirstSchema(inDatabase.filter((d) => accepts(d.fn.arity, called.args))), overloaded };
    };
    const found: Followed[] = [];
    let reached = s.calls.map(({ called, call }) => ({ called, call, through: [] as string[] }));
    while (reached.length > 0) {
      const next: typeof reached = [];
      for (const { called, call, through } of reached) {
        if (s.own.has(called.name)) continue;
        const { runs, overloaded } = definitionsOf(called);
        for (const { fn, definedIn, definition } of runs) {
          const key = `${definedIn}\0${definition}`;
          if (found.some((f) => f.key === key)) continue;
          const nested = fn.body.pieces.flatMap((piece) => namesCalledIn(piece));
          const name = overloaded ? `${called.written}(${fn.parameters})` : called.written;
          found.push({
            key,
            name: called.name,
            calls: nested.map((c) => c.name),
            reads: runsWhatTheLintReads(fn),
            definition: {
              name,
              definedIn,
              definition,
              // The call's comments go above the function it names; one that function calls runs after it.
              comments: through.length === 0 ? call.comments : [],
              through,
              commentsLine: lineOf(s.text, call.start),
              callLine: lineOf(s.text, call.start + (/^\s*/.exec(call.code)?.[0].length ?? 0)),
            },
          });
          const by = [name, ...through];
          next.push(...nested.map((c) => ({ called: c, call, through: by })));
        }
      }
      await database.read(next.map((n) => n.called.name));
      reached = next;
    }
    const definitions = linted(found);
    if (definitions.length > 0) result.push({ file: s.file, definitions });
  }
  return result;
}

/** Whether two calls name the same function with as many arguments: the second runs what the first does. */
function sameCall(a: CalledName, b: CalledName): boolean {
  return a.name === b.name && a.args === b.args;
}

/** Of `defined`, the last definition of each parameter list: a later CREATE OR REPLACE replaces an earlier. */
function lastOfEachSignature(defined: readonly DefinedFunction[]): DefinedFunction[] {
  return defined.filter((fn, i) => !defined.slice(i + 1).some((later) => later.parameters === fn.parameters));
}

/** A definition a call may run, and where it is defined. */
interface Candidate {
  fn: DefinedFunction;
  definedIn: string;
  definition: string;
}

/** A function a section's call reaches, before it is known whether the lint reads any of it. */
interface Followed {
  /** Which definition: where it is and its text. */
  key: string;
  /** Its canonical name. */
  name: string;
  /** The names its body calls. */
  calls: string[];
  /** Whether its own body runs what the lint reads (runsWhatTheLintReads). */
  reads: boolean;
  definition: DefinitionElsewhere;
}

/**
 * The definitions worth appending: those whose body runs what the lint reads, and those that call one (a
 * function that only PERFORMs the backfill). A function that only computes a value is not appended. A call is
 * known by its name alone here: one that reaches an overload the lint reads keeps the caller.
 */
function linted(found: readonly Followed[]): DefinitionElsewhere[] {
  const kept = new Set(found.filter((f) => f.reads));
  const keptNames = () => new Set([...kept].map((f) => f.name));
  for (let grew = true; grew; ) {
    grew = false;
    const names = keptNames();
    for (const f of found) {
      if (!kept.has(f) && f.calls.some((name) => names.has(name))) {
        kept.add(f);
        grew = true;
      }
    }
  }
  return found.filter((f) => kept.has(f)).map((f) => f.definition);
}

/** The database's definitions of the names the sections call, each name read once. */
class DatabaseDefinitions {
  private readonly rows: (DatabaseDefinition & { fn: DefinedFunction })[] = [];
  private readonly asked = new Set<string>();

  constructor(private readonly client: ClientBase) {}

  /** Reads the definitions of canonical `names` not read before. */
  async read(names: readonly string[]): Promise<void> {
    const unread = [...new Set(names.map((n) => n.split(".").at(-1)!))].filter((n) => !this.asked.has(n));
    if (unread.length === 0) return;
    unread.forEach((n) => this.asked.add(n));
    for (const row of (await this.client.query<DatabaseDefinition>(DEFINITIONS_SQL, [unread])).rows) {
      const definition = row.definition.trim();
      const fn = everyFunctionDefined(splitStatements(definition))[0];
      if (fn) this.rows.push({ ...row, definition, fn });
    }
  }

  /**
   * The definitions canonical `name` may be: in its schema when qualified, else in the schemas on the search
   * path, in their order.
   */
  definitions(name: string): (Candidate & { onPath: number })[] {
    const [schema, fn] = name.includes(".") ? name.split(".") : [undefined, name];
    return this.rows
      .filter((r) => r.name === fn && (schema === undefined ? r.on_path !== null : r.schema === schema))
      .map((r) => ({
        fn: r.fn,
        definedIn: "in the database",
        definition: r.definition,
        onPath: r.on_path ?? 0,
      }))
      .sort((a, b) => a.onPath - b.onPath);
  }
}

/**
 * Of `candidates` (in search-path order), those of the first schema: PostgreSQL takes a function of an earlier
 * schema on the path over one of a later with the same arguments.
 */
function onFirstSchema(candidates: readonly (Candidate & { onPath: number })[]): Candidate[] {
  return candidates.filter((c) => c.onPath === candidates[0]?.onPath);
}

/**
 * Whether a function's body runs what the lint weighs or says: SQL commands, what it cannot read, or the end
 * of a transaction.
 */
function runsWhatTheLintReads(fn: DefinedFunction): boolean {
  const { commands, unread, pieces } = fn.body;
  return (
    commands.length > 0 ||
    unread.length > 0 ||
    pieces.some((piece) => /\b(?:COMMIT|ROLLBACK)\b/i.test(withoutStrings(piece.code)))
  );
}

/** Where a section's appended definitions are in the file the lint reads, by line. */
export interface AppendedLines {
  /** The first line appended and how many: the file's own lines after them are this many further on. */
  firstLine: number;
  lineCount: number;
  /** Each definition's last line, and its call's lines in the file: its comments' first, its code's. */
  definitions: (Pick<DefinitionElsewhere, "commentsLine" | "callLine" | "name" | "definedIn" | "through"> & {
    last: number;
  })[];
}

/**
 * `file` with `calls`' definitions appended at the end of its `section`, each after the call's comments (an
 * exemption written above the call accepts its first statement's findings, as one above a CREATE FUNCTION of
 * the section does). Undefined when the section's last statement has no `;`, after which a definition would
 * read as part of it.
 */
export function withDefinitionsAppended(
  file: MigrationFile,
  section: MigrationSection,
  calls: SectionWithCalls,
): { file: MigrationFile; appended: AppendedLines } | undefined {
  const { offset, text } = migrationSection(file.sql, section);
  const last = splitStatements(text)
    .filter((s) => s.code.trim() !== "")
    .at(-1);
  if (last && !last.code.trimEnd().endsWith(";")) return undefined;
  const before = file.sql.slice(0, offset + text.length);
  let added = before.endsWith("\n") ? "" : "\n";
  const lineAtEnd = (back: number) => lineOf(before + added, before.length + added.length - back);
  const firstLine = lineAtEnd(0);
  const definitions = calls.definitions.map((d) => {
    const comments = d.comments.map((c) => `${c}\n`).join("");
    added += `${comments}${d.definition}${d.definition.endsWith(";") ? "" : ";"}\n`;
    return {
      last: lineAtEnd(1),
      commentsLine: d.commentsLine,
      callLine: d.callLine,
      name: d.name,
      definedIn: d.definedIn,
      through: d.through,
    };
  });
  const lineCount = added.split("\n").length - 1;
  return {
    file: { ...file, sql: before + added + file.sql.slice(before.length) },
    appended: { firstLine, lineCount, definitions },
  };
}

/**
 * `report` of the files withDefinitionsAppended gave, as of the files themselves: a finding of an appended
 * definition is said at its call, naming the function and where it is defined; the file's own lines after
 * the definitions are numbered as before. An exemption's finding on an appended definition is the copy of
 * the call's comment: it is dropped, and the call's own "matched nothing" too when its copy matched.
 */
export function atTheirCalls(
  report: SafetyReport,
  appendedTo: ReadonlyMap<string, AppendedLines>,
): SafetyReport {
  const findings = report.findings.flatMap((finding): SafetyFinding[] => {
    const appended = appendedTo.get(finding.file.replace(/\.sql$/, ""));
    if (!appended) return [finding];
    const { firstLine, lineCount, definitions } = appended;
    if (finding.line < firstLine) {
      if (finding.rule !== EXEMPTION_RULE) return [finding];
      const copy = report.findings.find(
        (f) =>
          f.file === finding.file &&
          f.rule === EXEMPTION_RULE &&
          f.problem === finding.problem &&
          f.line >= firstLine &&
          f.line < firstLine + lineCount,
      );
      const aboveACall = definitions.some((d) => finding.line >= d.commentsLine && finding.line < d.callLine);
      return aboveACall && !copy ? [] : [finding];
    }
    if (finding.line >= firstLine + lineCount) return [{ ...finding, line: finding.line - lineCount }];
    if (finding.rule === EXEMPTION_RULE) return [];
    const d = definitions.find((one) => finding.line <= one.last)!;
    return [
      {
        ...finding,
        line: d.callLine,
        problem: `In function ${d.name} (defined ${d.definedIn}), ${d.through.map((by) => `which ${by} calls, `).join("")}which this statement calls: ${finding.problem}`,
      },
    ];
  });
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
  return { ...report, findings, errors: findings.filter((f) => f.level === "error").length };
}
