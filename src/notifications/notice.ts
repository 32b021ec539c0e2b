import { formatDuration } from '../config/duration';
// What each notice says. Messages are rendered when the notice is written to the outbox, so what
// was sent is exactly what the evidence shows, whatever changes later. Headlines stay ASCII: a
// non-ASCII subject is MIME-encoded, which mail filters and grep-ing auditors handle badly.

export type NoticeKind =
  | 'glass_broken'
  | 'grant_flagged'
  | 'grant_extended'
  | 'grant_revoked'
  | 'grant_expired'
  | 'incident_resolved'
  | 'sla_reminder'
  | 'sla_breached'
  | 'sla_satisfied_late'
  | 'sla_waived'
  | 'pr_noncompliant'
  | 'review_reminder'
  | 'review_overdue'
  | 'review_violation';

/** Notices about no particular grant, to a standing audience. */
export type AudienceNoticeKind = 'drift_unattributed' | 'k8s_unattributed' | 'anchor_overdue' | 'drill_failed';

/** What every notice of a drill carries in its subject and summary, so no one mistakes it for a real break-glass. */
export const DRILL_MARK = '[DRILL]';

/** The facts about a grant every notice carries (who, what, why, when). */
export interface GrantFacts {
  id: string;
  target: string;
  environment: string;
  requester: string;
  requesterEmail: string | null;
  incident: string;
  reason: string;
  activatedAt: Date;
  expiresAt: Date;
  /** The drill whose grant this is (its notices say [DRILL]); null or absent for real grants. */
  drill?: string | null;
}

export interface NoticeMessage {
  notice: NoticeKind | AudienceNoticeKind;
  /** When the notice was written (with the change that caused it); PagerDuty's `timestamp`. */
  at?: string;
  subject: string;
  text: string;
  /** One line for PagerDuty (its summary is limited to 1024 characters). */
  summary: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  details: Record<string, string | number | boolean | null>;
  links: { href: string; text: string }[];
  /** Explicit recipients (the `requester` pseudo-channel); otherwise the channel's own. */
  to?: string[];
  pagerduty?: { action: 'trigger' | 'resolve'; dedupKey: string };
}

export interface NoticeContext {
  grant: GrantFacts;
  publicUrl: string;
  /** Kind-specific facts, e.g. the clock's due time or who revoked. */
  facts?: Record<string, string | number | boolean | null>;
  /** A sentence about what happened, when the default is not enough. */
  headline?: string;
}

const HEADLINES: Record<NoticeKind, (c: NoticeContext) => string> = {
  glass_broken: (c) => `glass broken on ${c.grant.target} by ${c.grant.requester}`,
  grant_flagged: (c) => `grant on ${c.grant.target} flagged for security (${c.facts?.flags ?? 'flagged'})`,
  grant_extended: (c) => `access to ${c.grant.target} extended until ${iso(c.grant.expiresAt)}`,
  grant_revoked: (c) => `access to ${c.grant.target} revoked by ${c.facts?.by ?? 'someone'}`,
  grant_expired: (c) => `access to ${c.grant.target} expired`,
  incident_resolved: (c) => `incident ${c.grant.incident} resolved in PagerDuty: ${c.facts?.outcome}`,
  sla_reminder: (c) => `retroactive PR due ${c.facts?.dueAt}: link a PR mentioning ${c.grant.id}`,
  sla_breached: (c) => `retroactive PR overdue since ${c.facts?.dueAt}`,
  sla_satisfied_late: (c) => `${c.facts?.kind === 'review' ? 'security review' : 'retroactive PR'} provided late (due ${c.facts?.dueAt})`,
  sla_waived: (c) => `${c.facts?.kind} clock waived by ${c.facts?.by}`,
  pr_noncompliant: (c) => `retroactive PR ${c.facts?.pr} does not meet the policy: the clock is not satisfied`,
  review_reminder: (c) => `security review of the session log due ${c.facts?.dueAt}`,
  review_overdue: (c) => `security review of the session log overdue since ${c.facts?.dueAt}`,
  review_violation: (c) => `security review found a violation on ${c.grant.target}`,
};

const SEVERITY: Record<NoticeKind, NoticeMessage['severity']> = {
  glass_broken: 'warning',
  grant_flagged: 'error',
  grant_extended: 'info',
  grant_revoked: 'warning',
  grant_expired: 'info',
  incident_resolved: 'warning',
  sla_reminder: 'info',
  sla_breached: 'error',
  sla_satisfied_late: 'info',
  sla_waived: 'info',
  pr_noncompliant: 'warning',
  review_reminder: 'info',
  review_overdue: 'error',
  review_violation: 'critical',
};

