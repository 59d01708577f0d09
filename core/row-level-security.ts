// Whether the tenant tables' row-level security policies are enforced, as a release step.
//
// The migrations create the policies and enable row-level security on every tenant table. A stack whose
// application does not yet set app.current_organization_id can turn enforcement off: this step then runs
// ALTER TABLE ... DISABLE ROW LEVEL SECURITY on every table that has a policy, leaving each policy in place,
// and ENABLE again once the stack says "enforce". It runs after the migrations, so a table a later migration
// creates (enabled) follows the stack's mode too.
//
// The mode is recorded in the engine's schema. A run that names no mode (the CLI without a flag) keeps the
// recorded one rather than flipping a stack that turned enforcement off; with nothing recorded it is
// "enforce", the migrations' own state.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "./bookkeeping";
import { sha256 } from "./checksum";
import { applyAgain, type CommandPrinter } from "./command-to-run";
import { ReleaseError } from "./errors";
import type { Logger } from "./logger";
import { isoTime } from "./sql";
import type {
  PolicyTableName,
  RowLevelSecurityItemResult,
  RowLevelSecurityPlanItem,
  RowLevelSecurityStatus,
} from "./results";
import type { ReleaseStep, StepApplyOptions, StepBatch, StepManifestEntry } from "./steps";
import { quoteIdentifier } from "./identifiers";
import { LOCK_NOT_AVAILABLE } from "./lock-safety/settings";

export const ROW_LEVEL_SECURITY_MODES = ["enforce", "off"] as const;
export type RowLevelSecurityMode = (typeof ROW_LEVEL_SECURITY_MODES)[number];

const RECORD = `${BOOKKEEPING_SCHEMA}.row_level_security`;

/** How long an ALTER TABLE may wait for its lock: queued behind a long query, it would stall every other one. */
const LOCK_TIMEOUT = "10s";

const ROW_LEVEL_SECURITY_DDL = `
CREATE TABLE IF NOT EXISTS ${RECORD} (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  mode text NOT NULL CHECK (mode IN (${ROW_LEVEL_SECURITY_MODES.map((m) => `'${m}'`).join(", ")})),
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text NOT NULL DEFAULT current_user
);
`;

// Tables outside the system and engine schemas that have at least one policy: the tenant tables.
const POLICY_TABLES = `
SELECT n.nspname AS schema, c.relname AS table, c.relrowsecurity AS enabled
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', '${BOOKKEEPING_SCHEMA}')
   AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
 ORDER BY 1, 2`;

interface PolicyTable {
  schema: string;
  table: string;
  enabled: boolean;
}

export function parseRowLevelSecurityMode(raw: string, source: string): RowLevelSecurityMode {
  if ((ROW_LEVEL_SECURITY_MODES as readonly string[]).includes(raw)) return raw as RowLevelSecurityMode;
  throw new ReleaseError(
    "invalid-input",
    `${source} must be one of ${ROW_LEVEL_SECURITY_MODES.join(", ")} (got "${raw}").`,
    'Use "enforce" (the default) once the application sets app.current_organization_id in every transaction, "off" until then.',
  );
}

export interface RowLevelSecurityStepOptions {
  /** The stack's mode; undefined keeps the mode the database records ("enforce" when none). */
  mode?: RowLevelSecurityMode;
}

export class RowLevelSecurityStep implements ReleaseStep<"rowLevelSecurity"> {
  readonly kind = "rowLevelSecurity";
  readonly bookkeepingDdl = ROW_LEVEL_SECURITY_DDL;
  readonly mode: RowLevelSecurityMode | undefined;

  constructor(options: RowLevelSecurityStepOptions = {}) {
    this.mode = options.mode;
  }

  readonly batch: StepBatch<"rowLevelSecurity"> = {
    probeSql: () => "'null'::jsonb",
    stateSql: () => `jsonb_build_object(
        'record', (SELECT jsonb_build_object('mode', mode, 'changedAt', ${isoTime("changed_at")}, 'changedBy', changed_by)
                     FROM ${RECORD} WHERE id = 1),
        'tables', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.schema, t."table"), '[]'::jsonb) FROM (${POLICY_TABLES}) t))`,
    planFromState: (state) => this.planOf(state as RowLevelSecurityState),
    noopFromState: (state) => {
      const { record } = state as RowLevelSecurityState;
      return this.planOf(state as RowLevelSecurityState).length === 0 && record?.mode === this.modeOf(record);
    },
    noopResults: () => [],
    statusFromState: (state) => statusOf(state as RowLevelSecurityState),
  };

  private modeOf(record: RowLevelSecurityRecord | null | undefined): RowLevelSecurityMode {
    return this.mode ?? record?.mode ?? "enforce";
  }

  private planOf({ record, tables }: RowLevelSecurityState): RowLevelSecurityPlanItem[] {
    return planItems(tables, this.modeOf(record));
  }

  /** A named mode shows in `pulumi preview` when it changes; no mode declares nothing. */
  manifest(): StepManifestEntry[] {
    return this.mode
      ? [{ name: "row-level security", checksum: sha256(`row-level security ${this.mode}`) }]
      : [];
  }

