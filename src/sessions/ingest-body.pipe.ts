import { Injectable, PipeTransform } from '@nestjs/common';
import Ajv, { type ErrorObject } from 'ajv';
import { CommonError } from '../common/domain-error';
import type { FieldProblem } from '../config/validation-problems';
import { MAX_BATCH, MAX_COMMAND_CHARS, TIME_WITH_ZONE, type SessionEventBody } from './sessions.dto';

// The ingest body is the hottest input of the service (target >= 20,000 events/s, bench/README.md), so it is
// checked by a compiled JSON schema rather than per-object decorator reflection: the rules are the
// same as SessionEventBody's (which documents the body in the OpenAPI), the cost a fraction.

const NO_NUL = '^[^\\u0000]*$';
const text = (maxLength: number) => ({ type: ['string', 'null'], maxLength, pattern: NO_NUL });
const time = { type: ['string', 'null'], maxLength: 40, pattern: TIME_WITH_ZONE.source };

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['seq', 'type'],
        properties: {
          seq: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
          type: { enum: ['command', 'session_start', 'session_end', 'note'] },
          command: text(MAX_COMMAND_CHARS),
          cwd: text(4096),
          user: text(256),
          host: text(256),
          startedAt: time,
          finishedAt: time,
          exitCode: { type: ['integer', 'null'], minimum: -2_147_483_648, maximum: 2_147_483_647 },
        },
      },
    },
  },
} as const;

export interface IngestBatch {
  events: SessionEventBody[];
}

@Injectable()
export class IngestBodyPipe implements PipeTransform<unknown, IngestBatch> {
  private readonly validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<IngestBatch>(SCHEMA);

  transform(value: unknown): IngestBatch {
    if (this.validate(value)) {
      for (const event of value.events) {
        for (const field of ['startedAt', 'finishedAt'] as const) {
          if (event[field] && Number.isNaN(Date.parse(event[field]!)))
            throw invalid([{ field: `events.${value.events.indexOf(event)}.${field}`, problems: ['must be a valid ISO-8601 time'] }]);
        }
      }
      return value;
    }
    throw invalid(problemsOf(this.validate.errors ?? []));
  }
}

function invalid(details: FieldProblem[]): CommonError {
  return new CommonError('validation_failed', `Invalid request: ${details.map((d) => `${d.field}: ${d.problems.join('; ')}`).join('; ')}`, details);
}

/** ajv errors in the service's `{ field, problems }` shape, one entry per field. */
function problemsOf(errors: ErrorObject[]): FieldProblem[] {
  const byField = new Map<string, string[]>();
  for (const error of errors) {
    const base = error.instancePath.slice(1).replace(/\//g, '.');
    const field =
      error.keyword === 'additionalProperties'
        ? [base, error.params.additionalProperty].filter(Boolean).join('.')
        : error.keyword === 'required'
          ? [base, error.params.missingProperty].filter(Boolean).join('.')
          : base || '(body)';
    const problems = byField.get(field) ?? [];
    problems.push(messageOf(error, field));
    byField.set(field, problems);
  }
  return [...byField].map(([field, problems]) => ({ field, problems }));
}

function messageOf(error: ErrorObject, field: string): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return `property ${error.params.additionalProperty} should not exist`;
    case 'required':
      return 'is required';
    case 'maxLength':
      return `must be at most ${error.params.limit} characters`;
    case 'maxItems':
      return `must hold at most ${error.params.limit} events`;
    case 'minItems':
      return 'must hold at least one event';
    case 'pattern':
      return /(startedAt|finishedAt)$/.test(field) ? 'must be an ISO-8601 time' : 'must not contain NUL characters';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as string[]).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}