export function renderNotice(kind: NoticeKind, context: NoticeContext): NoticeMessage {
  const { grant, publicUrl } = context;
  const headline = context.headline ?? HEADLINES[kind](context);
  // The dashboard page, which a browser can open (the API answers 401 without a bearer token): the
  // requester sees their grant there, security and compliance also download the evidence bundle.
  const grantUrl = dashboardGrantUrl(publicUrl, grant.id);
  const facts = context.facts ?? {};
  const drill = grant.drill ? `${DRILL_MARK} ` : '';
  const text = [
    `${drill}${grant.id}: ${headline}.`,
    ...(grant.drill ? [`This is break-glass drill ${grant.drill}, a scheduled test of the emergency path: no action is needed.`] : []),
    '',
    `Who:      ${grant.requester}${grant.requesterEmail ? ` <${grant.requesterEmail}>` : ''}`,
    `What:     ${grant.target} (${grant.environment})`,
    `Why:      ${grant.incident}: ${grant.reason}`,
    `When:     ${iso(grant.activatedAt)} until ${iso(grant.expiresAt)}`,
    ...factLines(facts),
    '',
    `Grant:    ${grantUrl}`,
    '          (security and compliance download the signed evidence bundle there)',
    '',
    'Sent by breakglass. Every break-glass is recorded in a hash-chained audit log.',
  ].join('\n');
  return {
    notice: kind,
    at: new Date().toISOString(),
    subject: asciiSubject(`[breakglass] ${drill}${grant.id} ${headline}`),
    text,
    summary: `[breakglass] ${drill}${grant.id} ${headline}`.slice(0, 1024),
    severity: SEVERITY[kind],
    details: {
      grant: grant.id,
      target: grant.target,
      environment: grant.environment,
      requester: grant.requester,
      incident: grant.incident,
      reason: grant.reason,
      activatedAt: iso(grant.activatedAt),
      expiresAt: iso(grant.expiresAt),
      ...(grant.drill ? { drill: grant.drill } : {}),
      ...facts,
    },
    links: [{ href: grantUrl, text: `Grant ${grant.id} in the breakglass dashboard` }],
  };
}

/** A notice to a standing audience (e.g. security) about something no grant explains. */
export function renderAudienceNotice(
  kind: AudienceNoticeKind,
  context: { headline: string; facts: Record<string, string | number | boolean | null>; publicUrl: string; links: { path: string; text: string }[] },
): NoticeMessage {
  const links = context.links.map((link) => ({ href: `${context.publicUrl}${link.path}`, text: link.text }));
  const text = [
    `${context.headline}.`,
    '',
    ...factLines(context.facts),
    '',
    ...links.map((link) => `${link.text}: ${link.href}`),
    '',
    'Sent by breakglass. Every break-glass is recorded in a hash-chained audit log.',
  ].join('\n');
  return {
    notice: kind,
    at: new Date().toISOString(),
    subject: asciiSubject(`[breakglass] ${context.headline}`),
    text,
    summary: `[breakglass] ${context.headline}`.slice(0, 1024),
    severity: AUDIENCE_SEVERITY[kind],
    details: { ...context.facts },
    links,
  };
}

const AUDIENCE_SEVERITY: Record<AudienceNoticeKind, NoticeMessage['severity']> = {
  drift_unattributed: 'critical',
  k8s_unattributed: 'critical',
  anchor_overdue: 'error',
  drill_failed: 'error',
};

/** `key:   value` lines aligned like the fixed ones; a long key still gets a space, null reads as "none". */
/** Where a grant is shown to people. */
function dashboardGrantUrl(publicUrl: string, grantId: string): string {
  return `${publicUrl}/ui/#/grants/${encodeURIComponent(grantId)}`;
}

/**
 * Facts as a person reads them: `durationSeconds: 1800` is "Duration: 30m", `onCall: true` "On call:
 * yes". The machine-readable facts stay as they are in `details` (webhook, PagerDuty).
 */
function factLines(facts: Record<string, string | number | boolean | null>): string[] {
  return Object.entries(facts).map(([key, value]) => {
    const seconds = /Seconds$/.test(key) && typeof value === 'number';
    const label = `${humanLabel(seconds ? key.replace(/Seconds$/, '') : key)}:`;
    const shown = value === null ? 'none' : seconds ? formatDuration(value) : typeof value === 'boolean' ? (value ? 'yes' : 'no') : value;
    return `${label.padEnd(Math.max(10, label.length + 1))}${shown}`;
  });
}

/** `previousExpiresAt` → "Previous expires at", `dueAt` → "Due at". */
function humanLabel(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Subjects stay ASCII (a requester's or target's name may not be): accents are dropped from their
 * letters, anything else becomes `?`. A non-ASCII subject would be RFC 2047-encoded, which mail
 * filters and grep-ing auditors handle badly; the body keeps the exact text.
 */
export function asciiSubject(subject: string): string {
  return subject
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/gu, '?');
}

function iso(date: Date): string {
  return date.toISOString();
}
