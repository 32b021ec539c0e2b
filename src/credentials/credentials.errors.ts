import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class CredentialError extends defineDomainErrors({
  /** The target system could not issue, extend or revoke the credential. */
  provider_unavailable: HttpStatus.BAD_GATEWAY,
  provider_misconfigured: HttpStatus.INTERNAL_SERVER_ERROR,
  /** A policy role would let the temporary role create roles or act as superuser: nothing it made could be taken back. */
  grant_role_unsafe: HttpStatus.FORBIDDEN,
}) {}
