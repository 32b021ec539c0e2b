// How a session record is shown to a reviewer, in the text transcript and in the dashboard (which
// bundles this file: it imports nothing).

// Characters that move the cursor, end a line or change how a terminal or editor shows what follows:
// C0 controls, DEL, C1 controls, line/paragraph separators and the bidirectional overrides
// ("Trojan Source"). In a transcript line each is shown as a visible escape instead.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/**
 * `text` on one line with nothing a reader cannot see: a newline in `cwd` cannot forge a line of its
 * own, and an escape sequence cannot rewrite the reviewer's screen. Backslashes are left as typed,
 * so commands stay readable; the JSON view holds the exact text.
 */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (char) => NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Clocks differ a little between a laptop and the broker; beyond this a stamp is worth a reviewer's look. */
const CLOCK_SKEW_MS = 60_000;

/** A record stamped before the grant was active or after it ended: the clock lies, or the record does. */
export function outsideWindow(stamp: string, window: { from: Date; to: Date }): boolean {
  const at = Date.parse(stamp);
  return at < window.from.getTime() - CLOCK_SKEW_MS || at > window.to.getTime() + CLOCK_SKEW_MS;
}
