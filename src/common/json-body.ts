import express, { type RequestHandler } from 'express';
import { CommonError } from './domain-error';
import { unstorableTextProblem } from './storable-text';

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
        // In JSON text a NUL or a lone surrogate can only arrive as a \u escape (raw control
        // characters are invalid JSON; invalid UTF-8 decodes to U+FFFD), so a body without any
        // skips the walk over every string (the session-ingest hot path).
        const rawBody = (req as RequestWithRawBody).rawBody;
        const unstorable = rawBody && !rawBody.includes('\\u') ? undefined : unstorableStringAt(req.body, '');
        if (unstorable) {
          const where = unstorable.path || '(body)';
          return next(new CommonError('validation_failed', `Invalid request: ${where}: ${unstorable.problem}`, [{ field: where, problems: [unstorable.problem] }]));
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
 * PostgreSQL text holds neither NUL (U+0000) nor lone UTF-16 surrogates, so such a string could only
 * fail deep in a transaction: refuse it here, for every endpoint, naming the field.
 */
function unstorableStringAt(value: unknown, path: string): { path: string; problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = unstorableTextProblem(value);
    return problem ? { path, problem } : undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const keyProblem = unstorableTextProblem(key);
    if (keyProblem) return { path: at, problem: keyProblem };
    const found = unstorableStringAt(item, at);
    if (found) return found;
  }
  return undefined;
}