  async plan(client: ClientBase | undefined): Promise<RowLevelSecurityPlanItem[]> {
    const mode = client ? await this.effectiveMode(client) : (this.mode ?? "enforce");
    if (!client) {
      // The migrations will create the tables with row-level security enabled.
      return mode === "enforce"
        ? []
        : [
            {
              name: "tenant tables",
              action: "update",
              reason: "after the migrations: policies kept, not enforced",
            },
          ];
    }
    return planItems(await readPolicyTables(client), mode);
  }

  async apply(
    client: ClientBase,
    log: Logger,
    { printCommand }: StepApplyOptions = {},
  ): Promise<RowLevelSecurityItemResult[]> {
    const mode = await this.effectiveMode(client);
    const results: RowLevelSecurityItemResult[] = [];
    await client.query("BEGIN");
    try {
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      for (const table of await readPolicyTables(client)) {
        if (table.enabled === (mode === "enforce")) continue;
        const started = Date.now();
        const verb = mode === "enforce" ? "ENABLE" : "DISABLE";
        await client.query(
          `ALTER TABLE ${quoteIdentifier(table.schema)}.${quoteIdentifier(table.table)} ${verb} ROW LEVEL SECURITY`,
        );
        results.push({
          name: displayName(table),
          table: tableName(table),
          action: "update",
          durationMs: Date.now() - started,
          details: { rowLevelSecurity: mode === "enforce" ? "enabled" : "disabled" },
        });
      }
      await client.query(
        `INSERT INTO ${RECORD} (id, mode) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET mode = $1, changed_at = now(), changed_by = current_user
         WHERE ${RECORD}.mode IS DISTINCT FROM $1`,
        [mode],
      );
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw describeFailure(error, printCommand);
    }
    if (results.length > 0) log.info(`row-level security ${reasonFor(mode)} on ${results.length} table(s)`);
    return results;
  }

  async status(client: ClientBase): Promise<RowLevelSecurityStatus[]> {
    return statusOf({ record: await readRecord(client), tables: await readPolicyTables(client) });
  }

  private async effectiveMode(client: ClientBase): Promise<RowLevelSecurityMode> {
    return this.mode ?? (await readRecord(client))?.mode ?? "enforce";
  }
}

interface RowLevelSecurityRecord {
  mode: RowLevelSecurityMode;
  changedAt: string;
  changedBy: string;
}

/** What the batched read returns for this step. */
interface RowLevelSecurityState {
  record: RowLevelSecurityRecord | null | undefined;
  tables: PolicyTable[];
}

function statusOf({ record, tables }: RowLevelSecurityState): RowLevelSecurityStatus[] {
  return [
    {
      name: "row-level security",
      mode: record?.mode ?? "enforce",
      tables: tables.length,
      enforced: tables.filter((t) => t.enabled).length,
      changedAt: record?.changedAt ?? null,
      changedBy: record?.changedBy ?? null,
    },
  ];
}

async function readPolicyTables(client: ClientBase): Promise<PolicyTable[]> {
  return (await client.query<PolicyTable>(POLICY_TABLES)).rows;
}

async function readRecord(client: ClientBase): Promise<RowLevelSecurityRecord | undefined> {
  const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [RECORD]);
  if (!exists.rows[0]?.ok) return undefined;
  const { rows } = await client.query<{ mode: RowLevelSecurityMode; changed_at: Date; changed_by: string }>(
    `SELECT mode, changed_at, changed_by FROM ${RECORD} WHERE id = 1`,
  );
  const row = rows[0];
  return row
    ? { mode: row.mode, changedAt: row.changed_at.toISOString(), changedBy: row.changed_by }
    : undefined;
}

function reasonFor(mode: RowLevelSecurityMode): string {
  return mode === "enforce" ? "enforce: policies enforced" : "off: policies kept, not enforced";
}

/** The tables whose enforcement is not the mode's, each an item apply changes. */
function planItems(tables: readonly PolicyTable[], mode: RowLevelSecurityMode): RowLevelSecurityPlanItem[] {
  return tables
    .filter((t) => t.enabled !== (mode === "enforce"))
    .map((t) => ({ name: displayName(t), table: tableName(t), action: "update", reason: reasonFor(mode) }));
}

function tableName(table: PolicyTable): PolicyTableName {
  return { schema: table.schema, name: table.table };
}

/** The item's name in --json, kept as it was: the table alone in public, else `schema.table`, both raw. */
function displayName(table: PolicyTable): string {
  return table.schema === "public" ? table.table : `${table.schema}.${table.table}`;
}

/** A lock timeout's refusal; `print` names the apply to run again (ReleaseOptions.printCommand). */
function describeFailure(error: unknown, print: CommandPrinter | undefined): unknown {
  if ((error as { code?: string })?.code !== LOCK_NOT_AVAILABLE) return error;
  return new ReleaseError(
    "lock-timeout",
    `Could not change row-level security: a table stayed locked for ${LOCK_TIMEOUT} (${(error as Error).message}).`,
    `A long transaction holds one of the tenant tables. Let it finish (pg_stat_activity names it), then ${applyAgain(print, "apply again")}.`,
    { cause: error },
  );
}
