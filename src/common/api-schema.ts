import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiProduces, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';

// Response DTOs: the classes that view functions and services return, so the TypeScript type and
// the OpenAPI schema are one declaration. The dashboard and the CLI use types generated from the
// document (src/api-contract/openapi.ts), so a field renamed here breaks their build, not a user.
// Reflection cannot see `string | null` or array element types, hence these explicit helpers.

type Class = abstract new (...args: never[]) => unknown;

interface FieldOptions {
  description?: string;
  example?: unknown;
  /** May be left out of the object (not the same as null). */
  optional?: boolean;
}

function property(schema: Record<string, unknown>, { optional, ...options }: FieldOptions = {}) {
  return optional ? ApiPropertyOptional({ ...schema, ...options }) : ApiProperty({ ...schema, required: true, ...options });
}

export const Text = (options?: FieldOptions) => property({ type: 'string' }, options);
export const NullableText = (options?: FieldOptions) => property({ type: 'string', nullable: true }, options);
export const OneOf = (values: readonly string[], options?: FieldOptions) => property({ type: 'string', enum: [...values] }, options);
export const Timestamp = (options?: FieldOptions) => property({ type: 'string', format: 'date-time' }, options);
export const NullableTimestamp = (options?: FieldOptions) => property({ type: 'string', format: 'date-time', nullable: true }, options);
export const Int = (options?: FieldOptions) => property({ type: 'integer' }, options);
export const NullableInt = (options?: FieldOptions) => property({ type: 'integer', nullable: true }, options);
export const Num = (options?: FieldOptions) => property({ type: 'number' }, options);
export const NullableNum = (options?: FieldOptions) => property({ type: 'number', nullable: true }, options);
export const Bool = (options?: FieldOptions) => property({ type: 'boolean' }, options);
export const NullableBool = (options?: FieldOptions) => property({ type: 'boolean', nullable: true }, options);
export const Texts = (options?: FieldOptions) => property({ type: 'array', items: { type: 'string' } }, options);
export const NullableTexts = (options?: FieldOptions) => property({ type: 'array', items: { type: 'string' }, nullable: true }, options);
export const Ints = (options?: FieldOptions) => property({ type: 'array', items: { type: 'integer' } }, options);
/** A JSON object whose keys are not fixed here (audit data, session detail, policy snapshots). */
export const FreeObject = (options?: FieldOptions) => property({ type: 'object', additionalProperties: true }, options);
export const NullableFreeObject = (options?: FieldOptions) => property({ type: 'object', additionalProperties: true, nullable: true }, options);
export const FreeObjects = (options?: FieldOptions) => property({ type: 'array', items: { type: 'object', additionalProperties: true } }, options);
/** Any JSON value (a claim, a detail value). */
const ANY_JSON = [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }];
export const AnyValue = (options?: FieldOptions) => property({ oneOf: ANY_JSON, nullable: true }, options);
// A lazy type must be a function named `type` for @nestjs/swagger to call it, hence `type: () => of()`.
export const Nested = (of: () => Class, options?: FieldOptions) => property({ type: () => of() }, options);
export const NullableNested = (of: () => Class, options?: FieldOptions) => property({ type: () => of(), nullable: true }, options);
export const ListOf = (of: () => Class, options?: FieldOptions) => property({ type: () => of(), isArray: true }, options);
export const NullableListOf = (of: () => Class, options?: FieldOptions) => property({ type: () => of(), isArray: true, nullable: true }, options);
/** One of several shapes; the class holding the field needs `@ApiExtraModels(...types)` so they are in the document. */
export const OneOfShapes = (types: Class[], options?: FieldOptions) =>
  property({ oneOf: types.map((type) => ({ $ref: getSchemaPath(type as never) })) }, options);

/** The 200 (or `status`) answer of an operation is `type` (an array of it with `isArray`). */
export function Answers(type: Class, options: { status?: number; isArray?: boolean; description?: string } = {}) {
  const { status = 200, ...rest } = options;
  return status === 200 ? ApiOkResponse({ type, ...rest }) : ApiResponse({ status, type, ...rest });
}

/** An operation that answers JSON by default and something else (text, Markdown, a stream) on request. */
export function AnswersJsonOr(type: Class, others: { mediaType: string; description: string }[]) {
  return applyDecorators(
    ApiExtraModels(type as never),
    ApiProduces('application/json', ...others.map((other) => other.mediaType)),
    ApiOkResponse({
      description: others.map((other) => `${other.mediaType}: ${other.description}`).join('; '),
      content: {
        'application/json': { schema: { $ref: getSchemaPath(type as never) } },
        ...Object.fromEntries(others.map((other) => [other.mediaType, { schema: { type: 'string' } }])),
      },
    }),
  );
}

/** An operation whose answer is not JSON at all (a metrics text, a stream of lines). */
export function AnswersText(mediaTypes: string[], description: string) {
  return ApiOkResponse({ description, content: Object.fromEntries(mediaTypes.map((mediaType) => [mediaType, { schema: { type: 'string' } }])) });
}
