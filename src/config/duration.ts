const UNIT_SECONDS = { d: 86400, h: 3600, m: 60, s: 1 } as const;

/**
 * `90s`, `30m`, `24h`, `7d` and compound forms in descending units (`1h30m`, `1d12h`), optionally
 * negative (`-4h`, escalation reminders before due).
 */
export const DURATION_PATTERN = /^-?(?=\d)(?:\d{1,9}d)?(?:\d{1,9}h)?(?:\d{1,9}m)?(?:\d{1,9}s)?$/;
/** The same without a sign: windows, limits, intervals. */
export const POSITIVE_DURATION = /^(?=\d)(?:\d{1,9}d)?(?:\d{1,9}h)?(?:\d{1,9}m)?(?:\d{1,9}s)?$/;
export const DURATION_EXAMPLES = '90s, 30m, 1h30m, 24h or 7d';

export function parseDurationSeconds(text: string): number {
  const trimmed = text.trim();
  if (!DURATION_PATTERN.test(trimmed)) throw new Error(`"${text}" is not a duration like ${DURATION_EXAMPLES}`);
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([dhms])/g)) seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  return trimmed.startsWith('-') ? -seconds : seconds;
}

/** The exact rendering people read, largest unit first: 5400 → `1h30m`, 86400 → `1d`, -14400 → `-4h`. */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  if (rest === 0) return '0s';
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return `${sign}${text}`;
}
