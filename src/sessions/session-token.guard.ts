import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ServiceConfig } from '../config/config.providers';
import { KeyStore } from '../credentials/key-store.service';
import { SESSION_AUDIENCE } from '../credentials/providers/jwt-credentials';
import { SessionError } from './sessions.errors';

export interface SessionRequest extends Request {
  sessionGrant?: string;
}

/**
 * Session-event ingest accepts only the session token of the grant in the path: a token of
 * another grant is 403, a user token (dev or OIDC), a forged or an expired one is 401. Whether
 * the grant has ended is the ingest's business (late events are accepted).
 */
@Injectable()
export class SessionTokenGuard implements CanActivate {
  constructor(
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SessionRequest>();
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.header('authorization') ?? '')?.[1];
    if (!token) throw new SessionError('invalid_session_token', 'The grant’s session token is required (Authorization: Bearer <sessionToken>)');
    let grant: unknown;
    try {
      ({ grant } = await this.keys.verify(token, { issuer: this.config.publicUrl, audience: SESSION_AUDIENCE }));
    } catch (error) {
      throw new SessionError('invalid_session_token', `Session token rejected: ${(error as Error).message}`);
    }
    if (grant !== request.params.id) throw new SessionError('wrong_grant', 'This session token belongs to another grant');
    request.sessionGrant = grant as string;
    return true;
  }
}
