import { rewritingColumn, type RewritingColumn } from "./added-column";
import { addedConstraint, type ConstraintKind } from "./constraints";
import { BACKFILL_UNDER_LOCK_RULE } from "./held-locks";

// What each squawk rule (and each of the lint's own, unflagged.ts) means for a table that holds data: the lock
// it takes, whether it blocks the app (a rewrite, a scan or a blocking index build), and the safer form. Rules the engine already handles (it
// sets lock_timeout and statement_timeout, and runs each migration in a transaction) and rules about style
// rather than availability are not asked for at all.

/**
 * - blocking: holds a lock that stops the app's reads or writes for as long as a rewrite, scan or build runs;
 * - data-loss: destroys the table's data;
 * - compatibility: breaks the app version still running (a rename) or fails at apply;
 * - advice: neither blocks nor destroys anything as written (a varchar(n) column, a domain's constraint): a
 *   warning on every stack.
 * Each is noise on a table that the migration creates or that holds no rows. A blocking or data-loss finding
 * whose table the lint cannot find is weighed as one on a table that holds data (index.ts).
 */
export type RuleKind = "blocking" | "data-loss" | "compatibility" | "advice";

export interface RuleInfo {
  kind: RuleKind;
  /** The lock the statement takes, and what it blocks; null when the finding is not about a lock (advice). */
  lock: string | null;
  /** What to write instead. */
  saferForm: string;
  /** What the statement does, said instead of squawk's message where that one says something else. */
  problem?: string;
  /**
   * For a rule the lint added after migrations were released: the released migrations it would report. They
   * were reviewed under the rules of their day and may still be pending on a database that is behind, and a
   * released file cannot take an exemption without becoming another file: the rule does not judge them.
   */
  notJudging?: readonly string[];
}

/** The runbook's procedure for building or dropping an index by hand on a table with data. */
export const INDEX_BY_HAND = "docs/runbook.md#index-builds-on-a-big-table";

const ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE (blocks reads and writes)";
/** An UPDATE's or DELETE's: the table stays readable and writable, the rows it changed do not. */
const ROW_LOCKS =
  "ROW EXCLUSIVE, and a lock on every row it changes until the migration commits (blocks the app's UPDATE, DELETE and SELECT ... FOR UPDATE of those rows)";
/** A rule whose finding concerns no table's data: squawk's own words, and what to do about it. */
const ADVICE: RuleInfo = { kind: "advice", lock: null, saferForm: "see squawk's documentation of the rule" };
const SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE on both tables (blocks writes) during a full scan";

/** A constraint added NOT VALID: no scan at the ADD, and VALIDATE CONSTRAINT lets reads and writes go on. */
const NOT_VALID_THEN_VALIDATE =
  "add it NOT VALID (which skips the scan), then VALIDATE CONSTRAINT in a later migration, which checks the rows under SHARE UPDATE EXCLUSIVE: reads and writes go on";

/** A unique index built by hand, then adopted by the constraint: PostgreSQL refuses NOT VALID on these. */
const usingIndex = (constraint: "UNIQUE" | "PRIMARY KEY") =>
  `PostgreSQL refuses NOT VALID on a ${constraint} constraint: build its index with CREATE UNIQUE INDEX CONCURRENTLY outside the release (${INDEX_BY_HAND}), then add the constraint from it in a migration with ALTER TABLE ... ADD CONSTRAINT name ${constraint} USING INDEX index_name, which builds nothing`;

/** How to move each kind of relation to another tablespace without holding ACCESS EXCLUSIVE through a copy. */
const MOVE_BY_HAND = {
  table:
    "move a table by hand, outside the release, with pg_repack --tablespace (online), or in a maintenance window",
  "materialized view":
    "a materialized view, by creating a copy in the new tablespace (CREATE MATERIALIZED VIEW ... TABLESPACE, which reads its tables without blocking them), then renaming it in place of the old one, which holds ACCESS EXCLUSIVE for a moment",
  index: `an index, by building a copy with CREATE INDEX CONCURRENTLY ... TABLESPACE by hand, then DROP INDEX CONCURRENTLY of the old one (${INDEX_BY_HAND})`,
} as const;

