// `baseline` and `adopt` take over a schema the migrations build. The Prisma-era NeonHub schema is not one:
// its tables differ from the release's by design, so a proof would run in full only to list hundreds of
// differences, and a partial baseline (--to the extensions) would succeed and record migrations the upgrade
// then refuses to run over (it needs an empty ledger). So both refuse it first, before any proof or write,
// with the one path that takes it: the upgrade in place.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import { ReleaseError } from "../errors";
import { isLegacyDatabase } from "./legacy-inspection";
import { UPGRADING_SECTION } from "./runbook-sections";
import { WORK_SCHEMA } from "./upgrade/names";

/**
 * What `command` cannot do on it: baseline and adopt take over a schema the migrations build; health reads
 * the release's tables (their embeddings, vector and hot-path indexes), whose names the legacy tables share
 * without their columns, so it would fail on the first one as if the release's schema had been changed by hand.
 */
const WHY_NOT: Record<"baseline" | "adopt" | "health", string> = {
  baseline: "baseline does not apply to it, and nothing was proven or written.",
  adopt: "adopt does not apply to it, and nothing was proven or written.",
  health:
    "health reads the release's tables (their embeddings and indexes), which it does not have until it is upgraded; nothing was read.",
};

/** Refuses the Prisma-era NeonHub database (or one whose upgrade is under way) for `command`. Read-only. */
export async function refuseLegacyDatabase(
  client: ClientBase,
  command: "baseline" | "adopt" | "health",
): Promise<void> {
  if (!(await isLegacyDatabase(client))) return;
  const { rows } = await client.query<{ upgrading: boolean; ledger: boolean }>(
    `SELECT to_regnamespace($1) IS NOT NULL AS upgrading, to_regnamespace($2) IS NOT NULL AS ledger`,
    [WORK_SCHEMA, BOOKKEEPING_SCHEMA],
  );
  const { upgrading, ledger } = rows[0]!;
  const message =
    `This database has the Prisma-era NeonHub schema (a "Message" table with a free-text "role" and no "conversationId"), ` +
    `which the migrations do not build: ${WHY_NOT[command]}` +
    (upgrading ? ` An upgrade in place of it is under way (schema ${WORK_SCHEMA}).` : "");
  const upgrade =
    '`neonhub-db plan --upgrade-legacy` shows its steps and the rows that stop it, and `neonhub-db apply --upgrade-legacy --legacy-organization <slug>` runs it (as the migrator: --database-url "$DIRECT_URL")';
  // A ledger beside the legacy tables is an earlier baseline's (--to), which the upgrade refuses to run over.
  const clearLedger =
    ledger && !upgrading
      ? ` First remove the ledger an earlier baseline or adopt recorded over it, which the upgrade refuses: DROP SCHEMA ${BOOKKEEPING_SCHEMA} CASCADE (before the upgrade it holds nothing else).`
      : "";
  const fix = upgrading
    ? `Resume the upgrade: ${upgrade} (${UPGRADING_SECTION}).`
    : `Upgrade it in place${command === "health" ? "" : " instead"}: ${upgrade}; snapshot it and rehearse on a copy first (${UPGRADING_SECTION}).${clearLedger}`;
  throw new ReleaseError("invalid-input", message, fix);
}
