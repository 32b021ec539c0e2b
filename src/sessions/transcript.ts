import { outsideWindow, visible } from './record-display';
import type { SessionEvent } from './session-event';

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
