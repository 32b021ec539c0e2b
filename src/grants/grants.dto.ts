import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { CanonicalGrantId, GRANT_ID } from '../access/grant-id';
import { PageQuery } from '../audit/audit.dto';
import { RequiredText } from '../common/required-text';
import { TimeBound } from '../common/time-range';

const MAX_SECONDS = 30 * 86400;

export class RequestGrantBody {
  @ApiProperty({ example: 'payments-db' })
  @IsString()
  @MinLength(1)
  @MaxLength(63)
  target: string;

  @ApiProperty({ example: 'INC-4821' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  incident: string;

  @ApiProperty({ example: 'Card payments failing: need to inspect locks on the ledger table' })
  @RequiredText({ max: 4000 })
  reason: string;

  @ApiPropertyOptional({ example: 1800, description: "Requested window in seconds; capped by the target's maxDuration; omitted: its defaultDuration" })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SECONDS)
  durationSeconds?: number;

  @ApiPropertyOptional({ description: 'Narrow the credential to one of the target roles/groups' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(63)
  role?: string;
}

export class ExtendGrantBody {
  @ApiProperty({ example: 900 })
  @IsInt()
  @Min(1)
  @Max(MAX_SECONDS)
  durationSeconds: number;

  @ApiProperty({ description: 'Why more time is needed (the same minimum length as a request)' })
  @RequiredText({ max: 4000 })
  reason: string;
}

export class RevokeGrantBody {
  @ApiProperty({ example: 'Incident resolved' })
  @RequiredText({ max: 4000 })
  reason: string;
}

export class GrantsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['active', 'expired', 'revoked'] })
  @IsOptional()
  @IsIn(['active', 'expired', 'revoked'])
  status?: 'active' | 'expired' | 'revoked';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(63)
  target?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  requester?: string;

  @TimeBound('Grants activated at or after this time (ISO 8601)')
  from?: string;

  @TimeBound('Grants activated before this time (ISO 8601; half-open with from)')
  to?: string;

  @ApiPropertyOptional({ description: 'Incident id (any case), e.g. INC-4821' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  incident?: string;

  @ApiPropertyOptional({ description: 'Only grants whose retroactive PR is overdue' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  overdue?: boolean;

  @ApiPropertyOptional({ description: 'The `next` value of the previous page (a grant id)' })
  @IsOptional()
  @CanonicalGrantId()
  @Matches(GRANT_ID, { message: 'after must be a grant id such as BG-2026-000042' })
  after?: string;
}
