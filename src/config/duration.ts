const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `90s`, `30m`, `24h`, `7d`, optionally negative (`-4h`, escalation reminders before due). */
export const DURATION_PATTERN = /^(-?)(\d{1,9})(s|m|h|d)$/;

export function parseDurationSeconds(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration like 90s, 30m, 24h or 7d`);
  const [, sign, amount, unit] = match;
  const seconds = Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  return sign === '-' ? -seconds : seconds;
}

/** The shortest exact rendering: 5400 → `90m`, 86400 → `1d`, -14400 → `-4h`. */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const magnitude = Math.abs(seconds);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (magnitude !== 0 && magnitude % size === 0) return `${sign}${magnitude / size}${unit}`;
  }
  return `${sign}${magnitude}s`;
}
