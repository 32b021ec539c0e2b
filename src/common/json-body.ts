import express, { type RequestHandler } from 'express';
import { CommonError } from './domain-error';

/**
 * express.json with its failures turned into typed errors here: Nest would otherwise rewrite a
 * parse failure into a generic BadRequest before the error filter sees it.
 */
export interface RequestWithRawBody {
  /** The exact bytes received, for signature checks (webhooks sign the raw body, not the JSON). */
  rawBody?: Buffer;
}

export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({
    limit,
    verify: (req, _res, buffer) => {
      (req as RequestWithRawBody).rawBody = buffer;
    },
  });
  return (req, res, next) =>
    parse(req, res, (error?: unknown) => {
      if (!error) return next();
      switch ((error as { type?: string }).type) {
        case 'entity.too.large':
          return next(new CommonError('payload_too_large', `Request body is larger than ${limit}`));
        case 'entity.parse.failed':
          return next(new CommonError('malformed_json', 'Request body is not valid JSON'));
        default:
          return next(new CommonError('validation_failed', `Request body cannot be read: ${(error as Error).message}`));
      }
    });
}