/** What ALTER TABLE ... ADD [CONSTRAINT name] <kind> does and locks, as pg_locks shows it
 *  (test/lint/constraint-locks.test.ts), and the safer form open to that kind (constraint-advice.test.ts).
 *  squawk's messages say "block writes" of a scan under ACCESS EXCLUSIVE, which blocks reads too. */
const CONSTRAINTS: Record<ConstraintKind, Pick<RuleInfo, "problem" | "lock" | "saferForm">> = {
  check: {
    problem:
      "Adding a CHECK constraint checks every row while holding ACCESS EXCLUSIVE, which blocks reads and writes until the scan ends.",
    lock: `${ACCESS_EXCLUSIVE} during a full scan`,
    saferForm: NOT_VALID_THEN_VALIDATE,
  },
  "foreign-key": {
    problem:
      "Adding a FOREIGN KEY checks every row against the referenced table while holding SHARE ROW EXCLUSIVE on both, which blocks their writes until the scan ends.",
    lock: SHARE_ROW_EXCLUSIVE,
    saferForm: NOT_VALID_THEN_VALIDATE,
  },
  unique: {
    problem:
      "Adding a UNIQUE constraint builds its index while holding ACCESS EXCLUSIVE, which blocks reads and writes until the build ends.",
    lock: `${ACCESS_EXCLUSIVE} while the unique index builds`,
    saferForm: usingIndex("UNIQUE"),
  },
  "primary-key": {
    problem:
      "Adding a PRIMARY KEY builds its index (and checks its columns hold no NULL) while holding ACCESS EXCLUSIVE, which blocks reads and writes until it ends.",
    lock: `${ACCESS_EXCLUSIVE} while the primary key's index builds`,
    saferForm: `${usingIndex("PRIMARY KEY")} (with its columns already NOT NULL, else the ADD scans the table to set them)`,
  },
  exclude: {
    problem:
      "Adding an EXCLUDE constraint builds its index and checks every row while holding ACCESS EXCLUSIVE, which blocks reads and writes until it ends.",
    lock: `${ACCESS_EXCLUSIVE} while the exclusion constraint's index builds`,
    saferForm:
      "none in PostgreSQL: an exclusion constraint takes neither NOT VALID nor USING INDEX. Add it while the table is small or in a maintenance window, and accept the finding with an exemption that says so",
  },
};

/** What adding each kind of column squawk's adding-field-with-default reports does (its message says "a
 *  generated column" for all of them), as test/lint/column-rewrites.test.ts measures it. */
const REWRITING_COLUMNS: Record<RewritingColumn, Pick<RuleInfo, "problem" | "saferForm">> = {
  "volatile-default": {
    problem:
      "A volatile DEFAULT (one evaluated for each row, such as gen_random_uuid(), random() or clock_timestamp()) makes PostgreSQL rewrite the whole table to fill the new column, under ACCESS EXCLUSIVE. A constant or stable DEFAULT (now() included) is stored once, without a rewrite, since PostgreSQL 11.",
    saferForm:
      "add the column without the default (or with a constant one), backfill it in batches, then SET DEFAULT for new rows, which rewrites nothing",
  },
  generated: {
    problem:
      "A stored generated column is computed for every row as it is added: PostgreSQL rewrites the whole table, under ACCESS EXCLUSIVE.",
    saferForm:
      "add a plain nullable column, fill it in batches, and keep it computed with a trigger on write",
  },
  identity: {
    problem:
      "An identity column is numbered for every row as it is added: PostgreSQL rewrites the whole table, under ACCESS EXCLUSIVE.",
    saferForm:
      "add a nullable column and SET DEFAULT nextval() of a sequence for new rows, which rewrites nothing, then number the other rows in batches",
  },
  serial: {
    problem:
      "A serial column's DEFAULT nextval() is evaluated for every row as it is added: PostgreSQL rewrites the whole table to number them, under ACCESS EXCLUSIVE.",
    saferForm:
      "create the sequence, add a nullable column of its integer type, SET DEFAULT nextval() of the sequence for new rows (which rewrites nothing), then number the other rows in batches",
  },
};

/** squawk's rules on adding a constraint: on a table constraint, its kind decides the lock and the safer form
 *  (CONSTRAINTS); on a column's (ADD COLUMN ... REFERENCES, UNIQUE, PRIMARY KEY), RULES say them. */
