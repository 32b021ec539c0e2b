import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class SlaError extends defineDomainErrors({
  clock_not_found: HttpStatus.NOT_FOUND,
  clock_not_open: HttpStatus.CONFLICT,
}) {}
