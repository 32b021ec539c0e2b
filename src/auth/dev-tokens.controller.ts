import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsEmail, IsIn, IsOptional, Matches } from 'class-validator';
import type { Request } from 'express';
import { Answers } from '../common/api-schema';
import { BROKER_ROLES, type BrokerRole } from '../config/broker-roles';
import { ServiceConfig } from '../config/config.providers';
import { isLoopback } from '../config/loopback';
import { AuthError } from './auth.errors';
import { DevToken } from './auth.views';
import { Public } from './decorators';
import { DevIssuer } from './dev-issuer';

export class DevTokenBody {
  @ApiProperty({ example: 'alice' })
  @Matches(/^[A-Za-z0-9._@-]{1,128}$/, { message: 'must be 1-128 letters, digits, . _ @ or -' })
  subject: string;

  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...BROKER_ROLES] } })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(BROKER_ROLES as unknown as string[], { each: true, message: `each role must be one of ${BROKER_ROLES.join(', ')}` })
  @Type(() => String)
  roles: BrokerRole[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsEmail()
  email?: string;
}

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
  @Answers(DevToken, { status: 201 })
  async mint(@Req() req: Request, @Body() body: DevTokenBody): Promise<DevToken> {
    if (!devSignInAvailable(this.config) || !fromThisMachineDirectly(req)) {
      throw new AuthError(
        'dev_sign_in_unavailable',
        'Dev sign-in is only available with AUTH_MODE=dev on a service listening on loopback, to a loopback client',
      );
    }
    const issuer = await DevIssuer.open(this.config.dataDir);
    return { token: await issuer.mint({ subject: body.subject, roles: body.roles, email: body.email, ttlSeconds: 8 * 3600 }) };
  }
}

// Set by reverse proxies: a request that passed one did not come from a person at this machine.
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via'];

/**
 * A loopback peer is not enough: a web page the developer visits can reach 127.0.0.1 too (DNS
 * rebinding makes its Host a foreign name; a plain cross-origin form post carries a foreign Origin),
 * and a reverse proxy on the same host turns any remote client into a loopback peer.
 */
function fromThisMachineDirectly(req: Request): boolean {
  if (!isLoopback(req.socket.remoteAddress ?? '')) return false;
  if (FORWARDING_HEADERS.some((name) => req.headers[name] !== undefined)) return false;
  const host = req.headers.host;
  if (!host) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (!isLoopback(hostname)) return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${host}`;
}

export function devSignInAvailable(config: ServiceConfig): boolean {
  return config.auth.mode === 'dev' && isLoopback(config.host);
}
