// Small SQL text helpers for the statements the engine composes (the batched reads of a release).
import { escapeLiteral } from "pg";

/** A value as an SQL literal, for statements sent without parameters (several in one round trip). */
export function literal(value: string): string {
  return escapeLiteral(value);
}

/** A JSON value as a jsonb literal. */
export function jsonbLiteral(value: unknown): string {
  return `${escapeLiteral(JSON.stringify(value))}::jsonb`;
}

/** A timestamptz as the text JavaScript's toISOString() gives (UTC, milliseconds), so both read paths agree. */
export function isoTime(expression: string): string {
  return `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