const CONSTRAINT_RULES: ReadonlySet<string> = new Set([
  "constraint-missing-not-valid",
  "adding-foreign-key-constraint",
  "disallowed-unique-constraint",
  "adding-serial-primary-key-field",
]);

/**
 * squawk reports an ADD CONSTRAINT without NOT VALID under this rule, and a FOREIGN KEY, UNIQUE or PRIMARY KEY
 * one under the rule of its kind too (adding-foreign-key-constraint, disallowed-unique-constraint,
 * adding-serial-primary-key-field), on the same action: once the constraint's kind is read (CONSTRAINTS), the
 * two say the same problem, lock and safer form. The lint makes them one finding, under the kind's rule, that
 * an exemption naming either accepts (index.ts). A CHECK or EXCLUDE one is reported under this rule alone.
 */
export const MISSING_NOT_VALID_RULE = "constraint-missing-not-valid";

/** Whether a finding of `rule` on an ADD CONSTRAINT action says what one of `other` on the same action says:
 *  it is left to that one (MISSING_NOT_VALID_RULE). */
export function sameConstraintFinding(rule: string, other: string): boolean {
  return rule === MISSING_NOT_VALID_RULE && other !== rule && CONSTRAINT_RULES.has(other);
}

/** squawk's rule on ALTER COLUMN ... TYPE (type-change.ts clears what PostgreSQL does in the catalog alone). */
export const TYPE_CHANGE_RULE = "changing-column-type";
/** The lint's own rule for SET ACCESS METHOD (unflagged.ts). */
export const ACCESS_METHOD_RULE = "changing-access-method";

/** squawk's rule on ADD COLUMN with a DEFAULT it cannot tell is not volatile, and on columns that rewrite. */
export const ADDED_DEFAULT_RULE = "adding-field-with-default";

/** squawk's rule on ALTER COLUMN ... SET NOT NULL (and on adding a NOT NULL column). */
export const NOT_NULL_RULE = "adding-not-nullable-field";

