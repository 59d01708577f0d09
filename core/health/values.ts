// Small conversions from what `pg` returns (bigint as text, timestamptz as Date) to plain JSON values.

/** A bigint counter (pg returns int8 as text); 0 for NULL. */
export function count(value: string | number | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A nullable number (bigint as text, numeric, float8). */
export function numberOrNull(value: string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function timestamp(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}
