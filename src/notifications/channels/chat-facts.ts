import type { NoticeMessage } from '../notice';

// What a chat message shows of a notice (Slack Block Kit fields, Teams FactSet): the grant, target,
// requester, incident, reason and expiry, in that order, then the notice's own facts.

const LEADING: [key: string, title: string][] = [
  ['grant', 'Grant'],
  ['target', 'Target'],
  ['requester', 'Requester'],
  ['incident', 'Incident'],
  ['reason', 'Reason'],
  ['expiresAt', 'Expires'],
];
const LEFT_OUT = new Set([...LEADING.map(([key]) => key), 'environment', 'activatedAt']);

export function chatFacts(message: NoticeMessage): { title: string; value: string }[] {
  const shown = (value: unknown) => (value === null || value === undefined ? 'none' : String(value));
  const leading = LEADING.filter(([key]) => key in message.details).map(([key, title]) => ({ title, value: shown(message.details[key]) }));
  const rest = Object.entries(message.details)
    .filter(([key]) => !LEFT_OUT.has(key))
    .map(([key, value]) => ({ title: key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase()), value: shown(value) }));
  return [...leading, ...rest];
}
