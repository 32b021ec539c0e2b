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

/**
 * `checkValues: false` is for a route whose own parser checks every value it keeps (the Kubernetes
 * audit webhook: large bodies of which it stores a few fields) and never hands the body to the
 * validation pipe; every other route has each string and the depth checked here.
 */
/** Requests whose body one of these parsers has already read (and checked, where it checks). */
const parsedBodies = new WeakSet<object>();

export function jsonBody(limit: string, { checkValues = true }: { checkValues?: boolean } = {}): RequestHandler {
  const parse = express.json({
    limit,
    verify: (req, _res, buffer) => {
      (req as RequestWithRawBody).rawBody = buffer;
    },
  });
  return (req, res, next) => {
    // A route with a parser of its own (a larger limit) is mounted first; its body was parsed and
    // checked there. Walking it again in the general parser would double the cost.
    if (parsedBodies.has(req)) return next();
    parse(req, res, (error?: unknown) => {
      // Anything thrown in here would escape every handler and end the process: pass it on instead.
      try {
        if (error) return next(parseFailure(error, limit));
        parsedBodies.add(req);
        if (!checkValues) return next();
        // In JSON text a NUL or a lone surrogate can only arrive as a \u escape (raw control
        // characters are invalid JSON; invalid UTF-8 decodes to U+FFFD), so the strings of a body
        // without any need no look (the session-ingest hot path). Depth is checked always: the
        // validation pipe recurses over the body.
        const rawBody = (req as RequestWithRawBody).rawBody;
        const problem = jsonValueProblem(req.body, !rawBody || rawBody.includes('\\u'));
        if (problem) {
          const where = problem.path || '(body)';
          return next(new CommonError('validation_failed', `Invalid request: ${where}: ${problem.problem}`, [{ field: where, problems: [problem.problem] }]));
        }
        return next();
      } catch (failure) {
        return next(failure);
      }
    });
  };
}

/**
 * The same check for query strings (`?requester=%00` would otherwise fail inside PostgreSQL as a
 * 500): every parameter on every route, named in the 400.
 */
export function storableQuery(): RequestHandler {
  return (req, _res, next) => {
    const problem = jsonValueProblem(req.query, true);
    if (!problem) return next();
    next(
      new CommonError('validation_failed', `Invalid query parameter ${problem.path}: ${problem.problem}`, [
        { field: problem.path, problems: [problem.problem] },
      ]),
    );
  };
}

/** Deeper than any request of this API; the walk below and class-transformer stay far from stack limits. */
export const MAX_BODY_DEPTH = 64;

function parseFailure(error: unknown, limit: string): CommonError {
  switch ((error as { type?: string }).type) {
    case 'entity.too.large':
      return new CommonError('payload_too_large', `Request body is larger than ${limit}`);
    case 'entity.parse.failed':
      return new CommonError('malformed_json', 'Request body is not valid JSON');
    default:
      return new CommonError('validation_failed', `Request body cannot be read: ${(error as Error).message}`);
  }
}

/**
 * The first problem in document order: nesting deeper than MAX_BODY_DEPTH, or (with `checkText`)
 * a string or key PostgreSQL text cannot hold (NUL, lone UTF-16 surrogates), refused here for
 * every endpoint, naming the field. Iterative, so no body can exhaust the stack.
 */
function jsonValueProblem(body: unknown, checkText: boolean): { path: string; problem: string } | undefined {
  const pending: { value: unknown; path: string; depth: number; key?: string }[] = [{ value: body, path: '', depth: 0 }];
  while (pending.length) {
    const { value, path, depth, key } = pending.pop()!;
    if (checkText && key !== undefined) {
      const keyProblem = unstorableTextProblem(key);
      if (keyProblem) return { path, problem: keyProblem };
    }
    if (typeof value === 'string') {
      const problem = checkText ? unstorableTextProblem(value) : undefined;
      if (problem) return { path, problem };
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) return { path, problem: `nests deeper than ${MAX_BODY_DEPTH} levels` };
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [name, item] = entries[i];
      pending.push({ value: item, path: path ? `${path}.${name}` : name, depth: depth + 1, key: name });
    }
  }
  return undefined;
}
