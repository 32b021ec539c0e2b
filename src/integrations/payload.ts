/** A webhook field that must be a non-empty string to count; anything else (numbers, objects) is absent. */
export function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length ? value : null;
}

/** Caps what one webhook can put into the audit log (objects listed as drifted or changed). */
export const MAX_LISTED_RESOURCES = 200;
