/** The roles a caller can hold in breakglass; the policy's `roles:` maps IdP groups to them. */
export const BROKER_ROLES = ['engineer', 'security', 'compliance', 'admin'] as const;
export type BrokerRole = (typeof BROKER_ROLES)[number];

export function isBrokerRole(value: unknown): value is BrokerRole {
  return typeof value === 'string' && (BROKER_ROLES as readonly string[]).includes(value);
}
