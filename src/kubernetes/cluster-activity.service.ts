import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditEntry } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy } from '../config/config.providers';
import { clusterTargets, type TargetPolicy } from '../config/policy';
import { Notifications } from '../notifications/notifications.service';
import { Sessions, type BrokerRecord } from '../sessions/sessions.service';
import { ClusterActivityRepository, type CandidateGrant } from './cluster-activity.repository';
import type { ClusterRequest } from './cluster-request';

export interface Attribution {
  /** The grant that explains the request, or null. */
  grantId: string | null;
  /** The claimed grant when it exists (even if it no longer explains the request), and its target. */
  claimedGrant: string | null;
  claimedTarget: string | null;
}

/** What one audit batch did (the webhook's answer). */
export interface ClusterActivityResult {
  /** Requests by breakglass identities, recorded on a grant's session log. */
  recorded: number;
  /** Requests by breakglass identities that no active grant explains (audited, security told). */
  unattributed: number;
  /** auditIDs already taken in (kube-apiserver re-sent the batch). */
  duplicates: number;
  /** Requests by other identities (service accounts, people outside breakglass): not recorded. */
  otherIdentities: number;
}

/** Security hears about one identity's unexplained use at most once per this window and cluster. */
const NOTICE_WINDOW_MS = 15 * 60_000;

/**
 * P2.3: a cluster's own audit log, attributed to grants. A request by a breakglass identity is a
 * `k8s` record on the session log of the grant that explains it, or — when none does (a token used
 * after revoke, a forged identity) — a `k8s.unattributed` audit event and a notice to security.
 */
@Injectable()
export class ClusterActivity {
  constructor(
    private readonly repository: ClusterActivityRepository,
    private readonly sessions: Sessions,
    private readonly auditLog: AuditLog,
    private readonly notifications: Notifications,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
  ) {}

  /** The targets whose tokens cluster `name` trusts; empty when the policy names no such cluster. */
  targetsOf(name: string): TargetPolicy[] {
    return clusterTargets(this.policy, name);
  }

  async ingest(cluster: string, targets: TargetPolicy[], requests: ClusterRequest[]): Promise<ClusterActivityResult> {
    const prefix = targets[0].kubernetes!.usernamePrefix;
    // An empty prefix would make every user of the cluster look like a breakglass identity: then
    // only the grant claim marks one (docs/kubernetes.md).
    const isBreakglass = (request: ClusterRequest) => request.grantClaim !== null || (prefix !== '' && request.username.startsWith(prefix));
    const breakglass = requests.filter(isBreakglass);
    // One request per auditID, also within a batch.
    const ours = [...new Map(breakglass.map((request) => [request.auditID, request] as const)).values()];
    const result: ClusterActivityResult = {
      recorded: 0,
      unattributed: 0,
      duplicates: breakglass.length - ours.length,
      otherIdentities: requests.length - breakglass.length,
    };
    if (!ours.length) return result;

    const targetNames = targets.map((target) => target.name);
    const requesterOf = (request: ClusterRequest) => (request.username.startsWith(prefix) ? request.username.slice(prefix.length) : null);
    const times = ours.map((request) => request.receivedAt).sort();
    return this.dataSource.transaction(async (tx) => {
      const candidates = await this.repository.candidates(
        tx,
        targetNames,
        [...new Set(ours.map(requesterOf).filter((requester): requester is string => requester !== null))],
        [...new Set(ours.map((request) => request.grantClaim).filter((claim): claim is string => claim !== null))],
        times[0],
        times[times.length - 1],
      );
      const attributions = ours.map((request) => attribute(request, requesterOf(request), candidates, targetNames));
      const claimed = await this.repository.claim(
        tx,
        cluster,
        ours.map((request, index) => ({ auditID: request.auditID, grantId: attributions[index].grantId })),
      );
      const fresh = ours.map((request, index) => ({ request, attribution: attributions[index] })).filter(({ request }) => claimed.has(request.auditID));
      result.duplicates += ours.length - fresh.length;

      // The audit chain's lock before any session head: the order grant revocation takes them in.
      const unexplained = fresh.filter(({ attribution }) => attribution.grantId === null);
      if (unexplained.length) {
        await this.auditLog.append(tx, ...unexplained.map(({ request, attribution }) => unattributedEntry(cluster, request, attribution)));
        await this.notifySecurity(tx, cluster, unexplained);
      }
      const byGrant = groupBy(
        fresh.filter(({ attribution }) => attribution.grantId !== null),
        ({ attribution }) => attribution.grantId!,
        ({ request }) => sessionRecord(cluster, request),
      );
      if (byGrant.size) await this.sessions.recordIn(tx, byGrant);
      result.recorded = fresh.length - unexplained.length;
      result.unattributed = unexplained.length;
      return result;
    });
  }

