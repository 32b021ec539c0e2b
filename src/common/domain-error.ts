import { HttpStatus } from '@nestjs/common';

/**
 * Every error the API answers with on purpose. `code` is the machine code clients switch on
 * (the `error` field of the JSON error shape); `details` carries field-level problems.
 */
export class DomainError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    readonly status: HttpStatus,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Builds a domain's error class from its code → status table. The table is a `Record` over the
 * domain's code union, so adding a code without choosing its HTTP status does not compile.
 */
export function defineDomainErrors<Code extends string>(statusByCode: Record<Code, HttpStatus>) {
  return class extends DomainError<Code> {
    constructor(code: Code, message: string, details?: unknown) {
      super(code, statusByCode[code], message, details);
    }
  };
}

/** Errors shared by every domain: request validation, lookups, unavailable dependencies. */
export class CommonError extends defineDomainErrors({
  validation_failed: HttpStatus.BAD_REQUEST,
  invalid_time_range: HttpStatus.BAD_REQUEST,
  malformed_json: HttpStatus.BAD_REQUEST,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  not_found: HttpStatus.NOT_FOUND,
  database_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal_error: HttpStatus.INTERNAL_SERVER_ERROR,
}) {}
