// Whether an earlier run of this upgrade got past its contract here: the work schema is gone with the legacy
// tables, so the ledger and the organization the upgrade created are what remain of it. The organization's
// id is derived from its slug (names.ts), which no release creates by itself, so a database holding it with a
// ledger was upgraded for that organization. A run stopped after that point (in the release's own steps) is
// finished by the same command, which then runs what plain apply would.
import type { ClientBase } from "pg";
import { readLedger } from "../../migrations/ledger";
import { LEGACY_SCHEMA, type LegacyOrganization } from "./names";

export async function upgradeContractedHere(client: ClientBase, org: LegacyOrganization): Promise<boolean> {
  if ((await readLedger(client)).length === 0) return false;
  // Guarded: a database without the release's Organization table (or one this role may not read) is not one.
  const { rows } = await client.query<{ readable: boolean }>(
    `SELECT coalesce(has_table_privilege(to_regclass(format('%I."Organization"', $1::text)), 'SELECT'), false) AS readable`,
    [LEGACY_SCHEMA],
  );
  if (!rows[0]?.readable) return false;
  const found = await client.query(
    `SELECT 1 FROM ${LEGACY_SCHEMA}."Organization" WHERE id = $1 AND slug = $2`,
    [org.id, org.slug],
  );
  return found.rows.length > 0;
}