export const RULES: Record<string, RuleInfo> = {
  "require-concurrent-index-creation": {
    kind: "blocking",
    lock: "SHARE (blocks writes) for the whole index build",
    saferForm: `build it with CREATE INDEX CONCURRENTLY outside the release (a migration always runs in a transaction), then add a migration with CREATE INDEX IF NOT EXISTS of the same name, which finds it built (${INDEX_BY_HAND})`,
  },
  "require-concurrent-reindex": {
    kind: "blocking",
    problem:
      "REINDEX rebuilds the index (for REINDEX TABLE, every index of the table) holding SHARE on the table, which blocks writes, and ACCESS EXCLUSIVE on the index, which blocks every query that would plan with it, reads included, until the build ends.",
    lock: "SHARE on the table (blocks writes) and ACCESS EXCLUSIVE on each index it rebuilds (blocks the reads that plan with it) for the whole rebuild",
    saferForm: `REINDEX ... CONCURRENTLY by hand, outside the release (it cannot run in a transaction, and it changes no schema, so no migration needs to carry it; ${INDEX_BY_HAND})`,
  },
  "require-concurrent-index-deletion": {
    kind: "blocking",
    lock: ACCESS_EXCLUSIVE,
    saferForm: `DROP INDEX CONCURRENTLY outside the release, then a migration with DROP INDEX IF EXISTS (${INDEX_BY_HAND})`,
  },
  [TYPE_CHANGE_RULE]: {
    kind: "blocking",
    lock: `${ACCESS_EXCLUSIVE} while the table is rewritten`,
    saferForm:
      "add a new column of the new type, backfill it in batches, switch the app to it, then drop the old one",
  },
  // squawk reports it on every varchar(n) column: adding or declaring one rewrites nothing. A change of an
  // existing column's type is changing-column-type's finding, reported on the same statement.
  "prefer-text-field": {
    kind: "advice",
    lock: null,
    problem:
      "A varchar(n) column keeps its limit in its type, so changing the limit later is an ALTER COLUMN ... TYPE under ACCESS EXCLUSIVE (a lower limit rewrites the table). Adding or declaring the column rewrites nothing.",
    saferForm:
      "use text with a CHECK (char_length(col) <= n) constraint (added NOT VALID, then VALIDATE CONSTRAINT, on a table with data), whose limit a new constraint changes without a rewrite",
  },
  "adding-field-with-default": {
    kind: "blocking",
    lock: `${ACCESS_EXCLUSIVE} while the table is rewritten`,
    // The column squawk points at says which (REWRITING_COLUMNS); most often, a volatile default.
    ...REWRITING_COLUMNS["volatile-default"],
  },
  [NOT_NULL_RULE]: {
    kind: "blocking",
    lock: `${ACCESS_EXCLUSIVE} during a full scan`,
    saferForm:
      "add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it in a later migration, then SET NOT NULL (which uses it to skip the scan)",
  },
  "adding-required-field": {
    kind: "blocking",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "add the column as nullable (or with a constant default), backfill, then require it",
  },
  "adding-serial-primary-key-field": {
    kind: "blocking",
    lock: `${ACCESS_EXCLUSIVE} while the table is rewritten`,
    saferForm:
      "add a nullable column, backfill it, build a unique index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX",
  },
  [MISSING_NOT_VALID_RULE]: {
    kind: "blocking",
    // squawk reports it on ADD CONSTRAINT only, whose kind names the lock: this is for one not read.
    lock: `${ACCESS_EXCLUSIVE} for CHECK, UNIQUE, PRIMARY KEY and EXCLUDE; SHARE ROW EXCLUSIVE on both tables (blocks writes) for FOREIGN KEY; during a full scan or index build`,
    saferForm:
      "for CHECK and FOREIGN KEY, add it NOT VALID, then VALIDATE CONSTRAINT in a later migration; for UNIQUE and PRIMARY KEY, build the unique index CONCURRENTLY outside the release, then ADD CONSTRAINT ... USING INDEX",
  },
  "adding-foreign-key-constraint": {
    kind: "blocking",
    // A column's REFERENCES: adding the column takes the stronger lock on its table (squawk's message names
    // only SHARE ROW EXCLUSIVE).
    problem:
      "Adding a column with REFERENCES holds ACCESS EXCLUSIVE on its table, which blocks reads and writes, and SHARE ROW EXCLUSIVE on the referenced table, which blocks its writes, until the migration's transaction ends.",
    lock: `${ACCESS_EXCLUSIVE} on the table, which gains a column, and SHARE ROW EXCLUSIVE on the referenced table (blocks writes)`,
    saferForm:
      "add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, and VALIDATE CONSTRAINT in a later migration",
  },
  "disallowed-unique-constraint": {
    kind: "blocking",
    lock: `${ACCESS_EXCLUSIVE} while the unique index builds`,
    saferForm:
      "add the column without UNIQUE, build a unique index CONCURRENTLY outside the release, then ADD CONSTRAINT ... UNIQUE USING INDEX in a migration",
  },
  "ban-drop-table": {
    kind: "data-loss",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "stop the app using it first; keep it (or a backup) until the release has proven itself",
  },
  "ban-drop-column": {
    kind: "data-loss",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "stop the app reading and writing the column in an earlier release, then drop it",
  },
  "ban-truncate-cascade": {
    kind: "data-loss",
    lock: `${ACCESS_EXCLUSIVE} on every table it reaches`,
    saferForm: "truncate or delete from the tables named one by one",
  },
  "truncating-table": {
    kind: "data-loss",
    problem: "TRUNCATE removes every row of the table.",
    lock: ACCESS_EXCLUSIVE,
    saferForm:
      "keep the rows (or a backup of them) until the release has proven itself; if they must go, accept the finding with an exemption that says why they are disposable",
  },
  "deleting-all-rows": {
    kind: "data-loss",
    problem: "DELETE without WHERE removes every row of the table.",
    lock: ROW_LOCKS,
    saferForm:
      "delete only the rows meant (a WHERE), in batches by hand after a backup; if every row must go, accept the finding with an exemption that says why they are disposable",
  },
  "updating-all-rows": {
    kind: "blocking",
    problem:
      "UPDATE without WHERE writes a new version of every row in the migration's transaction and holds each row's lock until it commits: the app's UPDATE, DELETE and SELECT ... FOR UPDATE of any row wait, and the old values are gone.",
    lock: ROW_LOCKS,
    saferForm:
      "backfill in batches by hand (or from a job), each a short transaction over a range of keys, outside the release; a new column's value for new rows is a DEFAULT",
  },
  // The finding's own message names the lock and the statement that took it (held-locks.ts).
  [BACKFILL_UNDER_LOCK_RULE]: {
    // Its backfills run under the lock its ADD COLUMNs took, as its header says.
    notJudging: ["20261202030000_tenant_column_on_embedded_tables"],
    kind: "blocking",
    lock: "the lock an earlier statement of the migration took on the table (ACCESS EXCLUSIVE blocks reads and writes; EXCLUSIVE, SHARE ROW EXCLUSIVE and SHARE block writes), held until the migration commits: through this statement's whole run",
    saferForm:
      "end the migration after the statement that takes the lock, so that it commits at once, and backfill in a migration of its own (its UPDATE takes row locks only), or better in batches by hand or from a job, each a short transaction over a range of keys",
  },
  "clustering-table": {
    kind: "blocking",
    problem:
      "CLUSTER rewrites the whole table and its indexes in the index's order under ACCESS EXCLUSIVE, which blocks reads and writes until it ends.",
    lock: `${ACCESS_EXCLUSIVE} while the table is rewritten`,
    saferForm:
      "leave it out of the release: the order is not kept as rows change anyway. Reorder by hand with pg_repack (online), or CLUSTER in a maintenance window",
  },
  // ALTER INDEX locks the index only, but every query of its table plans with the index, and every write
  // updates it: they wait all the same (test/lint/unflagged-statements.test.ts).
  "moving-tablespace": {
    kind: "blocking",
    problem:
      "SET TABLESPACE copies the whole table (ALTER TABLE), materialized view (ALTER MATERIALIZED VIEW) or index (ALTER INDEX) to the new tablespace under ACCESS EXCLUSIVE on it, which blocks its reads (and a table's writes) until the copy ends: a query on a table plans with each of its indexes, and a write updates them.",
    lock: `${ACCESS_EXCLUSIVE} on the table, materialized view or index while it is copied`,
    saferForm: `${MOVE_BY_HAND.table}; ${MOVE_BY_HAND["materialized view"]}; ${MOVE_BY_HAND.index}`,
  },
  "changing-table-logging": {
    kind: "blocking",
    problem:
      "ALTER TABLE ... SET LOGGED or SET UNLOGGED rewrites the whole table and its indexes under ACCESS EXCLUSIVE (SET LOGGED also writes all of it to the WAL), which blocks reads and writes until it ends.",
    lock: `${ACCESS_EXCLUSIVE} while the table is rewritten`,
    saferForm:
      "none online: create a new table of the wanted kind, copy the rows in batches, then switch to it; or change it in a maintenance window",
  },
  // PostgreSQL 15 and later; naming the access method the relation has already changes nothing, which the
  // lint does not read: it weighs the statement as the rewrite it is otherwise.
  "changing-access-method": {
    kind: "blocking",
    problem:
      "SET ACCESS METHOD rewrites the whole table (ALTER TABLE) or materialized view (ALTER MATERIALIZED VIEW) and its indexes in the new table access method under ACCESS EXCLUSIVE, which blocks its reads (and a table's writes) until the rewrite ends.",
    lock: `${ACCESS_EXCLUSIVE} on the table or materialized view while it is rewritten`,
    saferForm:
      "none online: create a new table (CREATE TABLE ... USING the access method) or materialized view (CREATE MATERIALIZED VIEW ... USING, then a rename in place of the old one), copy a table's rows in batches, then switch to it; or change it in a maintenance window",
  },
  "renaming-column": {
    kind: "compatibility",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "add the new column, write both from the app, backfill, switch reads, then drop the old one",
  },
  "renaming-table": {
    kind: "compatibility",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "create a view with the old name while the app moves to the new one",
  },
  "ban-drop-not-null": {
    kind: "compatibility",
    lock: ACCESS_EXCLUSIVE,
    saferForm: "make sure every app version still running writes the column before relaxing it",
  },
  // Rules that concern no table's data: said as squawk says them, a warning wherever they are.
  "ban-create-domain-with-constraint": ADVICE,
  "identifier-too-long": ADVICE,
  "require-enum-value-ordering": ADVICE,
  // CREATE or DROP DATABASE cannot run in a migration at all: TRANSACTION_BLOCK_RULE's error says so.
  "ban-drop-database": ADVICE,
};

