import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { canonicalJson } from '../audit/chain';
import type { Principal } from '../auth/principal';
import { ServiceConfig } from '../config/config.providers';
import { Credentials } from '../credentials/credentials.service';
import { KeyStore } from '../credentials/key-store.service';
import { PrVerifications } from '../forge/pr-verifications.service';
import { Gitops } from '../gitops/gitops.service';
import { Grants } from '../grants/grants.service';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { Reviews } from '../sessions/reviews.service';
import { sessionChanges } from '../sessions/session-changes';
import { Sessions } from '../sessions/sessions.service';
import { PullRequests } from '../sla/pull-requests.service';
import { SlaClocks } from '../sla/sla-clocks.service';
import { TransparencyLog } from '../transparency/transparency-log.service';
import type { SignedBundle } from './evidence.views';

export const BUNDLE_FORMAT = 'breakglass-evidence/1';

/**
 * The per-grant evidence bundle of docs/formats.md: everything an auditor needs about one break-glass,
 * as canonical JSON signed with a key published in the JWKS. Auditors verify it offline.
 */
@Injectable()
export class Evidence {
  constructor(
    private readonly grants: Grants,
    private readonly credentials: Credentials,
    private readonly sessions: Sessions,
    private readonly reviews: Reviews,
    private readonly pullRequests: PullRequests,
    private readonly forge: PrVerifications,
    private readonly gitops: Gitops,
    private readonly clocks: SlaClocks,
    private readonly outbox: NotificationsRepository,
    private readonly auditLog: AuditLog,
    private readonly keys: KeyStore,
    private readonly transparency: TransparencyLog,
    private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
  ) {}

  async bundleFor(caller: Principal, grantId: string): Promise<SignedBundle> {
    const grant = await this.grants.get(caller, grantId);
    const [credentials, session, verdict, reviews, pullRequests, forge, clocks, notifications, attempts, audit, gitops] = await Promise.all([
      this.credentials.ofGrant(grantId),
      this.sessions.everything(grantId),
      this.sessions.verify(grantId),
      this.reviews.forGrant(grantId),
      this.pullRequests.forGrant(grantId),
      this.forge.forGrant(grantId),
      this.clocks.list({ grant: grantId }, 10),
      this.outbox.forGrant(grantId),
      this.outbox.attemptsForGrant(grantId),
      this.auditLog.forGrant(grantId),
      this.gitops.forGrant(grantId),
    ]);
    const { checkpoint, proofs } = await this.transparency.proofsInLatestCheckpoint(audit.map((event) => event.seq));
    const { credential: _latest, onCall, extensions, ...grantFacts } = grant;
    const bundle = jsonSafe({
      format: BUNDLE_FORMAT,
      issuer: this.config.publicUrl,
      generatedAt: new Date(),
      generatedFor: caller.subject,
      grant: grantFacts,
      justification: { incident: grant.incident, reason: grant.reason, requestedSeconds: grant.durationSeconds, extensions },
      onCall,
      credentials: credentials.map(({ id: _id, grantId: _grant, ...metadata }) => metadata),
      session: {
        formula:
          'hash_n = SHA-256(hash_{n-1} + "\\n" + RFC8785({grant, seq, type, command, cwd, user, host, startedAt, finishedAt, exitCode, receivedAt})), hash_0 = 64 zeros',
        verdict,
        headHash: session.head?.hash ?? null,
        sealedHash: session.head?.sealedHash ?? null,
        gaps: session.head?.gaps ?? [],
        events: session.events,
        changes: await sessionChanges(session.events),
      },
      reviews,
      violations: reviews.filter((review) => review.outcome === 'violation').map((review) => review.id),
      pullRequests,
      // Per retro PR: what the forge said (approvals, signature, branch protection, checks) and what
      // retroPr.require found missing.
      forge,
      gitops: {
        driftAttributed: gitops.drift,
        reconciled: gitops.reconciled,
        reconciliationPaused: gitops.pause,
      },
      sla: clocks.clocks,
      notifications: notifications.map((n) => ({
        id: n.id,
        notice: n.notice,
        channel: n.channel,
        channelType: n.channelType,
        clock: n.clockId,
        status: n.status,
        createdAt: n.createdAt,
        deliveredAt: n.deliveredAt,
        subject: n.message.subject,
        attempts: attempts.get(n.id) ?? [],
      })),
      audit: {
        formula:
          'hash_n = SHA-256(hash_{n-1} + "\\n" + RFC8785({seq, at, actor, action, grant, target, data, controls})), one global chain; these are the events of this grant',
        inclusionFormula:
          'RFC 9162: leaf = SHA-256(0x00 || RFC8785(hashed fields)), node = SHA-256(0x01 || left || right); inclusionProof leads to the root of `checkpoint` (null: the event is newer than it)',
        events: audit.map((event) => {
          const proof = checkpoint && proofs.get(event.seq);
          return { ...event, inclusionProof: proof ? { leafIndex: event.seq - 1, treeSize: checkpoint.treeSize, proof } : null };
        }),
      },
      checkpoint: checkpoint?.note ?? null,
      controls: countControls(audit.map((event) => event.controls)),
    });
    // The bundle carries its public key, so it can still be checked when that key has long been
    // rotated out; trust in the key comes from the broker's published key history, not from the bundle.
    let signed: Record<string, unknown> = bundle;
    const jws = await this.keys.signCompact((signingKey) => {
      signed = { ...bundle, signingKey };
      return new TextEncoder().encode(canonicalJson(signed));
    });
    await this.dataSource.transaction((tx) =>
      this.auditLog.append(tx, {
        actor: caller.subject,
        action: 'evidence.exported',
        grant: grantId,
        target: grant.target,
        data: { kind: 'grant-bundle', auditEvents: audit.length, sessionEvents: session.events.length },
      }),
    );
    return { bundle: signed, jws };
  }
}

export function countControls(lists: string[][]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const list of lists) for (const control of list) counts[control] = (counts[control] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * What canonical JSON can carry exactly: dates as ISO strings, undefined dropped, numbers only
 * integers (a duration in fractional ms becomes its rounded integer).
 */
function jsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v) : v)));
}