  /** One notice per identity in the batch, and per identity, cluster and 15 minutes across batches. */
  private async notifySecurity(tx: EntityManager, cluster: string, unexplained: { request: ClusterRequest; attribution: Attribution }[]): Promise<void> {
    for (const [username, requests] of groupBy(
      unexplained,
      ({ request }) => request.username,
      ({ request }) => request,
    )) {
      const first = requests[0];
      const window = Math.floor(Date.parse(first.receivedAt) / NOTICE_WINDOW_MS);
      await this.notifications.notifyAudience(tx, {
        kind: 'k8s_unattributed',
        channels: this.policy.notify.security,
        key: `k8s-unattributed:${cluster}:${username}:${window}`,
        headline: `${username} used cluster ${cluster} with no active break-glass grant`,
        facts: {
          cluster,
          username,
          requests: requests.length,
          first: `${first.verb.toUpperCase()} ${first.requestURI}`.slice(0, 300),
          at: first.receivedAt,
          sourceIP: first.sourceIP,
          grantClaim: first.grantClaim,
        },
        links: [{ path: `/v1/audit?action=k8s.unattributed`, text: 'Unattributed Kubernetes requests in the audit log' }],
        pagerdutyDedupKey: `breakglass/k8s-unattributed/${cluster}/${username}/${window}`,
      });
    }
  }
}

/** What explains one request: the grant (of its requester, on the cluster's targets, active at its time, the one its claim names if any; the latest activated wins), and the claimed grant. */
function attribute(request: ClusterRequest, requester: string | null, candidates: CandidateGrant[], targets: string[]): Attribution {
  const at = Date.parse(request.receivedAt);
  let explained: CandidateGrant | undefined;
  for (const grant of candidates) {
    if (requester === null || grant.requester !== requester || !targets.includes(grant.target)) continue;
    if (request.grantClaim !== null && grant.id !== request.grantClaim) continue;
    if (grant.activatedAt.getTime() > at || at >= grant.endsAt.getTime()) continue;
    if (!explained || grant.activatedAt > explained.activatedAt) explained = grant;
  }
  const claimed = request.grantClaim === null ? undefined : candidates.find((grant) => grant.id === request.grantClaim);
  return { grantId: explained?.id ?? null, claimedGrant: claimed?.id ?? null, claimedTarget: claimed?.target ?? null };
}

/** Items by key, in their order, each mapped. */
function groupBy<T, V>(items: T[], keyOf: (item: T) => string, valueOf: (item: T) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(valueOf(item));
    else groups.set(key, [valueOf(item)]);
  }
  return groups;
}

/** P2.3's field mapping of a request onto a `k8s` session record (format 2). */
function sessionRecord(cluster: string, request: ClusterRequest): BrokerRecord {
  // Keys in RFC 8785 order and only strings or null: JSON.stringify is the canonical text (the
  // session chain hashes it; tests recompute it with a canonicalizer of their own).
  const detail = {
    apiGroup: request.apiGroup,
    auditID: request.auditID,
    name: request.name,
    namespace: request.namespace,
    resource: request.resource,
    subresource: request.subresource,
    userAgent: request.userAgent,
    verb: request.verb,
  };
  return {
    type: 'k8s',
    command: `${request.verb.toUpperCase()} ${request.requestURI}`,
    cwd: cluster,
    user: request.username,
    host: request.sourceIP,
    startedAt: request.receivedAt,
    finishedAt: request.finishedAt,
    exitCode: request.code,
    detail,
    detailCanonical: JSON.stringify(detail),
  };
}

function unattributedEntry(cluster: string, request: ClusterRequest, attribution: Attribution): AuditEntry {
  const why = request.grantClaim
    ? attribution.claimedGrant
      ? `grant ${request.grantClaim} did not explain it at ${request.receivedAt} (ended, another requester, or not a target on ${cluster})`
      : `grant ${request.grantClaim} does not exist`
    : `no grant of this identity on ${cluster} was active at ${request.receivedAt}`;
  return {
    actor: 'system:kubernetes',
    action: 'k8s.unattributed',
    // A use of a grant's token after it ended belongs in that grant's evidence.
    grant: attribution.claimedGrant,
    target: attribution.claimedTarget,
    data: {
      cluster,
      auditID: request.auditID,
      username: request.username,
      verb: request.verb,
      requestURI: request.requestURI,
      code: request.code,
      sourceIP: request.sourceIP,
      userAgent: request.userAgent,
      requestReceivedAt: request.receivedAt,
      grantClaim: request.grantClaim,
      why,
    },
  };
}
