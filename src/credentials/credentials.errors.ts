import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class CredentialError extends defineDomainErrors({
  /** The target system could not issue, extend or revoke the credential. */
  provider_unavailable: HttpStatus.BAD_GATEWAY,
  provider_misconfigured: HttpStatus.INTERNAL_SERVER_ERROR,
}) {}
