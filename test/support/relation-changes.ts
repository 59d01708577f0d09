// What a statement does to a table, as PostgreSQL shows it inside the statement's own transaction (rolled
// back): whether the table got a new file (a rewrite or copy, pg_relation_filenode) and the lock modes it
// holds on each relation named. The lint tests compare their findings with it.
import { withClient } from "./database";

export interface RelationChanges {
  /** Whether `table`'s file changed. */
  rewritten: boolean;
  /** pg_locks modes held per relation (as regclass text), e.g. { t: ["AccessExclusiveLock"] }. */
  locks: Record<string, string[]>;
}

export function relationChanges(
  url: string,
  statement: string,
  table: string,
  relations: readonly string[] = [table],
): Promise<RelationChanges> {
  return withClient(url, async (c) => {
    // A dropped table has no file: null.
    const file = async () =>
      (
        await c.query<{ f: string | null }>("SELECT pg_relation_filenode(to_regclass($1))::text AS f", [
          table,
        ])
      ).rows[0]!.f;
    const before = await file();
    // Resolved before the statement, which may drop them (DROP TABLE): pg_locks keeps their oids.
    const oids = (
      await c.query<{ oid: string; name: string }>(
        "SELECT r::oid::text AS oid, r::text AS name FROM unnest($1::regclass[]) r",
        [relations],
      )
    ).rows;
    const names = new Map(oids.map((r) => [r.oid, r.name]));
    await c.query("BEGIN");
    try {
      await c.query(statement);
      const held = await c.query<{ relation: string; mode: string }>(
        `SELECT relation::text AS relation, mode FROM pg_locks
          WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = ANY($1::oid[])`,
        [[...names.keys()]],
      );
      const locks: Record<string, string[]> = {};
      for (const { relation, mode } of held.rows) (locks[names.get(relation)!] ??= []).push(mode);
      return { rewritten: (await file()) !== before, locks };
    } finally {
      await c.query("ROLLBACK");
    }
  });
}