/**
 * adding-not-nullable-field on a SET NOT NULL that a validated CHECK (col IS NOT NULL) already proves
 * (not-null-proof.ts): PostgreSQL skips the scan, so ACCESS EXCLUSIVE is held for a moment. Advice, a warning on
 * every stack, that says so and what may follow.
 */
export function provenNotNull(constraint: string): Pick<RuleInfo, "kind" | "lock" | "problem" | "saferForm"> {
  return {
    kind: "advice",
    lock: `${ACCESS_EXCLUSIVE}, for a moment: no scan`,
    problem: `SET NOT NULL skips its scan of the table: the validated CHECK constraint ${constraint} proves the column holds no NULL (PostgreSQL 12 and later), so the lock is held only while the catalog changes.`,
    saferForm: `nothing to change; once SET NOT NULL is applied, the CHECK constraint ${constraint} checks what NOT NULL does, and a later migration may drop it (ALTER TABLE ... DROP CONSTRAINT, which changes the catalog only)`,
  };
}

/**
 * moving-tablespace on `ALTER TABLE | INDEX | MATERIALIZED VIEW ALL IN TABLESPACE from ... SET TABLESPACE`:
 * PostgreSQL locks every relation of that kind in `from` first (AlterTableMoveAll), then copies each in the
 * migration's transaction, which holds their ACCESS EXCLUSIVE locks until it commits. The lint does not list
 * them: it weighs the statement as one on tables that hold data.
 */
