import type { BrokerRole } from '../config/broker-roles';

/** The authenticated caller of a request. */
export interface Principal {
  /** The token's `sub`: what grants, audit events and reviews name as the person. */
  subject: string;
  email: string | null;
  roles: BrokerRole[];
}
