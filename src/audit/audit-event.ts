import type { AuditAction } from './control-catalogue';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a caller records; the log adds seq, time, controls and hashes. */
export interface AuditEntry {
  /** Who did it: a user's subject, or `system:<component>` for the service itself. */
  actor: string;
  action: AuditAction;
  grant?: string | null;
  target?: string | null;
  data?: Record<string, unknown>;
  /** Controls beyond the catalogue's, e.g. the target's own `controls` from the policy. */
  extraControls?: readonly string[];
}

/** The fields covered by the hash, exactly as exported. */
export interface AuditEventFields {
  seq: number;
  at: string;
  actor: string;
  action: string;
  grant: string | null;
  target: string | null;
  data: { [key: string]: JsonValue };
  controls: string[];
}

export interface AuditEvent extends AuditEventFields {
  prevHash: string;
  hash: string;
}

export function hashedFieldsOf(event: AuditEventFields): AuditEventFields {
  const { seq, at, actor, action, grant, target, data, controls } = event;
  return { seq, at, actor, action, grant, target, data, controls };
}
