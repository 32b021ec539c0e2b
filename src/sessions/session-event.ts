import { hash } from 'node:crypto';
import { canonicalJson, type ChainAnchor } from '../audit/chain';
import type { SessionEvent } from './sessions.views';

export type { Gap, SessionEvent } from './sessions.views';

/** A `detail` value: what the record's recorder adds (SQL outcome, Kubernetes request), hashed with it. */
export type RecordDetail = { [key: string]: DetailValue };
type DetailValue = string | number | boolean | null | DetailValue[] | { [key: string]: DetailValue };

/**
 * The fields covered by the session chain hash, exactly as the API returns them. Format 1 (records
 * stored before session record format 2) has no `detail` key; format 2 always has it (an object or
 * null). docs/formats.md gives both hashed objects.
 */
export type SessionEventFields = Omit<SessionEvent, 'prevHash' | 'hash' | 'late'>;

export function sessionHashedFields(event: SessionEventFields): SessionEventFields {
  const { grant, seq, type, command, cwd, user, host, startedAt, finishedAt, exitCode, receivedAt } = event;
  const fields: SessionEventFields = { grant, seq, type, command, cwd, user, host, startedAt, finishedAt, exitCode, receivedAt };
  if ('detail' in event) fields.detail = event.detail ?? null;
  return fields;
}

/** What the client sent, for comparing a re-sent seq with the stored one (receivedAt differs). */
export function clientContent(event: Pick<SessionEventFields, 'type' | 'command' | 'cwd' | 'user' | 'host' | 'startedAt' | 'finishedAt' | 'exitCode'>): string {
  return JSON.stringify([event.type, event.command, event.cwd, event.user, event.host, event.startedAt, event.finishedAt, event.exitCode]);
}

/**
 * hash_n for a session event, without a generic canonicalizer: for this flat record of strings,
 * integers and nulls, RFC 8785 is JSON.stringify of each value with the keys in sorted order,
 * which is what this writes (session-event.spec.ts checks it against `canonicalize`). `detail`
 * (format 2) is the one nested value: its canonical text is given, as stored (a record being
 * appended carries only that text), or made from `e.detail`.
 */
export function sessionEventHash(prevHash: string, e: SessionEventFields, detailCanonical?: string): string {
  const s = JSON.stringify;
  const detail =
    detailCanonical !== undefined ? `"detail":${detailCanonical},` : 'detail' in e ? `"detail":${e.detail ? canonicalJson(e.detail) : 'null'},` : '';
  const canonical =
    `{"command":${s(e.command)},"cwd":${s(e.cwd)},${detail}"exitCode":${s(e.exitCode)},"finishedAt":${s(e.finishedAt)},"grant":${s(e.grant)},` +
    `"host":${s(e.host)},"receivedAt":${s(e.receivedAt)},"seq":${s(e.seq)},"startedAt":${s(e.startedAt)},"type":${s(e.type)},"user":${s(e.user)}}`;
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

/**
 * The session heads anchored in the audit chain (`session.sealed`, and its reseals for late events):
 * a session log must pass through each, so a tail deleted along with a fixed head is caught.
 */
export function sealAnchors(auditEvents: readonly { action: string; data: unknown }[]): ChainAnchor[] {
  return auditEvents
    .filter((event) => event.action === 'session.sealed')
    .map((event) => event.data as { lastSeq: number; headHash: string })
    .map((seal) => ({ seq: seal.lastSeq, hash: seal.headHash }));
}
