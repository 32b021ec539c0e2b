import type { DenialCode } from '../access/grant.errors';
import { formatDuration } from '../config/duration';
import type { TargetPolicy } from '../config/policy';
import type { IncidentVerdict } from '../pagerduty/incidents';
import type { OnCallVerdict } from '../pagerduty/on-call';
import type { IncidentRecord, OnCallRecord } from './grants.repository';

// The policy's rules for a break-glass request, as pure functions: what the target allows, and what
// an on-call check means for it. Grants applies them and audits every refusal (grant.denied).

export interface Refusal {
  code: DenialCode;
  message: string;
  details?: Record<string, unknown>;
}

/** `incident` null: a drill's request, which answers to no incident (docs/drills.md). */
type RequestFacts = { role?: string; durationSeconds: number; reason: string; incident: string | null };

/**
 * The request as the rules see it: the target's defaultDuration when none was asked for, and an
 * incident id typed in the wrong case (`inc-4821`) in the case the pattern expects.
 */
export function effectiveRequest<T extends { durationSeconds?: number; incident: string }>(
  target: Pick<TargetPolicy, 'defaultDurationSeconds' | 'incidentPattern'>,
  request: T,
): T & { durationSeconds: number } {
  const pattern = new RegExp(target.incidentPattern);
  const incident = request.incident.trim();
  const recased = [incident, incident.toUpperCase(), incident.toLowerCase()].find((candidate) => pattern.test(candidate)) ?? incident;
  return { ...request, durationSeconds: request.durationSeconds ?? target.defaultDurationSeconds, incident: recased };
}

/** The first rule of the target the request breaks (role, duration, reason, incident), or null. */
export function requestRefusal(target: TargetPolicy, request: RequestFacts): Refusal | null {
  const offered = target.credential.type === 'jwt' ? target.credential.groups : target.credential.grantRoles;
  if (request.role !== undefined && !offered.includes(request.role)) {
    return {
      code: 'role_forbidden',
      message: `Role "${request.role}" is not offered by ${target.name}; ${offered.length ? `choose one of: ${offered.join(', ')}` : 'it offers no roles to choose from'}`,
      details: { offered },
    };
  }
  if (request.durationSeconds > target.maxDurationSeconds) {
    return {
      code: 'duration_exceeds_max',
      message: `${formatDuration(request.durationSeconds)} exceeds the ${formatDuration(target.maxDurationSeconds)} maximum of ${target.name}`,
      details: { maxDurationSeconds: target.maxDurationSeconds },
    };
  }
  const reason = reasonRefusal(target, request.reason);
  if (reason) return reason;
  if (request.incident !== null && !new RegExp(target.incidentPattern).test(request.incident)) {
    const expected = target.incidentExample ? `an incident id like ${target.incidentExample}` : `an incident id matching ${target.incidentPattern}`;
    return {
      code: 'incident_invalid',
      message: `Incident "${request.incident}" is not ${expected} (what ${target.name} requires)`,
      details: { pattern: target.incidentPattern, example: target.incidentExample },
    };
  }
  return null;
}

/** "Did you mean payments-db?": the known names closest to a mistyped one (at most a third of it wrong). */
export function closestNames(name: string, known: string[]): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3));
  const scored = known.map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }));
  const best = Math.min(...scored.map((s) => s.distance));
  return best <= limit ? scored.filter((s) => s.distance === best).map((s) => s.candidate) : [];
}

/** Levenshtein distance, with adjacent transpositions counted as one edit (`paymetns` → `payments`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** A request's or an extension's reason must have the target's minimum length, surrounding whitespace not counted. */
export function reasonRefusal(target: Pick<TargetPolicy, 'reasonMinLength'>, reason: string): Refusal | null {
  if (reason.trim().length >= target.reasonMinLength) return null;
  return {
    code: 'reason_too_short',
    message: `The reason must be at least ${target.reasonMinLength} characters`,
    details: { minLength: target.reasonMinLength },
  };
}

/** An extension may not take the grant past the target's maxTotalDuration (from activation). */
export function extensionRefusal(target: Pick<TargetPolicy, 'name' | 'maxTotalDurationSeconds'>, activatedAt: Date, newExpiresAt: Date): Refusal | null {
  const totalSeconds = (newExpiresAt.getTime() - activatedAt.getTime()) / 1000;
  if (totalSeconds <= target.maxTotalDurationSeconds) return null;
  return {
    code: 'duration_exceeds_max',
    message: `The grant would last ${formatDuration(Math.round(totalSeconds))} in total, over the ${formatDuration(target.maxTotalDurationSeconds)} maximum of ${target.name}`,
    details: { maxTotalDurationSeconds: target.maxTotalDurationSeconds },
  };
}

export type OnCallDecision = { refusal: Refusal } | { onCall: OnCallRecord; flags: string[] };

/**
 * What PagerDuty's answer means for a target that requires on-call: refused when not on call; when
 * PagerDuty cannot answer, refused only with `whenUnavailable: deny` — otherwise break glass must
 * still work, so it is granted and flagged `on_call_unverified` for security.
 */
export function onCallDecision(
  target: { name: string; onCall: Pick<NonNullable<TargetPolicy['onCall']>, 'whenUnavailable'> },
  verdict: OnCallVerdict,
  now: Date,
): OnCallDecision {
  if (verdict.outcome === 'not_on_call') return { refusal: { code: 'not_on_call', message: verdict.why, details: { onCall: verdict.evidence } } };
  if (verdict.outcome === 'on_call') return { onCall: { status: 'on_call', ...verdict.evidence }, flags: [] };
  if (target.onCall.whenUnavailable === 'deny') {
    return {
      refusal: {
        code: 'not_on_call',
        message: `On-call status could not be verified (${verdict.error}) and ${target.name} requires it`,
        details: { pagerduty: 'unavailable' },
      },
    };
  }
  return { onCall: { status: 'unavailable', checkedAt: now.toISOString(), error: verdict.error }, flags: ['on_call_unverified'] };
}

export type IncidentDecision = { refusal: Refusal } | { incident: IncidentRecord; flags: string[] };

/**
 * What PagerDuty's answer about the request's incident means (targets with `incident.pagerduty`):
 * resolved or unknown incidents are refused, as is a requester who is not a responder when the
 * target asks; when PagerDuty cannot answer, break glass must still work: granted, flagged
 * `incident_unverified` for security (as with the on-call check).
 */
export function incidentDecision(verdict: IncidentVerdict, now: Date): IncidentDecision {
  switch (verdict.outcome) {
    case 'open':
      return { incident: verdict.evidence, flags: [] };
    case 'not_open':
      return {
        refusal: {
          code: 'incident_not_open',
          message: `PagerDuty incident ${verdict.evidence.id} is ${verdict.evidence.status}: break-glass needs an open (triggered or acknowledged) incident`,
          details: { incident: verdict.evidence },
        },
      };
    case 'unknown':
      return { refusal: { code: 'incident_unknown', message: `PagerDuty has no incident ${verdict.id}`, details: { incident: verdict.id } } };
    case 'not_responder':
      return { refusal: { code: 'not_incident_responder', message: verdict.why, details: { incident: verdict.evidence } } };
    case 'unavailable':
      return { incident: { status: 'unavailable', id: verdict.id, checkedAt: now.toISOString(), error: verdict.error }, flags: ['incident_unverified'] };
  }
}
