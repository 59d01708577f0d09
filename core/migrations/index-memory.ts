// A migration (or a Down section) that builds an IVFFlat index, or rewrites a table that has one, fails when
// pgvector's k-means needs more maintenance_work_mem than the session has: "memory required is 72 MB,
// maintenance_work_mem is 64 MB". A rewrite (ADD COLUMN with a volatile DEFAULT, ALTER COLUMN ... TYPE, SET
// ACCESS METHOD) builds every index of the table again, the vector index the release built included, so a
// migration that passed on a small table fails once the table grew: the file is not at fault, and editing it
// would change the checksum every ledger that applied it holds. The migration's sessions run with the server's
// setting (the vector-index step raises it for its own builds alone), so the fix gives this run more.

/** pgvector's refusal to start k-means (src/ivfbuild.c), SQLSTATE program_limit_exceeded. */
const KMEANS_MEMORY = /^memory required is (\d+) MB, maintenance_work_mem is (\d+) MB$/;
const PROGRAM_LIMIT_EXCEEDED = "54000";

export interface IndexMemoryShortfall {
  /** What pgvector asked for, in MB, already rounded up by it. */
  requiredMb: number;
  /** The session's maintenance_work_mem, in MB. */
  haveMb: number;
}

/** The shortfall a server error reports, or undefined when it is another error. */
export function indexMemoryShortfall(error: {
  code?: string;
  message?: string;
}): IndexMemoryShortfall | undefined {
  if (error.code !== undefined && error.code !== PROGRAM_LIMIT_EXCEEDED) return undefined;
  const match = KMEANS_MEMORY.exec(error.message ?? "");
  if (!match) return undefined;
  return { requiredMb: Number(match[1]), haveMb: Number(match[2]) };
}

/** What happened and how to run `command` ("apply", "the revert") again with the memory it needs. */
export function indexMemoryFix({ requiredMb, haveMb }: IndexMemoryShortfall, command: string): string {
  return [
    "The statement builds an IVFFlat index, or rewrites a table that has one (a rewrite builds every index of",
    `the table again, the vector index's k-means included), which needs ${requiredMb} MB of maintenance_work_mem`,
    `where the migration's session has ${haveMb} MB (the server's setting). The file is not at fault: do not edit it.`,
    `Run ${command} again with PGOPTIONS='-c maintenance_work_mem=${requiredMb}MB' in its environment (this run's`,
    "sessions alone), or, as the admin, ALTER ROLE <the migrator's login> SET maintenance_work_mem =",
    `'${requiredMb}MB' (every session of that login), with that much memory free on the server.`,
  ].join(" ");
}
