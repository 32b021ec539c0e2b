import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';
import { CommonError } from './domain-error';

/** A `from` or `to` query parameter: an optional ISO 8601 time (the period's bound is said in `description`). */
export const TimeBound = (description: string) => applyDecorators(ApiPropertyOptional({ description }), IsOptional(), IsISO8601({ strict: true }));

/**
 * `from`/`to` of every period query (grants, audit, exports, reports): a `from` after `to` is a
 * mistake to say, not an empty answer to give (`400 invalid_time_range`). Equal bounds are an empty
 * half-open range.
 */
export function requireTimeRange(range: { from?: string; to?: string }): void {
  if (range.from && range.to && Date.parse(range.from) > Date.parse(range.to)) {
    throw new CommonError('invalid_time_range', `\`from\` (${range.from}) is after \`to\` (${range.to})`, { from: range.from, to: range.to });
  }
}
