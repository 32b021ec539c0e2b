import { hash } from 'node:crypto';
import { canonicalJson } from './chain';
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

/** An audit row as verification reads it: EVENT_COLUMNS order, controls joined by commas. */
export type StoredAuditRow = [
  seq: string, at: string, actor: string, action: string, grant: string | null, target: string | null,
  data: { [key: string]: JsonValue }, controls: string, prevHash: string, hash: string,
];

/**
 * hash_n of an audit event without canonicalizing the whole record generically: its top-level
 * keys are fixed (written here in RFC 8785 order), only `data` is free-form. Equal to
 * chainHash(prevHash, hashedFieldsOf(event)) (audit-event.spec.ts checks it).
 */
export function auditEventHash(prevHash: string, e: AuditEventFields): string {
  return hashAuditEvent(prevHash, e.seq, e.at, e.actor, e.action, e.grant, e.target, e.data, e.controls.join(','));
}

/** hash_n recomputed from a stored row, as verification needs it (no per-row objects). */
export function storedAuditRowHash(row: StoredAuditRow): string {
  return hashAuditEvent(row[8], Number(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7]);
}

const canonicalControlsCache = new Map<string, string>();

// Positional parameters: verification calls this millions of times, and a field object per call
// showed up in its profile.
function hashAuditEvent(
  prevHash: string, seq: number, at: string, actor: string, action: string, grant: string | null, target: string | null,
  data: { [key: string]: JsonValue }, joinedControls: string,
): string {
  let controls = canonicalControlsCache.get(joinedControls);
  if (controls === undefined) {
    controls = canonicalJson(joinedControls ? joinedControls.split(',') : []);
    if (canonicalControlsCache.size < 10_000) canonicalControlsCache.set(joinedControls, controls);
  }
  const s = JSON.stringify;
  const canonical = `{"action":${s(action)},"actor":${s(actor)},"at":${s(at)},"controls":${controls},"data":${canonicalJson(data)},"grant":${s(grant)},"seq":${seq},"target":${s(target)}}`;
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}
