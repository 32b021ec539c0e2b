import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class AuditError extends defineDomainErrors({
  /** A caller tried to audit data the hash formula cannot represent exactly (a bug, not bad input). */
  unhashable_audit_data: HttpStatus.INTERNAL_SERVER_ERROR,
  /** Entries committed before a read are still waiting for the integrator (it is down or far behind). */
  audit_sequencing_behind: HttpStatus.SERVICE_UNAVAILABLE,
}) {}
