import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsEmail, IsIn, IsOptional, Matches } from 'class-validator';
import type { Request } from 'express';
import { ServiceConfig } from '../config/config.providers';
import { BROKER_ROLES, type BrokerRole } from '../config/policy.schema';
import { AuthError } from './auth.errors';
import { Public } from './decorators';
import { DevIssuer } from './dev-issuer';

export class DevTokenBody {
  @Matches(/^[A-Za-z0-9._@-]{1,128}$/, { message: 'must be 1-128 letters, digits, . _ @ or -' })
  subject: string;

  @IsArray() @ArrayMinSize(1) @IsIn(BROKER_ROLES as unknown as string[], { each: true, message: `each role must be one of ${BROKER_ROLES.join(', ')}` })
  @Type(() => String)
  roles: BrokerRole[];

  @IsOptional() @IsEmail()
  email?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/;

/**
 * The dashboard's "sign in as" helper on a developer's machine: a dev token for any subject and
 * roles, only with AUTH_MODE=dev, only when the service listens on loopback, only to a loopback
 * client. Anywhere else it answers 404 as if it did not exist.
 */
@ApiTags('auth')
@Controller('v1/dev/tokens')
export class DevTokensController {
  constructor(private readonly config: ServiceConfig) {}

  @Public()
  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Mint a dev token (AUTH_MODE=dev on a loopback-only service, from loopback)' })
  async mint(@Req() req: Request, @Body() body: DevTokenBody) {
    if (!devSignInAvailable(this.config) || !LOOPBACK.test(req.socket.remoteAddress ?? '')) {
      throw new AuthError('dev_sign_in_unavailable', 'Dev sign-in is only available with AUTH_MODE=dev on a service listening on loopback');
    }
    const issuer = await DevIssuer.open(this.config.dataDir);
    return { token: await issuer.mint({ subject: body.subject, roles: body.roles, email: body.email, ttlSeconds: 8 * 3600 }) };
  }
}

export function devSignInAvailable(config: ServiceConfig): boolean {
  return config.auth.mode === 'dev' && LOOPBACK.test(config.host);
}
