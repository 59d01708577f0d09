// Which RDS engine versions ship the pgvector extension (`CREATE EXTENSION vector`). A pure function, so the
// policy and its tests share one table.
//
// Sources:
// - RDS for PostgreSQL: pgvector from 15.2 (AWS "What's New", 2023-05-03), and on every minor of 16 and later.
// - Aurora PostgreSQL: from 15.3, 14.8, 13.11 and 12.15 (AWS "What's New", 2023-07-13).
// - For RDS 12-14 no announcement names the first minor with pgvector; we use the floors of the release train
//   that brought it to Aurora (the May 2023 minors). A floor that is one minor too high costs a minor upgrade;
//   one that is too low lets a database through whose `CREATE EXTENSION vector` fails in production.
// - PostgreSQL 11 and older: no pgvector on either engine that we can vouch for, and past RDS standard support.
import type { PostgresEngine } from "./engines";

/** From this major version on, every minor version has pgvector. */
export const PGVECTOR_ON_EVERY_MINOR_FROM = 16;

/** The first minor version with pgvector, per engine and major version. */
export const PGVECTOR_FIRST_MINOR: Readonly<Record<PostgresEngine, Readonly<Record<number, number>>>> = {
  postgres: { 15: 2, 14: 8, 13: 11, 12: 15 },
  "aurora-postgresql": { 15: 3, 14: 8, 13: 11, 12: 15 },
};

/**
 * Why `engineVersion` of `engine` has no pgvector, or undefined when it has. An absent version means the
 * engine's default version, which AWS keeps on a recent major; a major without a minor ("16") means its
 * default minor, likewise recent.
 */
export function pgvectorVersionProblem(
  engine: PostgresEngine,
  engineVersion: string | undefined,
): string | undefined {
  if (engineVersion === undefined || engineVersion === "") return undefined;
  // RDS versions look like "16.4", "16" or "11.22-rds.20240418"; only the leading numbers matter here.
  const match = /^(\d+)(?:\.(\d+))?/.exec(engineVersion);
  if (!match) return `engine version "${engineVersion}" is not a PostgreSQL version`;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? undefined : Number(match[2]);
  if (major >= PGVECTOR_ON_EVERY_MINOR_FROM) return undefined;

  const firstMinor = PGVECTOR_FIRST_MINOR[engine][major];
  if (firstMinor === undefined) {
    return `${engine} ${major} has no pgvector; use ${engine} ${PGVECTOR_ON_EVERY_MINOR_FROM} or later`;
  }
  if (minor !== undefined && minor < firstMinor) {
    return `${engine} ${major}.${minor} has no pgvector; it arrived in ${major}.${firstMinor}`;
  }
  return undefined;
}
