// A lock a migration takes is held until its transaction commits, and each migration is one transaction
// (core/migrations/run.ts): a strong lock taken by a quick statement (ADD COLUMN, CREATE INDEX on a small
// table) is still held while a later statement of the same migration backfills that table. lock_timeout bounds
// how long a statement waits for a lock, not how long the transaction holds one, so the app waits for the whole
// backfill. The lint reports such a backfill itself (squawk reads statements one by one); the lock modes are
// PostgreSQL's, measured in test/lint/held-locks.test.ts.
import { IDENT, alterTableActions, canonicalName, codeStart, hasTopLevelKeyword, lineOf } from "./statements";
import { statementParts, statementTarget, statementTargets, type Statement } from "./statements";

/** The lint's rule for a backfill that runs while the migration holds a strong lock on its table. */
export const BACKFILL_UNDER_LOCK_RULE = "backfilling-under-lock";

/** The table locks that stop the app's writes (or, ACCESS EXCLUSIVE, its reads too), strongest first. */
const STRONG_MODES = ["ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE"] as const;
export type StrongLockMode = (typeof STRONG_MODES)[number];

/** What each strong mode stops, as the finding says it. */
const BLOCKS: Record<StrongLockMode, string> = {
  "ACCESS EXCLUSIVE": "blocks reads and writes",
  EXCLUSIVE: "blocks writes and SELECT ... FOR UPDATE",
  "SHARE ROW EXCLUSIVE": "blocks writes",
  SHARE: "blocks writes",
};

export interface TakenLock {
  /** The table as written. */
  table: string;
  mode: StrongLockMode;
}

/** ALTER TABLE actions that take less than ACCESS EXCLUSIVE (PostgreSQL's ALTER TABLE page): SHARE UPDATE
 *  EXCLUSIVE, which lets reads and writes go on, or SHARE ROW EXCLUSIVE, which blocks writes. */
