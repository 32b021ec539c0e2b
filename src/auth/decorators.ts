import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { BrokerRole } from '../config/broker-roles';
import type { Principal } from './principal';

export const PUBLIC_ROUTE = 'breakglass:public';
export const REQUIRED_ROLES = 'breakglass:roles';

/** No bearer token needed (health, metrics, discovery documents). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The caller needs at least one of these broker roles. */
export const Roles = (...roles: BrokerRole[]) => SetMetadata(REQUIRED_ROLES, roles);

export interface AuthenticatedRequest {
  principal?: Principal;
}

/** The authenticated caller (set by the AuthGuard). */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().principal!;
});
