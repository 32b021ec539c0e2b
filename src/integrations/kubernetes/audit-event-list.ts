import { unstorableTextProblem } from '../../common/storable-text';
import type { ClusterRequest } from '../../kubernetes/cluster-request';
import { WebhookError } from '../webhook.errors';

// kube-apiserver's audit webhook backend posts `audit.k8s.io/v1` `EventList`s
// (k8s.io/apiserver/pkg/apis/audit/v1/types.go). Only what P2.3 records is read; the rest of an
// event (request and response objects at RequestResponse level, annotations) is ignored.

/** kube-apiserver batches 400 events by default (--audit-webhook-batch-max-size); this leaves room for 5×. */
export const MAX_EVENTS_PER_LIST = 2000;
/**
 * --audit-webhook-truncate-max-batch-size defaults to 10 MiB; without truncation RequestResponse
 * events can be larger, so the body limit is higher (docs/kubernetes.md).
 */
export const AUDIT_BODY_LIMIT = '32mb';
const COUNTED_STAGES = new Set(['ResponseComplete', 'Panic']);
/** Events this far in the future (clock skew) or older than this are ignored, not attributed. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
const MAX_AGE_MS = 7 * 24 * 3600_000;
const AUDIT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// RFC 3339 as metav1.MicroTime writes it (fraction optional, Z or an offset).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_TEXT = 8192;

export interface IgnoredEvent {
  index: number;
  auditID: string | null;
  reason: string;
}

export interface ParsedEventList {
  requests: ClusterRequest[];
  /** Events of other stages (RequestReceived, ResponseStarted): expected, not counted. */
  otherStages: number;
  /** Events that cannot be recorded, each with why (missing fields, absurd timestamps). */
  invalid: IgnoredEvent[];
}

/** The EventList, or a 400/413 for a body that is not one; events that cannot be used are listed, not fatal. */
export function parseEventList(body: unknown, now: number): ParsedEventList {
  const list = body as { kind?: unknown; apiVersion?: unknown; items?: unknown } | null;
  if (
    !list ||
    typeof list !== 'object' ||
    Array.isArray(list) ||
    list.kind !== 'EventList' ||
    list.apiVersion !== 'audit.k8s.io/v1' ||
    !Array.isArray(list.items)
  ) {
    throw new WebhookError(
      'malformed_payload',
      'The body must be an audit.k8s.io/v1 EventList: { "kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [...] }',
    );
  }
  if (list.items.length > MAX_EVENTS_PER_LIST) {
    throw new WebhookError(
      'too_many_events',
      `An EventList may hold at most ${MAX_EVENTS_PER_LIST} events (got ${list.items.length}); lower --audit-webhook-batch-max-size`,
    );
  }
  const parsed: ParsedEventList = { requests: [], otherStages: 0, invalid: [] };
  list.items.forEach((item, index) => {
    const event = (item && typeof item === 'object' && !Array.isArray(item) ? item : {}) as Record<string, unknown>;
    if (typeof event.stage === 'string' && !COUNTED_STAGES.has(event.stage)) {
      parsed.otherStages++;
      return;
    }
    const request = clusterRequest(event, now);
    if (typeof request === 'string') parsed.invalid.push({ index, auditID: isText(event.auditID) ? event.auditID.slice(0, 64) : null, reason: request });
    else parsed.requests.push(request);
  });
  return parsed;
}

/** One counted event as a request, or why it cannot be one. */
function clusterRequest(event: Record<string, unknown>, now: number): ClusterRequest | string {
  if (!COUNTED_STAGES.has(event.stage as string)) return 'stage is missing or not a string';
  if (typeof event.auditID !== 'string' || !AUDIT_ID.test(event.auditID)) return 'auditID must be a UUID';
  if (typeof event.verb !== 'string' || !/^[a-z]{1,32}$/.test(event.verb)) return 'verb must be a lower-case word';
  if (!isText(event.requestURI) || !event.requestURI.startsWith('/')) return 'requestURI must be a path';
  const user = event.user as { username?: unknown; extra?: unknown } | undefined;
  if (!user || typeof user !== 'object' || !isText(user.username) || !user.username) return 'user.username is required';
  const received = timestamp(event.requestReceivedTimestamp, now);
  if (typeof received === 'string') return `requestReceivedTimestamp ${received}`;
  const finished = timestamp(event.stageTimestamp, now);
  if (typeof finished === 'string') return `stageTimestamp ${finished}`;
  if (finished < received) return 'stageTimestamp is before requestReceivedTimestamp';
  const extra = user.extra && typeof user.extra === 'object' ? (user.extra as Record<string, unknown>)['breakglass.io/grant'] : undefined;
  const grantClaim = Array.isArray(extra) && isText(extra[0]) ? extra[0].slice(0, 64) : null;
  const objectRef = (event.objectRef && typeof event.objectRef === 'object' ? event.objectRef : {}) as Record<string, unknown>;
  const status = (event.responseStatus && typeof event.responseStatus === 'object' ? event.responseStatus : {}) as { code?: unknown };
  const sourceIPs = Array.isArray(event.sourceIPs) ? event.sourceIPs : [];
  return {
    auditID: event.auditID.toLowerCase(),
    stage: event.stage as string,
    verb: event.verb,
    requestURI: event.requestURI,
    username: user.username,
    grantClaim,
    sourceIP: isText(sourceIPs[0]) ? sourceIPs[0] : null,
    userAgent: textOrNull(event.userAgent),
    receivedAt: new Date(received).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    code: Number.isInteger(status.code) && (status.code as number) >= 0 && (status.code as number) < 1000 ? (status.code as number) : null,
    resource: textOrNull(objectRef.resource),
    subresource: textOrNull(objectRef.subresource),
    namespace: textOrNull(objectRef.namespace),
    name: textOrNull(objectRef.name),
    apiGroup: textOrNull(objectRef.apiGroup),
  };
}

function timestamp(value: unknown, now: number): number | string {
  if (typeof value !== 'string' || !RFC3339.test(value)) return 'must be an RFC 3339 time';
  const at = Date.parse(value);
  if (Number.isNaN(at)) return 'must be an RFC 3339 time';
  if (at > now + MAX_FUTURE_SKEW_MS) return 'is in the future';
  if (at < now - MAX_AGE_MS) return 'is older than 7 days';
  return at;
}

// Text PostgreSQL can store (no NUL, no lone surrogate), bounded: the body was not walked on arrival.
function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TEXT && !unstorableTextProblem(value);
}

function textOrNull(value: unknown): string | null {
  return isText(value) && value !== '' ? value : null;
}
