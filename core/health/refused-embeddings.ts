// Health's one scan of each embedded table for the rows the dimension trigger refuses: zero-vector embeddings
// (zero-embeddings.ts), embeddings of another dimension than their space (wrong-dimension-embeddings.ts) and
// embeddings a halfvec index holds as the zero vector (below-halfvec-embeddings.ts), read together as embedding-looks.ts says and reported apart, as the report has them.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "../command-to-run";
import {
  GUARDED_TABLES,
  embeddingLookFindings,
  readEmbeddingLooks,
  type EmbeddedTable,
} from "./embedding-looks";
import { BELOW_HALFVEC_LOOK } from "./below-halfvec-embeddings";
import type { HealthFinding, HealthReport } from "./report";
import { WRONG_DIMENSION_LOOK } from "./wrong-dimension-embeddings";
import { ZERO_LOOK } from "./zero-embeddings";

/** Each embedded table's rows of each kind, as the report holds them. */
export type RefusedEmbeddings = Pick<
  HealthReport,
  "zeroEmbeddings" | "wrongDimensionEmbeddings" | "belowHalfvecEmbeddings"
>;

const LOOKS = [ZERO_LOOK, WRONG_DIMENSION_LOOK, BELOW_HALFVEC_LOOK] as const;

/**
 * Scans each table that exists once, within `timeoutMs` each, inside the caller's transaction; a table that
 * reads one of `lockedTables` (whose lock the report already waited out) is `locked` without a wait.
 */
export async function readRefusedEmbeddings(
  client: ClientBase,
  timeoutMs: number,
  tables: readonly EmbeddedTable[] = GUARDED_TABLES,
  lockedTables: readonly string[] = [],
): Promise<RefusedEmbeddings> {
  const [zeroEmbeddings = [], wrongDimensionEmbeddings = [], belowHalfvecEmbeddings = []] =
    await readEmbeddingLooks(client, LOOKS, timeoutMs, tables, lockedTables);
  return { zeroEmbeddings, wrongDimensionEmbeddings, belowHalfvecEmbeddings };
}

/**
 * An action per table and kind with such rows (their count, the first ids, the fix); a note per table whose
 * scan did not finish. `print`: how a note prints the health to run again (HealthOptions.printCommand).
 */
export function refusedEmbeddingFindings(
  readings: RefusedEmbeddings,
  timeoutMs: number,
  tables: readonly EmbeddedTable[] = GUARDED_TABLES,
  print?: CommandPrinter,
): HealthFinding[] {
  return embeddingLookFindings(
    LOOKS,
    [readings.zeroEmbeddings, readings.wrongDimensionEmbeddings, readings.belowHalfvecEmbeddings],
    timeoutMs,
    tables,
    print,
  );
}
