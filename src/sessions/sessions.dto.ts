import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../audit/audit.dto';
import { RequiredText } from '../common/required-text';
import { REVIEW_OUTCOMES } from './sessions.views';

export const MAX_BATCH = 500;
export const MAX_COMMAND_CHARS = 65536;
/** A time with its zone (a client's local time without one cannot be placed); seconds optional. */
export const TIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const withZone = { message: '$property must be an ISO-8601 time with a zone (Z or ±hh:mm)' };
// PostgreSQL text cannot hold NUL; refusing it here gives a clear 400 instead of a 500.
const NO_NUL = /^[^\u0000]*$/;
const noNul = { message: 'must not contain NUL characters' };

export class SessionEventBody {
  @ApiProperty({ minimum: 1 })
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  seq: number;

  @ApiProperty({ enum: ['command', 'session_start', 'session_end', 'note'] })
  @IsIn(['command', 'session_start', 'session_end', 'note'])
  type: 'command' | 'session_start' | 'session_end' | 'note';

  @ApiPropertyOptional({ maxLength: MAX_COMMAND_CHARS })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_COMMAND_CHARS)
  @Matches(NO_NUL, noNul)
  command?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  @Matches(NO_NUL, noNul)
  cwd?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @Matches(NO_NUL, noNul)
  user?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @Matches(NO_NUL, noNul)
  host?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(TIME_WITH_ZONE, withZone)
  startedAt?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(TIME_WITH_ZONE, withZone)
  finishedAt?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(-2_147_483_648)
  @Max(2_147_483_647)
  exitCode?: number | null;
}

export class IngestBody {
  @ApiProperty({ type: [SessionEventBody], maxItems: MAX_BATCH })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH)
  @ValidateNested({ each: true })
  @Type(() => SessionEventBody)
  events: SessionEventBody[];
}

export class SessionEventsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'The `next` value of the previous page (the last seq)' })
  // Session seqs are PostgreSQL integers.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  after?: number;

  @ApiPropertyOptional({ enum: ['json', 'text'], description: 'text: a grep-able transcript' })
  @IsOptional()
  @IsIn(['json', 'text'])
  format?: 'json' | 'text';
}

export class ReviewBody {
  @ApiProperty({ enum: REVIEW_OUTCOMES })
  @IsIn(REVIEW_OUTCOMES)
  outcome: (typeof REVIEW_OUTCOMES)[number];

  @ApiProperty()
  @RequiredText({ max: 20000 })
  notes: string;

  @ApiPropertyOptional({ description: 'Required when the session chain does not verify: the reviewer has seen and accepts the integrity problem' })
  @IsOptional()
  @IsBoolean()
  acknowledgeIntegrityFailure?: boolean;

  @ApiPropertyOptional({ description: 'The last session seq the reviewer read (default: the head now); the review clock needs the sealed head covered' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  coversSeq?: number;
}