export function movingAllInTablespace(
  kind: "table" | "index" | "materialized view",
  from: string,
): Pick<RuleInfo, "problem" | "lock" | "saferForm"> {
  const blocks = {
    table: "their reads and writes",
    "materialized view": "their reads",
    index: "the reads and writes of their tables",
  }[kind];
  return {
    problem: `ALTER ${kind.toUpperCase()} ALL IN TABLESPACE ${from} moves every ${kind} in tablespace ${from} (only those of the roles OWNED BY names, when it is given), not one named "all": it locks them all under ACCESS EXCLUSIVE first, then copies each whole (a rewrite), and the locks are held until the migration commits, which blocks ${blocks}. The lint does not weigh them one by one: it weighs the statement as one on tables that hold data.`,
    lock: `${ACCESS_EXCLUSIVE} on every ${kind} of the tablespace, from before the first copy until the migration commits`,
    saferForm: `${MOVE_BY_HAND[kind]}, one ${kind} at a time`,
  };
}

/**
 * changing-column-type on an ALTER COLUMN ... TYPE that PostgreSQL makes in the catalog alone, as the live
 * column's type shows (type-change.ts): no rewrite, no scan, no index rebuild, so ACCESS EXCLUSIVE is held
 * for a moment. `because`: why the values stay, where binary coercion is not it (the migration's time zone). Advice, a warning on every stack, as SET NOT NULL proven by a CHECK is (provenNotNull): the
 * lock is brief, but the column's type changes under the app still running.
 */
export function rewriteFreeTypeChange(
  from: string,
  to: string,
  because?: string,
): Pick<RuleInfo, "kind" | "lock" | "problem" | "saferForm"> {
  const why = because
    ? `the stored values stay as they are because ${because}`
    : "the values are binary-coercible and fit the new type unchanged";
  const change =
    from === to
      ? `The column is ${from} already, so PostgreSQL changes it in the catalog alone`
      : `The column is ${from} now, and PostgreSQL changes ${from} to ${to} in the catalog alone (${why})`;
  return {
    kind: "advice",
    lock: `${ACCESS_EXCLUSIVE}, for a moment: no rewrite`,
    problem: `${change}: no rewrite of the table, no scan and no rebuild of its indexes, so the lock is held only while the catalog changes.`,
    saferForm:
      "nothing to change for the lock; make sure every app version still running accepts the column's new type (a longer value, a wider number) before the release",
  };
}

/**
 * changing-access-method on a SET ACCESS METHOD naming the method the table (materialized view) already has, as
 * the live catalog shows it (access-method.ts): PostgreSQL plans no rewrite, and the lock is held for a moment.
 * Advice, a warning on every stack, as a type change made in the catalog alone is.
 */
