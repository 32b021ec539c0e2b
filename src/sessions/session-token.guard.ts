import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { bearerTokenOf } from '../auth/auth.guard';
import { VerifiedTokens } from '../common/verified-tokens';
import { ServiceConfig } from '../config/config.providers';
import { KeyStore } from '../credentials/key-store.service';
import { SESSION_AUDIENCE } from '../credentials/providers/jwt-credentials';
import { SessionError } from './sessions.errors';

export interface SessionRequest extends Request {
  sessionGrant?: string;
}

const VERIFIED_TOKENS_KEPT = 10_000;

/**
 * Session-event ingest accepts only the session token of the grant in the path: a token of
 * another grant is 403, a user token (dev or OIDC), a forged or an expired one is 401. Whether
 * the grant has ended is the ingest's business (late events are accepted).
 */
@Injectable()
export class SessionTokenGuard implements CanActivate {
  // A recorder sends the same token with every batch. Session tokens are never revoked (ingest
  // enforces the grant's end itself), so a signature once verified holds until the token's exp.
  private readonly verified = new VerifiedTokens<unknown>(VERIFIED_TOKENS_KEPT);

  constructor(
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SessionRequest>();
    const token = bearerTokenOf(request.header('authorization'));
    if (!token) throw new SessionError('invalid_session_token', 'The grant’s session token is required (Authorization: Bearer <sessionToken>)');
    const grant = await this.grantOf(token);
    if (grant !== request.params.id) throw new SessionError('wrong_grant', 'This session token belongs to another grant');
    request.sessionGrant = grant as string;
    return true;
  }

  private async grantOf(token: string): Promise<unknown> {
    const known = this.verified.get(token);
    if (known !== undefined) return known;
    let payload;
    try {
      payload = await this.keys.verify(token, { issuer: this.config.publicUrl, audience: SESSION_AUDIENCE });
    } catch (error) {
      throw new SessionError('invalid_session_token', `Session token rejected: ${(error as Error).message}`);
    }
    this.verified.set(token, payload.grant, payload.exp ?? 0);
    return payload.grant;
  }
}
