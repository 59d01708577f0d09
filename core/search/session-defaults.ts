// Hand-written vector queries get the calibrated setting too: the release makes the main index's setting
// (idx_chunk_embedding_cosine's ivfflat.probes or hnsw.ef_search, a setting is one value per database) the
// database's default for every session (ALTER DATABASE ... SET), so the app and read-only logins start with
// it; the search functions carry their own. Only the database's owner may: when the release's login is not,
// the release warns and goes on (hand-written queries then keep the server's default, and should call the
// search functions).
import type { ClientBase } from "pg";
import type { Logger } from "../logger";
import { quoteIdentifier } from "../identifiers";

export async function setDatabaseSearchDefault(
  client: ClientBase,
  setting: "ivfflat.probes" | "hnsw.ef_search",
  value: number,
  log: Logger,
): Promise<boolean> {
  const database = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]!.db;
  const ident = quoteIdentifier(database);
  try {
    await client.query(`ALTER DATABASE ${ident} SET ${setting} = ${Math.trunc(value)}`);
    log.info(`database ${database}: ${setting} = ${Math.trunc(value)} is every new session's default`);
    return true;
  } catch (error) {
    log.warn(
      `database ${database}: could not make ${setting} = ${Math.trunc(value)} the sessions' default ` +
        `(${(error as Error).message}); hand-written queries keep the server's default: call search_chunks() / search_messages(), or run ALTER DATABASE as its owner`,
    );
    return false;
  }
}
