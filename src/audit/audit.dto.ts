import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { TimeBound } from '../common/time-range';

export class PageQuery {
  @ApiPropertyOptional({ description: 'Page size', default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

/** A list paged by a number: `after` is the `next` of the previous page (a seq, a tree size). */
export class NumberPageQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'The `next` value of the previous page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}

export class AuditQuery extends NumberPageQuery {
  @TimeBound('Events at or after this time (ISO-8601)')
  from?: string;

  @TimeBound('Events strictly before this time (ISO-8601)')
  to?: string;

  @ApiPropertyOptional({ description: 'Grant id, e.g. BG-2026-000042' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  grant?: string;

  @ApiPropertyOptional({ description: 'Control ID, e.g. SOC2:CC8.1' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]+:[A-Za-z0-9.()-]+$/, { message: 'control must look like FRAMEWORK:ID, e.g. SOC2:CC8.1' })
  control?: string;

  @ApiPropertyOptional({ description: 'Action, e.g. grant.activated' })
  @IsOptional()
  @Matches(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, { message: 'action must look like grant.activated' })
  action?: string;
}
