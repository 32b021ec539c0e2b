import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class SessionError extends defineDomainErrors({
  invalid_session_token: HttpStatus.UNAUTHORIZED,
  wrong_grant: HttpStatus.FORBIDDEN,
  session_ended: HttpStatus.FORBIDDEN,
  seq_conflict: HttpStatus.CONFLICT,
  seq_behind_head: HttpStatus.CONFLICT,
  own_grant_review: HttpStatus.FORBIDDEN,
  session_integrity_failed: HttpStatus.CONFLICT,
  review_beyond_head: HttpStatus.BAD_REQUEST,
  violation_needs_second_reviewer: HttpStatus.CONFLICT,
}) {}
