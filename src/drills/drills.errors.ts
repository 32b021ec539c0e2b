import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class DrillError extends defineDomainErrors({
  drill_unknown: HttpStatus.NOT_FOUND,
  drill_running: HttpStatus.CONFLICT,
}) {}
