import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { GrantIdParam } from '../access/grant-id';
import { ChainVerdict } from '../audit/audit.views';
import { Caller, Public, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { Answers, AnswersJsonOr } from '../common/api-schema';
import { IngestBodyPipe, type IngestBatch } from './ingest-body.pipe';
import { Reviews } from './reviews.service';
import { SessionTokenGuard } from './session-token.guard';
import { IngestBody, ReviewBody, SessionEventsQuery } from './sessions.dto';
import { Sessions } from './sessions.service';
import { IngestResult, ReviewList, ReviewRecorded, SessionPage } from './sessions.views';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('v1/grants/:id')
export class SessionsController {
  constructor(
    private readonly sessions: Sessions,
    private readonly reviews: Reviews,
  ) {}

  // Authenticated by the grant's session token instead of a user token.
  @Public()
  @UseGuards(SessionTokenGuard)
  @Post('events')
  @HttpCode(200)
  @ApiOperation({ summary: 'Append recorded session events (session token of this grant only)' })
  @ApiBody({ type: IngestBody })
  @Answers(IngestResult)
  ingest(@Param() { id }: GrantIdParam, @Body(IngestBodyPipe) body: IngestBatch) {
    return this.sessions.ingest(id, body.events);
  }

  @Get('events')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'The session log with hashes (format=text: a grep-able transcript)' })
  @AnswersJsonOr(SessionPage, [{ mediaType: 'text/plain', description: 'format=text, one line per record' }])
  async read(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Query() query: SessionEventsQuery, @Res({ passthrough: true }) res: Response) {
    if (query.format === 'text') {
      res.type('text/plain; charset=utf-8');
      return this.sessions.transcript(caller, id);
    }
    return this.sessions.read(caller, id, query.after ?? 0, query.limit);
  }

  @Get('events/verify')
  @Roles('security', 'compliance')
  @ApiOperation({ summary: 'Recompute the session chain: { valid, count, headHash, firstInvalidSeq? }' })
  @Answers(ChainVerdict)
  @Header('Cache-Control', 'no-store')
  verify(@Param() { id }: GrantIdParam) {
    return this.sessions.verify(id);
  }

  @Post('reviews')
  @Roles('security')
  @ApiOperation({ summary: 'Second-person review of the session log (not by the requester)' })
  @Answers(ReviewRecorded, { status: 201 })
  review(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Body() body: ReviewBody) {
    return this.reviews.review(caller, id, body);
  }

  @Get('reviews')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'Reviews of the session log, oldest first' })
  @Answers(ReviewList)
  async listReviews(@Caller() caller: Principal, @Param() { id }: GrantIdParam): Promise<ReviewList> {
    return { reviews: await this.reviews.list(caller, id), next: null };
  }
}
