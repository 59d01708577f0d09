// The scratch database baseline and adopt build the migrations in, on the live database's server. It is
// dropped when the proof is done, and on Ctrl-C or a kill (core/interrupt.ts). What SIGKILL or a lost client
// leaves, the next proof for the same database drops, when it can prove the database is one of ours and
// abandoned: its name is ours, and its comment, written right after it was created, names the session that
// made it (which has ended) and the database the proof was for.
import { randomBytes } from "node:crypto";
import type { ClientBase } from "pg";
import { ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";
import { undoOnInterrupt } from "./interrupt";
import type { Logger } from "./logger";
import { literal } from "./sql";

const PREFIX = "neonhub_baseline_";
const NAME_PATTERN = /^neonhub_baseline_[0-9a-f]{8}$/;
/** The application_name of the proof's own session in the scratch database. */
export const SCRATCH_APPLICATION = "neonhub-db:baseline";
/** The comment's first words; a JSON Creator follows them. */
const MARKER = "neonhub-db scratch database for a baseline/adopt proof, made by: ";

/** The session that made a scratch database, as its comment records it. */
interface Creator {
  pid: number;
  /** Its backend_start as epoch seconds (text): the same instant reads the same whatever the TimeZone. */
  started: string;
  /** The database whose schema the proof was for. */
  database: string;
}

export interface ScratchDatabase {
  name: string;
  /** Drops it (whatever is connected to it), once. */
  drop(): Promise<void>;
}

/**
 * Creates the scratch database over `client` (a login with CREATEDB), owned by `owner` when given, marked as
 * made by `client`'s session, and dropped on SIGINT/SIGTERM until drop() is called. Leftovers of earlier
 * proofs for the same database are dropped first.
 */
export async function createScratchDatabase(
  client: ClientBase,
  options: { owner?: string; log: Logger },
): Promise<ScratchDatabase> {
  const { log } = options;
  const creator = await thisSession(client);
  await dropAbandonedScratchDatabases(client, creator.database, log);
  const name = `${PREFIX}${randomBytes(4).toString("hex")}`;
  const dropSql = `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`;
  // Registered before CREATE: a signal during it queues the DROP on the same connection, after it.
  const unregister = undoOnInterrupt(async () => {
    log.warn(`interrupted: dropping the scratch database ${name} before exiting`);
    await client.query(dropSql).catch(() => {});
  });
  try {
    const ownedBy = options.owner ? ` OWNER ${quoteIdentifier(options.owner)}` : "";
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)}${ownedBy}`);
  } catch (error) {
    unregister();
    throw new ReleaseError(
      "permission",
      `Proving the schema needs a scratch database on the server, and creating one failed: ${(error as Error).message}`,
      "Run baseline or adopt as a login with CREATEDB (the stack's admin), or on a copy of the database where it has it. Nothing was written.",
      { cause: error },
    );
  }
  await client
    .query(`COMMENT ON DATABASE ${quoteIdentifier(name)} IS ${literal(MARKER + JSON.stringify(creator))}`)
    .catch((error: Error) =>
      // Unmarked, a leftover of this proof is only reported by the next one, not dropped.
      log.warn(`could not mark the scratch database ${name} as neonhub-db's: ${error.message}`),
    );
  log.info(`scratch database ${name} created on the server; dropped when the proof is done`);
  let dropped = false;
  return {
    name,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await client
        .query(dropSql)
        .catch((error: Error) => log.warn(`could not drop the scratch database ${name}: ${error.message}`));
      unregister();
    },
  };
}

async function thisSession(client: ClientBase): Promise<Creator> {
  const { rows } = await client.query<Creator>(
    `SELECT pid, extract(epoch FROM backend_start)::text AS started, current_database() AS database
       FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
  );
  return rows[0]!;
}

function creatorOf(comment: string | null): Creator | undefined {
  if (!comment?.startsWith(MARKER)) return undefined;
  try {
    const creator = JSON.parse(comment.slice(MARKER.length)) as Partial<Creator>;
    const valid =
      typeof creator.pid === "number" &&
      typeof creator.started === "string" &&
      typeof creator.database === "string";
    return valid ? (creator as Creator) : undefined;
  } catch {
    return undefined;
  }
}

interface Candidate {
  name: string;
  comment: string | null;
  /** Sessions connected to it other than a proof's own (SCRATCH_APPLICATION). */
  others: number;
}

/**
 * Drops the scratch databases earlier proofs for `database` left (killed with SIGKILL, or a client that lost
 * its server): those with our name and our marker whose creating session has ended and that no session but
 * the dead proof's own is connected to (a killed client's session ends only once the server notices). Those
 * an abandoned proof for another database left are named, not dropped: the server may be shared, and their
 * own next proof drops them. One with our name but no marker (made before scratch databases were marked) is
 * named with the statement that drops it: nothing proves it is not someone else's.
 */
export async function dropAbandonedScratchDatabases(
  client: ClientBase,
  database: string,
  log: Logger,
): Promise<string[]> {
  const { rows } = await client.query<Candidate>(
    `SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment,
            (SELECT count(*)::int FROM pg_stat_activity a
              WHERE a.datid = d.oid AND a.application_name IS DISTINCT FROM $2) AS others
       FROM pg_database d
      WHERE starts_with(d.datname, $1)
      ORDER BY d.datname`,
    [PREFIX, SCRATCH_APPLICATION],
  );
  const dropped: string[] = [];
  for (const candidate of rows.filter((r) => NAME_PATTERN.test(r.name))) {
    const creator = creatorOf(candidate.comment);
    const byHand = `DROP DATABASE ${quoteIdentifier(candidate.name)}`;
    if (!creator) {
      log.warn(
        `database ${candidate.name} looks like a scratch database an earlier baseline or adopt left, but carries no neonhub-db marker, so it is left alone; if it is one, drop it: ${byHand}`,
      );
      continue;
    }
    if (await sessionAlive(client, creator)) continue;
    const left = `the scratch database ${candidate.name}, left by an interrupted baseline or adopt of database ${creator.database}`;
    if (creator.database !== database) {
      log.warn(`${left}, is left for its next proof to drop; or drop it now: ${byHand}`);
      continue;
    }
    if (candidate.others > 0) {
      log.warn(
        `${left}, is left alone: ${candidate.others} other session(s) use it; once they are done: ${byHand}`,
      );
      continue;
    }
    try {
      // FORCE ends the dead proof's own session, which the server may not have noticed is gone yet.
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(candidate.name)} WITH (FORCE)`);
      dropped.push(candidate.name);
      log.info(`dropped ${left} (its session, pid ${creator.pid}, has ended)`);
    } catch (error) {
      log.warn(`could not drop ${left}: ${(error as Error).message}; drop it as its owner: ${byHand}`);
    }
  }
  return dropped;
}

/** Whether the creating session still runs; one whose start pg_stat_activity hides counts as running. */
async function sessionAlive(client: ClientBase, creator: Creator): Promise<boolean> {
  const { rows } = await client.query<{ started: string | null }>(
    `SELECT extract(epoch FROM backend_start)::text AS started FROM pg_stat_activity WHERE pid = $1`,
    [creator.pid],
  );
  const row = rows[0];
  return row !== undefined && (row.started === null || row.started === creator.started);
}
