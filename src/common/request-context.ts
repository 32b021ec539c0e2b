import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';

// A caller-supplied id is kept only when it is short and plain, so it cannot inject into logs.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestWithContext extends Request {
  requestId: string;
}

export function requestIdOf(req: Request): string {
  return (req as RequestWithContext).requestId ?? 'unknown';
}

/** Assigns every request an id (the caller's `X-Request-Id` when sane) and echoes it back. */
export function assignRequestId(req: Request, res: Response, next: NextFunction): void {
  const offered = req.header(REQUEST_ID_HEADER);
  const requestId = offered && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
  (req as RequestWithContext).requestId = requestId;
  res.setHeader('X-Request-Id', requestId);
  next();
}
