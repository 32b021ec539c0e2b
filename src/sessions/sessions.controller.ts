import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { GrantIdParam } from '../access/grant-id';
import { Caller, Public, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { IngestBodyPipe, type IngestBatch } from './ingest-body.pipe';
import { Reviews } from './reviews.service';
import { SessionTokenGuard } from './session-token.guard';
import { IngestBody, ReviewBody, SessionEventsQuery } from './sessions.dto';
import { Sessions } from './sessions.service';

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
  ingest(@Param() { id }: GrantIdParam, @Body(IngestBodyPipe) body: IngestBatch) {
    return this.sessions.ingest(id, body.events);
  }

  @Get('events')
  @Roles('engineer', 'security', 'compliance')
  @ApiOperation({ summary: 'The session log with hashes (format=text: a grep-able transcript)' })
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
  @Header('Cache-Control', 'no-store')
  verify(@Param() { id }: GrantIdParam) {
    return this.sessions.verify(id);
  }

  @Post('reviews')
  @Roles('security')
  @ApiOperation({ summary: 'Second-person review of the session log (not by the requester)' })
  review(@Caller() caller: Principal, @Param() { id }: GrantIdParam, @Body() body: ReviewBody) {
    return this.reviews.review(caller, id, body);
  }

  @Get('reviews')
  @Roles('engineer', 'security', 'compliance')
  async listReviews(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return { reviews: await this.reviews.list(caller, id), next: null };
  }
}
