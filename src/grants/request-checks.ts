import type { DenialCode } from '../access/grant.errors';
import type { TargetPolicy } from '../config/policy';
import type { OnCallVerdict } from '../integrations/pagerduty/on-call';
import type { OnCallRecord } from './grants.repository';

// The policy's rules for a break-glass request, as pure functions: what the target allows, and what
// an on-call check means for it. Grants applies them and audits every refusal (grant.denied).

export interface Refusal {
  code: DenialCode;
  message: string;
  details?: Record<string, unknown>;
}

type RequestFacts = { role?: string; durationSeconds: number; reason: string; incident: string };

/** The first rule of the target the request breaks (role, duration, reason, incident), or null. */
export function requestRefusal(target: TargetPolicy, request: RequestFacts): Refusal | null {
  const offered = target.credential.type === 'jwt' ? target.credential.groups : target.credential.grantRoles;
  if (request.role !== undefined && !offered.includes(request.role)) {
    return { code: 'role_forbidden', message: `Role "${request.role}" is not offered by ${target.name}`, details: { offered } };
  }
  if (request.durationSeconds > target.maxDurationSeconds) {
    return {
      code: 'duration_exceeds_max',
      message: `${request.durationSeconds}s exceeds the ${target.maxDurationSeconds}s maximum of ${target.name}`,
      details: { maxDurationSeconds: target.maxDurationSeconds },
    };
  }
  const reason = reasonRefusal(target, request.reason);
  if (reason) return reason;
  if (!new RegExp(target.incidentPattern).test(request.incident)) {
    return {
      code: 'incident_invalid',
      message: `Incident "${request.incident}" does not match ${target.incidentPattern}`,
      details: { pattern: target.incidentPattern },
    };
  }
  return null;
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
    message: `The grant would last ${Math.round(totalSeconds)}s in total, over the ${target.maxTotalDurationSeconds}s maximum of ${target.name}`,
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
