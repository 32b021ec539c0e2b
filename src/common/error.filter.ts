import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isDatabaseUnavailable } from '../database/database-errors';
import { AnyValue, Int, Text } from './api-schema';
import { CommonError, DomainError } from './domain-error';
import { requestIdOf } from './request-context';

/** Every error answer (4xx, 5xx) of the API. */
export class ErrorBody {
  @Int()
  statusCode: number;
  @Text({ description: 'The error code, e.g. validation_failed, grant_not_found (docs/api.md lists them)' })
  error: string;
  @Text()
  message: string;
  @AnyValue({ optional: true, description: 'Code-specific facts, e.g. the invalid fields' })
  details?: unknown;
  @Text({ description: 'Also in the X-Request-Id header and the service log' })
  requestId: string;
}

/** Maps every failure to the one JSON error shape of docs/api.md. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const error = this.toDomainError(exception);
    if (error.status >= 500 && error.code === 'internal_error') {
      this.logger.error({ msg: 'unhandled error', requestId: requestIdOf(req), error: String(exception), stack: (exception as Error)?.stack });
    }
    const body: ErrorBody = {
      statusCode: error.status,
      error: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      requestId: requestIdOf(req),
    };
    // A streamed answer that fails midway cannot change its status: cut it, so the client sees an
    // incomplete response (no trailer line) rather than a silently truncated one.
    if (res.headersSent) return void res.destroy();
    res.status(error.status).json(body);
  }

  private toDomainError(exception: unknown): DomainError {
    if (exception instanceof DomainError) return exception;
    if (isDatabaseUnavailable(exception)) {
      return new CommonError('database_unavailable', 'The database is unavailable; retry shortly');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === HttpStatus.NOT_FOUND) return new CommonError('not_found', exception.message);
      const code = HttpStatus[status]?.toLowerCase() ?? 'http_error';
      return new DomainError(code, status, exception.message);
    }
    return new CommonError('internal_error', 'Internal error');
  }
}
