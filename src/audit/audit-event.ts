import { hash } from 'node:crypto';
import type { AuditEvent } from './audit.views';
import { canonicalJson } from './chain';
import type { AuditAction } from './control-catalogue';

export type { AuditEvent } from './audit.views';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a caller records; the log adds seq, time, controls and hashes. */
export interface AuditEntry {
  /** Who did it: a user's subject, or `system:<component>` for the service itself. */
  actor: string;
  action: AuditAction;
  grant?: string | null;
  target?: string | null;
  data?: Record<string, unknown>;
  /**
   * Further targets the event concerns (a reconciler event in several GitOps scopes). The log adds
   * the `controls` of these and of `target` from the policy: callers name targets, never controls.
   */
  alsoConcerns?: readonly string[];
}

/** The fields covered by the hash, exactly as exported. */
export type AuditEventFields = Omit<AuditEvent, 'prevHash' | 'hash'>;

export function hashedFieldsOf(event: AuditEventFields): AuditEventFields {
  const { seq, at, actor, action, grant, target, data, controls } = event;
  return { seq, at, actor, action, grant, target, data, controls };
}

/**
 * hash_n of an audit event without canonicalizing the whole record generically: its top-level
 * keys are fixed (written here in RFC 8785 order), only `data` is free-form. Equal to
 * chainHash(prevHash, hashedFieldsOf(event)) (audit-event.spec.ts checks it). PostgreSQL assembles
 * the same text to verify the chain (audit.sql.ts, CANONICAL_EVENT); `dataCanonical` is stored
 * with the event for that.
 */
export function auditEventHash(prevHash: string, e: AuditEventFields, dataCanonical = canonicalJson(e.data)): string {
  const s = JSON.stringify;
  const canonical = `{"action":${s(e.action)},"actor":${s(e.actor)},"at":${s(e.at)},"controls":${canonicalJson(e.controls)},"data":${dataCanonical},"grant":${s(e.grant)},"seq":${e.seq},"target":${s(e.target)}}`;
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}
