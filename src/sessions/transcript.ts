import type { SessionEvent } from './session-event';

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

/**
 * `timestamp user@host cwd $ command → exit code`, one line per record, for grep and auditors; the
 * proxy's statements as `SQL> statement` and their outcome as `← tag (rows, ms)` or `← ERROR sqlstate message`,
 * a cluster's requests (audit webhook) as `K8S> VERB requestURI → status code`.
 */
export function transcriptLine(event: SessionEvent, window?: { from: Date; to: Date }): string {
  const field = (value: string | null) => (value === null ? '?' : visible(value));
  const when = event.startedAt ?? event.receivedAt;
  const where = `${field(event.user)}@${field(event.host)} ${field(event.cwd)}`;
  const late = `${event.late ? ' (late)' : ''}${window && outsideWindow(when, window) ? ' (stamped outside the grant window)' : ''}`;
  const command = visible(event.command ?? '');
  const detail = event.detail ?? {};
  switch (event.type) {
    case 'command':
      return `${when} ${where} $ ${command}${event.exitCode === null ? '' : ` → ${event.exitCode}`}${late}`;
    case 'sql':
      return `${when} ${where} SQL> ${command}${late}`;
    case 'sql.result': {
      const took = typeof detail.durationMs === 'number' ? `${detail.durationMs} ms` : null;
      const outcome = event.exitCode
        ? `ERROR ${[detail.sqlstate, detail.message]
            .filter((part) => part !== null && part !== undefined)
            .map((part) => visible(String(part)))
            .join(' ')}`
        : visible(String(detail.tag ?? 'OK'));
      const facts = [
        typeof detail.rows === 'number' && !event.exitCode ? `${detail.rows} row${detail.rows === 1 ? '' : 's'}` : null,
        typeof detail.bytes === 'number' ? `${detail.bytes} bytes` : null,
        took,
      ].filter(Boolean);
      return `${event.finishedAt ?? when} ${where} ← ${outcome}${facts.length ? ` (${facts.join(', ')})` : ''}${late}`;
    }
    case 'k8s':
      return `${when} ${where} K8S> ${command}${event.exitCode === null ? '' : ` → ${event.exitCode}`}${late}`;
    case 'gap':
      return `${when} # gap: ${String(detail.lost ?? '?')} records lost (${visible(String(detail.reason ?? 'unknown'))})${late}`;
    default:
      return `${when} ${where} # ${visible(event.type)}${command ? `: ${command}` : ''}${event.exitCode === null ? '' : ` → ${event.exitCode}`}${late}`;
  }
}

/** Clocks differ a little between a laptop and the broker; beyond this a stamp is worth a reviewer's look. */
const CLOCK_SKEW_MS = 60_000;

/** A record stamped before the grant was active or after it ended: the clock lies, or the record does. */
export function outsideWindow(stamp: string, window: { from: Date; to: Date }): boolean {
  const at = Date.parse(stamp);
  return at < window.from.getTime() - CLOCK_SKEW_MS || at > window.to.getTime() + CLOCK_SKEW_MS;
}
