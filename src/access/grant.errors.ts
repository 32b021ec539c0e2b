import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

/** Denial codes of docs/api.md (`reason_too_short` is explained in docs/decisions.md). */
export const DENIAL_CODES = [
  'target_unknown',
  'role_forbidden',
  'duration_exceeds_max',
  'not_on_call',
  'requester_overdue',
  'incident_invalid',
  'reason_too_short',
  'incident_not_open',
  'incident_unknown',
  'not_incident_responder',
] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

export class GrantError extends defineDomainErrors({
  target_unknown: HttpStatus.FORBIDDEN,
  role_forbidden: HttpStatus.FORBIDDEN,
  duration_exceeds_max: HttpStatus.FORBIDDEN,
  not_on_call: HttpStatus.FORBIDDEN,
  requester_overdue: HttpStatus.FORBIDDEN,
  incident_invalid: HttpStatus.FORBIDDEN,
  reason_too_short: HttpStatus.FORBIDDEN,
  incident_not_open: HttpStatus.FORBIDDEN,
  incident_unknown: HttpStatus.FORBIDDEN,
  not_incident_responder: HttpStatus.FORBIDDEN,
  grant_not_found: HttpStatus.NOT_FOUND,
  not_your_grant: HttpStatus.FORBIDDEN,
  grant_not_active: HttpStatus.CONFLICT,
}) {}