const WEAK_ACTIONS: readonly RegExp[] = [
  /^VALIDATE\s+CONSTRAINT\b/i,
  /^(?:SET|RESET)\s*\(/i,
  /^CLUSTER\s+ON\b/i,
  /^SET\s+WITHOUT\s+CLUSTER\b/i,
  /^ATTACH\s+PARTITION\b/i,
  /^DETACH\s+PARTITION\b[\s\S]*\bCONCURRENTLY\b/i,
  new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?${IDENT}\s+(?:SET\s+STATISTICS\b|(?:SET|RESET)\s*\()`, "i"),
];
const SHARE_ROW_EXCLUSIVE_ACTIONS: readonly RegExp[] = [
  new RegExp(String.raw`^ADD\s+(?:CONSTRAINT\s+${IDENT}\s+)?FOREIGN\s+KEY\b`, "i"),
  /^(?:ENABLE|DISABLE)\s+(?:REPLICA\s+|ALWAYS\s+)?TRIGGER\b/i,
];

/** The mode an ALTER TABLE action takes on its table, or undefined when it lets writes go on. */
function actionMode(action: string): StrongLockMode | undefined {
  if (WEAK_ACTIONS.some((pattern) => pattern.test(action))) return undefined;
  if (SHARE_ROW_EXCLUSIVE_ACTIONS.some((pattern) => pattern.test(action))) return "SHARE ROW EXCLUSIVE";
  return "ACCESS EXCLUSIVE";
}

const REFERENCES = new RegExp(String.raw`\bREFERENCES\s+(${IDENT})`, "gi");
const CREATE_TRIGGER = new RegExp(
  String.raw`^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\b[\s\S]*?\bON\s+(?:ONLY\s+)?(${IDENT})`,
  "i",
);
const DROP_TRIGGER = new RegExp(
  String.raw`^\s*DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?${IDENT}\s+ON\s+(?:ONLY\s+)?(${IDENT})`,
  "i",
);
const LOCK_TABLE = new RegExp(
  String.raw`^\s*LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?(${IDENT})[\s\S]*?(?:\bIN\s+([A-Z ]+?)\s+MODE\b|$)`,
  "i",
);

/** The strongest of two modes. */
function stronger(a: StrongLockMode, b: StrongLockMode): StrongLockMode {
  return STRONG_MODES.indexOf(a) <= STRONG_MODES.indexOf(b) ? a : b;
}

/** The strong locks a statement takes on tables, the strongest per table (as written). */
export function strongLocks(statement: Statement): TakenLock[] {
  const code = statement.code;
  const taken: TakenLock[] = [];
  const take = (table: string, mode: StrongLockMode | undefined) => {
    if (mode === undefined) return;
    const same = taken.find((t) => canonicalName(t.table) === canonicalName(table));
    if (same) same.mode = stronger(same.mode, mode);
    else taken.push({ table, mode });
  };
  // A foreign key, of a new table or an added one, takes SHARE ROW EXCLUSIVE on the table it references.
  if (/^\s*(?:CREATE|ALTER)\s+TABLE\b/i.test(code)) {
    for (const match of code.matchAll(REFERENCES)) take(match[1]!, "SHARE ROW EXCLUSIVE");
  }
  const targets = statementTargets(statement);
  const target = targets[0];
  const actions = alterTableActions(statement);
  if (actions.length > 0 && target) {
    for (const action of actions) take(target.name, actionMode(action.text));
  } else if (target?.kind === "table") {
    if (/^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)/i.test(code)) take(target.name, "SHARE");
    else if (/^\s*REINDEX\b/i.test(code)) take(target.name, "SHARE");
    // TRUNCATE locks every table it names.
    else if (/^\s*(?:TRUNCATE|CLUSTER)\b/i.test(code))
      for (const { name } of targets) take(name, "ACCESS EXCLUSIVE");
  }
  const trigger = CREATE_TRIGGER.exec(code);
  if (trigger) take(trigger[1]!, "SHARE ROW EXCLUSIVE");
  const dropTrigger = DROP_TRIGGER.exec(code);
  if (dropTrigger) take(dropTrigger[1]!, "ACCESS EXCLUSIVE");
  const lock = LOCK_TABLE.exec(code);
  if (lock) {
    const mode = (lock[2] ?? "ACCESS EXCLUSIVE").toUpperCase().replace(/\s+/g, " ");
    take(
      lock[1]!,
      STRONG_MODES.find((m) => m === mode),
    );
  }
  return taken;
}

/** The table a statement backfills: an UPDATE's, a DELETE's, a MERGE's, an INSERT ... SELECT's. A plain
 *  INSERT ... VALUES writes the rows it lists, not one per row of the table. */
export function backfilledTable(statement: Statement): string | undefined {
  const code = statement.code;
  if (/^\s*INSERT\b/i.test(code) && !hasTopLevelKeyword(statement, "SELECT")) return undefined;
  if (!/^\s*(?:UPDATE|DELETE|INSERT|MERGE)\b/i.test(code)) return undefined;
  return statementTarget(statement)?.name;
}

export interface HeldLockFinding {
  /** The backfill's offset in the file. */
  offset: number;
  /** What it does, naming the lock and the statement that took it. */
  message: string;
}

/** A statement that ends the migration's transaction early, releasing its locks (squawk reports it too). */
const ENDS_TRANSACTION = /^\s*(?:COMMIT|END|ROLLBACK|ABORT)\b(?!\s+PREPARED\b)/i;

/** The backfills of a section (one transaction) that run while it holds a strong lock on their table. `text`:
 *  the section as the lint reads it, for the line of the statement that took the lock. */
export function backfillsUnderLock(statements: readonly Statement[], text: string): HeldLockFinding[] {
  const held = new Map<string, TakenLock & { line: number }>();
  const found: HeldLockFinding[] = [];
  for (const statement of statements) {
    if (ENDS_TRANSACTION.test(statement.code)) held.clear();
    // A WITH's UPDATE, DELETE or INSERT is a backfill of its own.
    for (const part of statementParts(statement)) {
      const table = backfilledTable(part);
      const lock = table === undefined ? undefined : held.get(canonicalName(table));
      if (!lock) continue;
      const everyRow = /^\s*(?:UPDATE|DELETE)\b/i.test(part.code) && !hasTopLevelKeyword(part, "WHERE");
      found.push({
        offset: codeStart(part),
        message:
          `The migration holds ${lock.mode} on ${lock.table} (${BLOCKS[lock.mode]}), taken at line ${lock.line}, until it commits, so the app waits for the whole of this ${everyRow ? "statement, which changes every row" : "backfill"}. ` +
          "The lock timeout bounds how long the migration waits for a lock, not how long it holds one.",
      });
    }
    for (const taken of strongLocks(statement)) {
      const key = canonicalName(taken.table);
      const before = held.get(key);
      if (!before) held.set(key, { ...taken, line: lineOf(text, codeStart(statement)) });
      else if (stronger(before.mode, taken.mode) !== before.mode)
        held.set(key, { ...taken, line: lineOf(text, codeStart(statement)) });
    }
  }
  return found;
}
