import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class WebhookError extends defineDomainErrors({
  webhook_not_configured: HttpStatus.SERVICE_UNAVAILABLE,
  invalid_signature: HttpStatus.UNAUTHORIZED,
  missing_delivery_id: HttpStatus.BAD_REQUEST,
  malformed_payload: HttpStatus.BAD_REQUEST,
  too_many_events: HttpStatus.PAYLOAD_TOO_LARGE,
  unknown_cluster: HttpStatus.NOT_FOUND,
}) {}
