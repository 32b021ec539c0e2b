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
      if (!error) {
        const field = nulCharacterAt(req.body, '');
        if (field !== undefined) {
          const where = field || '(body)';
          return next(new CommonError('validation_failed', `Invalid request: ${where}: must not contain NUL characters`, [{ field: where, problems: ['must not contain NUL characters'] }]));
        }
        return next();
      }
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

/**
 * PostgreSQL text cannot hold NUL (U+0000), so a string containing one could only fail deep in a
 * transaction: refuse it here, for every endpoint, naming the field. Answers the path, or undefined.
 */
function nulCharacterAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (!value || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path ? `${path}.${key}` : key;
    const found = nulCharacterAt(item, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}
