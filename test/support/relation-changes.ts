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
    const file = async () =>
      (await c.query<{ f: string }>("SELECT pg_relation_filenode($1::regclass)::text AS f", [table])).rows[0]!
        .f;
    const before = await file();
    await c.query("BEGIN");
    try {
      await c.query(statement);
      const held = await c.query<{ relation: string; mode: string }>(
        `SELECT relation::regclass::text AS relation, mode FROM pg_locks
          WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = ANY($1::regclass[])`,
        [relations],
      );
      const locks: Record<string, string[]> = {};
      for (const { relation, mode } of held.rows) (locks[relation] ??= []).push(mode);
      return { rewritten: (await file()) !== before, locks };
    } finally {
      await c.query("ROLLBACK");
    }
  });
}
