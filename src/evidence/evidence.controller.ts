import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { GrantIdParam } from '../access/grant-id';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers, AnswersJsonOr, AnswersText } from '../common/api-schema';
import { requireTimeRange } from '../common/time-range';
import { ComplianceReport } from './compliance-report';
import { reportHtml, reportMarkdown } from './compliance-report-render';
import { ExportQuery, ReportQuery } from './evidence.dto';
import { Evidence } from './evidence.service';
import { ComplianceReportView, SignedBundle } from './evidence.views';
import { PeriodExport } from './period-export';

@ApiTags('evidence')
@ApiBearerAuth()
@Controller()
export class EvidenceController {
  constructor(
    private readonly evidence: Evidence,
    private readonly periodExport: PeriodExport,
    private readonly complianceReport: ComplianceReport,
  ) {}

  @Get('v1/grants/:id/evidence')
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'Signed evidence bundle: { bundle, jws } with jws = compact EdDSA JWS over canon(bundle)' })
  @Answers(SignedBundle)
  bundle(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.evidence.bundleFor(caller, id);
  }

  @Get('v1/evidence/export')
  @Roles('compliance')
  @ApiOperation({ summary: 'Audit events of a period with prevHash/hash and controls, streamed (jsonl or csv), ending with the chain head' })
  @AnswersText(
    ['application/x-ndjson', 'text/csv'],
    'format=jsonl (default): one audit event per line, then the chain head and the covering checkpoint; format=csv: the events as pure CSV (the chain head is the X-Breakglass-Chain-Head header)',
  )
  async export(@Caller() caller: Principal, @Query() query: ExportQuery, @Res() res: Response) {
    requireTimeRange(query); // before the stream starts: its status cannot change afterwards
    await this.periodExport.stream(caller, { from: query.from, to: query.to, control: query.control, format: query.format ?? 'jsonl' }, res);
  }

  @Get('v1/reports/compliance')
  @Roles('compliance')
  @ApiOperation({ summary: 'Compliance report for a period (JSON; format=md for Markdown, format=html for a print-ready page with charts)' })
  @AnswersJsonOr(ComplianceReportView, [
    { mediaType: 'text/markdown', description: 'format=md' },
    { mediaType: 'text/html', description: 'format=html: self-contained, inline SVG charts, no external requests' },
  ])
  async report(@Query() query: ReportQuery, @Res({ passthrough: true }) res: Response) {
    const to = query.to ?? new Date().toISOString();
    const from = query.from ?? new Date(Date.parse(to) - 30 * 86400_000).toISOString();
    requireTimeRange({ from, to });
    const data = await this.complianceReport.build({ from, to });
    if (query.format === 'md') {
      res.type('text/markdown; charset=utf-8');
      return reportMarkdown(data);
    }
    if (query.format === 'html') {
      res.type('text/html; charset=utf-8');
      // Nothing in the page may load from elsewhere: it is evidence, printed and filed as it is.
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      return reportHtml(data);
    }
    return data;
  }
}
