import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class AuditError extends defineDomainErrors({
  /** A caller tried to audit data the hash formula cannot represent exactly (a bug, not bad input). */
  unhashable_audit_data: HttpStatus.INTERNAL_SERVER_ERROR,
}) {}
