import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { BrokerRole } from '../config/broker-roles';
import { AuthError } from './auth.errors';
import { CallerAuthenticator } from './caller-authenticator';
import { PUBLIC_ROUTE, REQUIRED_ROLES, type AuthenticatedRequest } from './decorators';

/** Global guard: every route needs a valid bearer token unless marked @Public(); @Roles narrows it. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: CallerAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const token = bearerTokenOf(request.header('authorization'));
    if (!token) throw new AuthError('unauthenticated', 'A bearer token is required (Authorization: Bearer <token>)');
    const principal = await this.authenticator.authenticate(token);
    request.principal = principal;
    const required = this.reflector.getAllAndOverride<BrokerRole[] | undefined>(REQUIRED_ROLES, targets);
    if (required?.length && !required.some((role) => principal.roles.includes(role))) {
      throw new AuthError('forbidden_role', `This needs one of the roles: ${required.join(', ')}`, {
        required,
        held: principal.roles,
      });
    }
    return true;
  }
}

/** The token of an `Authorization: Bearer <token>` header (user tokens, session tokens, Argo CD's shared token). */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}
