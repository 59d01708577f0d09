// The lines that split a migration file into the Up and Down sections node-pg-migrate runs.

export const UP_MARKER = /^\s*--[\s-]*up\s+migration/im;
export const DOWN_MARKER = /^\s*--[\s-]*down\s+migration/im;

/** Whether text holds a line node-pg-migrate takes for a section's start. */
export function holdsSectionMarker(text: string): boolean {
  return UP_MARKER.test(text) || DOWN_MARKER.test(text);
}
