import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class AuthError extends defineDomainErrors({
  unauthenticated: HttpStatus.UNAUTHORIZED,
  invalid_token: HttpStatus.UNAUTHORIZED,
  forbidden_role: HttpStatus.FORBIDDEN,
  dev_sign_in_unavailable: HttpStatus.NOT_FOUND,
}) {}
