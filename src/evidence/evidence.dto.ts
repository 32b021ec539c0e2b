import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';

export class ExportQuery {
  @ApiPropertyOptional({ description: 'At or after (ISO-8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Strictly before (ISO-8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: ['jsonl', 'csv'], default: 'jsonl' })
  @IsOptional()
  @IsIn(['jsonl', 'csv'])
  format?: 'jsonl' | 'csv';

  @ApiPropertyOptional({ description: 'Only events tagged with this control, e.g. SOC2:CC8.1' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]+:[A-Za-z0-9.()-]+$/, { message: 'control must look like FRAMEWORK:ID, e.g. SOC2:CC8.1' })
  control?: string;
}

export class ReportQuery {
  @ApiPropertyOptional({ description: 'Grants activated at or after (ISO-8601); default 30 days before `to`' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Grants activated strictly before (ISO-8601); default now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: ['json', 'md'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'md'])
  format?: 'json' | 'md';
}