export function accessMethodUnchanged(
  method: string,
): Pick<RuleInfo, "kind" | "lock" | "problem" | "saferForm"> {
  return {
    kind: "advice",
    lock: `${ACCESS_EXCLUSIVE}, for a moment: no rewrite`,
    problem: `The relation uses the access method ${method} already, so PostgreSQL rewrites nothing: the lock is held only while the statement runs.`,
    saferForm: "nothing to change for the lock; the statement changes nothing and may be left out",
  };
}

/**
 * adding-field-with-default on an ADD COLUMN whose DEFAULT calls only functions the live catalog shows are not
 * volatile (stored-default.ts): PostgreSQL evaluates it once and stores the value, rewriting nothing. Advice, a
 * warning on every stack, as a SET ACCESS METHOD that changes nothing is.
 */
export function storedOnceDefault(
  functions: readonly string[],
): Pick<RuleInfo, "kind" | "lock" | "problem" | "saferForm"> {
  const calls =
    functions.length === 0
      ? ""
      : ` (${functions.map((f) => `${f}()`).join(", ")}: immutable or stable in the catalog)`;
  return {
    kind: "advice",
    lock: `${ACCESS_EXCLUSIVE}, for a moment: no rewrite`,
    problem: `The DEFAULT calls no volatile function${calls}, so PostgreSQL 11 and later evaluate it once, when the column is added, and store the value in the catalog: no rewrite of the table, and the lock is held only while the catalog changes.`,
    saferForm:
      "nothing to change for the lock; every row already there gets the value the DEFAULT has when the migration runs (a stable function's result at that moment), and each row inserted later its own",
  };
}

/** squawk rules not asked for: the engine sets both timeouts and wraps each migration in a transaction,
 *  and these are about style, not about keeping the app up. `ban-concurrent-index-creation-in-transaction`
 *  is one case of what the engine checks itself, for every statement that cannot run in a transaction
 *  (transaction-block.ts); `transaction-nesting` and `ban-uncommitted-transaction` are what the engine refuses
 *  itself as transaction-control (transaction-control.ts), and squawk's transaction-nesting reports a
 *  ROLLBACK TO SAVEPOINT too, which ends nothing. */
export const EXCLUDED_RULES = [
  "require-lock-timeout",
  "require-statement-timeout",
  "require-timeout-settings",
  "prefer-robust-stmts",
  "prefer-timestamp-tz",
  "prefer-bigint-over-int",
  "prefer-bigint-over-smallint",
  "prefer-identity",
  "ban-char-field",
  "ban-concurrent-index-creation-in-transaction",
  "transaction-nesting",
  "ban-uncommitted-transaction",
] as const;

/**
 * The rules the pinned squawk (squawk-cli in package.json) runs by default, as its --exclude takes them. squawk
 * refuses an --exclude naming a rule it does not have: every lint run checks the excluded ones, and
 * test/lint/exemptions.test.ts the others. Its opt-in rules (require-table-schema, prefer-repack) are not
 * asked for.
 */
export const SQUAWK_RULES = [
  "adding-field-with-default",
  "adding-foreign-key-constraint",
  "adding-not-nullable-field",
  "adding-required-field",
  "adding-serial-primary-key-field",
  "ban-alter-domain-with-add-constraint",
  "ban-char-field",
  "ban-concurrent-index-creation-in-transaction",
  "ban-create-domain-with-constraint",
  "ban-drop-column",
  "ban-drop-database",
  "ban-drop-not-null",
  "ban-drop-table",
  "ban-truncate-cascade",
  "ban-uncommitted-transaction",
  "changing-column-type",
  "constraint-missing-not-valid",
  "disallowed-unique-constraint",
  "identifier-too-long",
  "prefer-bigint-over-int",
  "prefer-bigint-over-smallint",
  "prefer-identity",
  "prefer-robust-stmts",
  "prefer-text-field",
  "prefer-timestamp-tz",
  "renaming-column",
  "renaming-table",
  "require-concurrent-index-creation",
  "require-concurrent-index-deletion",
  "require-concurrent-partition-detach",
  "require-concurrent-reindex",
  "require-enum-value-ordering",
  "require-lock-timeout",
  "require-statement-timeout",
  "require-timeout-settings",
  "transaction-nesting",
] as const;

/** squawk's name for a statement its parser cannot read (and, once the server's parser refuses it too, the lint's). */
export const SYNTAX_ERROR_RULE = "syntax-error";
/** The lint's warning on a statement squawk's parser cannot read and the server's parser can: none of squawk's
 *  rules was checked on it (unreadable.ts). */
export const UNCHECKED_STATEMENT_RULE = "unchecked-statement";
/** The lint's warning on what a DO block runs that it cannot read: SQL built at run time (EXECUTE) or a body
 *  in a language other than PL/pgSQL (do-blocks.ts). */
export const UNCHECKED_DO_BLOCK_RULE = "unchecked-do-block";
/** Warnings that say what the lint did not check: they block nothing, so an exemption has nothing to accept. */
export const UNCHECKED_RULES: readonly string[] = [UNCHECKED_STATEMENT_RULE, UNCHECKED_DO_BLOCK_RULE];
/**
 * The released migrations whose DO blocks build SQL at run time, reviewed by hand when they were released: the
 * warning, added after them, does not judge them (as RuleInfo.notJudging for the weighed rules).
 */
const UNCHECKED_DO_BLOCK_NOT_JUDGING: readonly string[] = ["20261204050000_prefilter_depth_by_size"];
/** The engine's own finding: a statement PostgreSQL refuses inside a transaction block (transaction-block.ts). */
export const TRANSACTION_BLOCK_RULE = "cannot-run-in-transaction";
/** The engine's own finding: COMMIT, ROLLBACK, BEGIN and the like in a section, or COMMIT or ROLLBACK in a DO
 *  block, which would end the transaction the migration runs in part way (transaction-control.ts). */
export const TRANSACTION_CONTROL_RULE = "transaction-control";
/** A finding on an exemption comment itself (exemptions.ts). */
export const EXEMPTION_RULE = "neonhub-db:allow";

/**
 * Findings no exemption accepts, errors in every environment and on any table: a statement PostgreSQL cannot
 * run as written (apply would stop at it whatever the table holds) and a malformed exemption comment.
 */
export const UNEXEMPTABLE_RULES: readonly string[] = [
  SYNTAX_ERROR_RULE,
  TRANSACTION_BLOCK_RULE,
  TRANSACTION_CONTROL_RULE,
  EXEMPTION_RULE,
];

/** The lint's own rules, on statements squawk does not report (unflagged.ts). */
export const UNFLAGGED_RULES = [
  "truncating-table",
  "deleting-all-rows",
  "updating-all-rows",
  "clustering-table",
  "moving-tablespace",
  "changing-table-logging",
  "changing-access-method",
  BACKFILL_UNDER_LOCK_RULE,
] as const;

/** The rules an exemption may name: those the lint asks squawk for, and its own, and weighs. */
export const EXEMPTABLE_RULES: readonly string[] = [
  ...SQUAWK_RULES.filter((rule) => !(EXCLUDED_RULES as readonly string[]).includes(rule)),
  ...UNFLAGGED_RULES,
];

/**
 * What `rule` means for the statement it was reported on: `action` is the ALTER TABLE action squawk points at,
 * when it points at one (statements.ts, alterTableAction). A rule squawk reports that this table does not list
 * (a newer squawk) is weighed like a blocking one. Its syntax errors never come here: they are not a rule to
 * weigh (core/lint/syntax-errors.ts).
 */
/** Whether `rule` judges the migration `name` (a released one it came after may not be). */
export function ruleJudges(rule: string, name: string): boolean {
  const notJudging =
    rule === UNCHECKED_DO_BLOCK_RULE ? UNCHECKED_DO_BLOCK_NOT_JUDGING : RULES[rule]?.notJudging;
  return !(notJudging ?? []).includes(name);
}

export function ruleInfo(rule: string, action?: string): RuleInfo {
  const info = RULES[rule] ?? {
    kind: "blocking",
    lock: "see squawk's documentation of the rule",
    saferForm: "see squawk's documentation of the rule",
  };
  if (action === undefined) return info;
  if (rule === "adding-field-with-default") return { ...info, ...REWRITING_COLUMNS[rewritingColumn(action)] };
  const constraint = addedConstraint(action);
  if (constraint === undefined || !CONSTRAINT_RULES.has(rule)) return info;
  return { ...info, ...CONSTRAINTS[constraint] };
}
