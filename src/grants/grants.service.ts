import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EndedGrant } from '../access/ended-grant';
import { mayOnEveryGrant, requireGrantAccess } from '../access/grant-access';
import { GrantError, type DenialCode } from '../access/grant.errors';
import type { AuditEntry } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { DomainEventBus } from '../common/domain-events';
import { DueWorkLoop } from '../common/due-work-loop';
import { requireTimeRange } from '../common/time-range';
import { LoadedPolicy } from '../config/config.providers';
import { formatDuration } from '../config/duration';
import { findTarget, REQUESTER_CHANNEL, type TargetPolicy } from '../config/policy';
import type { IssuedCredential } from '../credentials/credential.types';
import { Credentials } from '../credentials/credentials.service';
import { afterCommit } from '../database/after-commit';
import { PrVerifications } from '../forge/pr-verifications.service';
import { Gitops } from '../gitops/gitops.service';
import type { GrantFacts } from '../notifications/notice';
import { Notifications } from '../notifications/notifications.service';
import type { GrantNotifications } from '../notifications/notifications.views';
import { PagerDutyIncidents } from '../pagerduty/incidents';
import { PagerDutyOnCall } from '../pagerduty/on-call';
import { Reviews } from '../sessions/reviews.service';
import { Sessions } from '../sessions/sessions.service';
import { PullRequests } from '../sla/pull-requests.service';
import { SlaClocks } from '../sla/sla-clocks.service';
import type { PullRequestLinks } from '../sla/sla.views';
import { grantView, type GrantCreated, type GrantDetail, type GrantExtended, type GrantPage, type GrantView } from './grant-views';
import type { ExtendGrantBody, GrantsQuery, RequestGrantBody } from './grants.dto';
import { GrantsRepository, type GrantDrill, type GrantRecord, type IncidentRecord, type OnCallRecord } from './grants.repository';
import { closestNames, effectiveRequest, extensionRefusal, incidentDecision, onCallDecision, reasonRefusal, requestRefusal } from './request-checks';

/** What the request's checks found, kept on the grant: on-call and incident evidence, flags for security. */
interface RequestChecks {
  onCall: OnCallRecord | null;
  incident: IncidentRecord | null;
  flags: string[];
}

const EXPIRY_BATCH = 20;

/**
 * The answer to a break-glass request: the grant exactly as `GET /v1/grants/:id` shows it, except
 * that `credential` is the issued secret (shown this once) instead of its metadata, plus the
 * session token.
 */

/** The grant lifecycle: request (policy, on-call), extend, revoke, and expiry on time. */
declare module '../common/domain-events' {
  interface TransactionEvents {
    /** A grant is being revoked or expired, before its credentials are removed (same transaction). */
    'grant.ending': EndedGrant;
  }
}

@Injectable()
export class Grants implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('grants');
  private readonly expiry = new DueWorkLoop('grants.expiry', {
    processDue: () => this.expireDue(),
    millisUntilNext: () => this.repository.millisUntilNextExpiry(),
  });

  constructor(
    private readonly repository: GrantsRepository,
    private readonly credentials: Credentials,
    private readonly auditLog: AuditLog,
    private readonly clocks: SlaClocks,
    private readonly onCall: PagerDutyOnCall,
    private readonly incidents: PagerDutyIncidents,
    private readonly notifications: Notifications,
    private readonly sessions: Sessions,
    private readonly gitops: Gitops,
    private readonly pullRequests: PullRequests,
    private readonly forge: PrVerifications,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly events: DomainEventBus,
    private readonly reviews: Reviews,
  ) {}

  onApplicationBootstrap(): void {
    // Also expires, at once, grants that ran out while the service was down.
    this.expiry.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.expiry.stop();
  }

  async request(caller: Principal, body: RequestGrantBody): Promise<GrantCreated> {
    const target = findTarget(this.policy, body.target);
    const deny = (code: DenialCode, message: string, details?: Record<string, unknown>) => this.deny(caller, body, target, code, message, details);
    if (!target) {
      const suggestions = closestNames(
        body.target,
        this.policy.targets.map((t) => t.name),
      );
      const hint = suggestions.length ? `; did you mean ${suggestions.join(' or ')}?` : ' (`breakglass targets` lists them)';
      return deny('target_unknown', `No target named "${body.target}" in the policy${hint}`, { suggestions });
    }
    const asked = effectiveRequest(target, body);
    const refusal = requestRefusal(target, asked);
    if (refusal) return deny(refusal.code, refusal.message, refusal.details);
    if (target.blockRequesterWhenOverdue) {
      const overdue = await this.clocks.overdueRetroPrGrants(caller.subject);
      if (overdue.length) {
        return deny(
          'requester_overdue',
          `The retroactive PR of ${overdue.join(', ')} is overdue: link it (breakglass link-pr ${overdue[0]} <PR URL>) before breaking the glass again`,
          {
            overdueGrants: overdue,
          },
        );
      }
    }
    const checks: RequestChecks = { onCall: null, incident: null, flags: [] };
    if (target.incidentPagerDuty) {
      const verdict = await this.incidents.check(asked.incident, caller.email, target.incidentPagerDuty.requesterMustBeResponder);
      const decision = incidentDecision(verdict, new Date());
      if ('refusal' in decision) return deny(decision.refusal.code, decision.refusal.message, decision.refusal.details);
      checks.incident = decision.incident;
      checks.flags.push(...decision.flags);
    }
    if (target.onCall) {
      const verdict = await this.onCall.check(caller.email, target.onCall.pagerdutyScheduleIds);
      const decision = onCallDecision({ name: target.name, onCall: target.onCall }, verdict, new Date());
      if ('refusal' in decision) return deny(decision.refusal.code, decision.refusal.message, decision.refusal.details);
      checks.onCall = decision.onCall;
      checks.flags.push(...decision.flags);
    }
    return this.activate(caller, asked, target, checks, null);
  }

  /**
   * A drill breaks the glass on a target through the same path as a person: the target's rules
   * (duration, reason; a drill answers to no incident), credential, session, notices and audit, a
   * refusal audited as grant.denied. What differs: no SLA clocks, and the notices say [DRILL] and go
   * to the drill's audience. The drill's own steps (on-call reachability, proofs) are in src/drills.
   */
  async requestForDrill(drill: GrantDrill, request: { target: string; incident: string; reason: string; durationSeconds: number }): Promise<GrantCreated> {
    const caller = DRILL_REQUESTER;
    const target = findTarget(this.policy, request.target);
    if (!target) return this.deny(caller, request, undefined, 'target_unknown', `No target named "${request.target}" in the policy`);
    const refusal = requestRefusal(target, { ...request, incident: null });
    if (refusal) return this.deny(caller, request, target, refusal.code, refusal.message, refusal.details);
    return this.activate(caller, request, target, { onCall: null, incident: null, flags: [] }, drill);
  }

  /** Ends a drill's grant as a revocation by the drill (its proof that revocation works). */
  async revokeForDrill(id: string, reason: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const grant = await this.lockActive(tx, id);
      await this.end(tx, grant, { status: 'revoked', actor: DRILL_REQUESTER.subject, reason });
    });
  }

  private async activate(
    caller: Principal,
    body: RequestGrantBody & { durationSeconds: number },
    target: TargetPolicy,
    { onCall, incident, flags }: RequestChecks,
    drill: GrantDrill | null,
  ): Promise<GrantCreated> {
    const { id, activatedAt } = await this.repository.nextGrant();
    const expiresAt = new Date(activatedAt.getTime() + body.durationSeconds * 1000);
    const subject = { id, target: target.name, requester: caller.subject, role: body.role ?? null, activatedAt, expiresAt };
    const issued = await this.credentials.issue(subject, target, activatedAt);
    let clocks;
    try {
      clocks = await this.dataSource.transaction(async (tx) => {
        await this.repository.insert(tx, {
          ...subject,
          environment: target.environment,
          credentialType: target.credential.type,
          requesterEmail: caller.email,
          incident: body.incident,
          reason: body.reason,
          requestedSeconds: body.durationSeconds,
          retroPrRepo: target.retroPr.repo,
          onCall,
          incidentEvidence: incident,
          flags,
          drill,
        });
        await this.credentials.record(tx, issued.records);
        await this.sessions.open(tx, id);
        // A drill proves the path, it owes no retroactive PR and no review.
        const started = drill ? null : await this.clocks.startFor(tx, subject, target);
        const facts: GrantFacts = {
          ...subject,
          environment: target.environment,
          requesterEmail: caller.email,
          incident: body.incident,
          reason: body.reason,
          drill: drill?.name ?? null,
        };
        await this.notifications.notify(tx, {
          kind: 'glass_broken',
          grant: facts,
          channels: drill ? drill.notify : target.notifyOnUse,
          key: `${id}:glass_broken`,
          facts: { durationSeconds: body.durationSeconds, flags: flags.join(', ') || null },
        });
        if (flags.length) {
          await this.notifications.notify(tx, {
            kind: 'grant_flagged',
            grant: facts,
            channels: this.policy.notify.security,
            key: `${id}:flagged`,
            facts: {
              flags: flags.join(', '),
              onCall: onCall?.status === 'unavailable' ? `PagerDuty unavailable: ${onCall.error}` : null,
              incidentCheck: incident && 'error' in incident ? `PagerDuty unavailable: ${incident.error}` : null,
            },
          });
        }
        // Last: appending takes the audit chain's head lock, held until commit.
        const about = { actor: caller.subject, grant: id, target: target.name };
        await this.auditLog.append(
          tx,
          {
            ...about,
            action: 'grant.requested',
            data: {
              incident: body.incident,
              reason: body.reason,
              durationSeconds: body.durationSeconds,
              role: body.role ?? null,
              requesterEmail: caller.email,
              onCall: onCall?.status ?? 'not_required',
              incidentCheck: incident?.status ?? 'not_required',
              ...(drill ? { drill: { name: drill.name, run: drill.run } } : {}),
            },
          },
          {
            ...about,
            action: 'grant.activated',
            data: { activatedAt, expiresAt, retroPrDueAt: started?.retroPrDueAt ?? null, reviewDueAt: started?.reviewDueAt ?? null, flags },
          },
          ...issued.records.map((record) => ({ ...about, action: 'credential.issued' as const, data: credentialFacts(record) })),
        );
        return started;
      });
    } catch (error) {
      await issued.discard().catch((failure: Error) => this.logger.error(`could not undo the credential of ${id}: ${failure.message}`));
      throw error;
    }
    this.expiry.wakeIfDueBefore(expiresAt);
    return {
      id,
      status: 'active',
      target: target.name,
      environment: target.environment,
      requester: caller.subject,
      incident: body.incident,
      reason: body.reason,
      role: subject.role,
      durationSeconds: body.durationSeconds,
      activatedAt: activatedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      endedAt: null,
      endedBy: null,
      endReason: null,
      flags,
      onCall,
      incidentEvidence: incident,
      credential: issued.credential,
      extensions: [],
      sessionToken: issued.sessionToken,
      retroPr: { reference: id, dueAt: clocks?.retroPrDueAt.toISOString() ?? null, repo: target.retroPr.repo },
      review: { dueAt: clocks?.reviewDueAt.toISOString() ?? null },
      drill: drill ? { name: drill.name, run: drill.run } : null,
    };
  }

  /** Every refused attempt is evidence too: audited in its own transaction, then refused. */
  private async deny(
    caller: Principal,
    body: Pick<RequestGrantBody, 'target' | 'incident' | 'reason' | 'durationSeconds' | 'role'>,
    target: TargetPolicy | undefined,
    code: DenialCode,
    message: string,
    details?: Record<string, unknown>,
  ): Promise<never> {
    await this.dataSource.transaction((tx) =>
      this.auditLog.append(tx, {
        actor: caller.subject,
        action: 'grant.denied',
        target: target?.name ?? null,
        data: {
          code,
          message,
          request: {
            target: body.target,
            incident: body.incident,
            reason: body.reason,
            durationSeconds: body.durationSeconds ?? null,
            role: body.role ?? null,
          },
          ...details,
        },
      }),
    );
    throw new GrantError(code, message, details);
  }

  async list(caller: Principal, query: GrantsQuery): Promise<GrantPage> {
    // Engineers without a wider role only ever see their own grants.
    // Who may read any grant may list them all; everyone else lists their own.
    requireTimeRange(query);
    const requester = mayOnEveryGrant(caller, 'grant.read') ? query.requester : caller.subject;
    const { status, target, overdue, from, to, incident } = query;
    const records = await this.repository.list(
      { status, target, requester, overdue, beforeId: query.after, from, to, incident: incident?.trim() },
      query.limit,
    );
    const grants = await Promise.all(records.map((record) => this.view(record)));
    return { grants, next: records.length === query.limit ? records[records.length - 1].id : null };
  }

  /** GET /v1/grants/:id: the grant with what the GitOps reconcilers showed about it (drift, the closed loop). */
  async getWithGitops(caller: Principal, id: string): Promise<GrantDetail> {
    const view = await this.get(caller, id);
    const [gitops, verdict, changes, forge] = await Promise.all([
      this.gitops.forGrant(id),
      this.reviews.verdictOf(id),
      this.sessions.changes(id),
      this.forge.forGrant(id),
    ]);
    return { ...view, gitops, verdict, changes, forge };
  }

  async pullRequestsOf(caller: Principal, id: string): Promise<PullRequestLinks> {
    await this.get(caller, id);
    return { pullRequests: await this.pullRequests.forGrant(id) };
  }

  /** The outbox rows of the grant: what was sent where, and whether it arrived (no message bodies). */
  async notificationsOf(caller: Principal, id: string): Promise<GrantNotifications> {
    await this.get(caller, id);
    const rows = await this.notifications.forGrant(id);
    return {
      notifications: rows.map((n) => ({
        id: n.id,
        notice: n.notice,
        channel: n.channel,
        channelType: n.channelType,
        clock: n.clockId,
        subject: n.message.subject,
        status: n.status,
        attempts: n.attempts,
        lastError: n.lastError,
        createdAt: n.createdAt,
        deliveredAt: n.deliveredAt,
      })),
    };
  }

  async get(caller: Principal, id: string): Promise<GrantView> {
    return this.view(requireGrantAccess(caller, await this.repository.find(id), id, 'grant.read'));
  }

  async extend(caller: Principal, id: string, body: ExtendGrantBody): Promise<GrantExtended> {
    let newCredential: IssuedCredential | undefined;
    await this.dataSource.transaction(async (tx) => {
      const grant = await this.lockActive(tx, id);
      requireGrantAccess(caller, grant, id, 'grant.extend');
      const target = findTarget(this.policy, grant.target);
      if (!target) throw new GrantError('target_unknown', `Target ${grant.target} is no longer in the policy`);
      const newExpiresAt = new Date(grant.expiresAt.getTime() + body.durationSeconds * 1000);
      const refusal = reasonRefusal(target, body.reason) ?? extensionRefusal(target, grant.activatedAt, newExpiresAt);
      if (refusal) throw new GrantError(refusal.code, refusal.message, refusal.details);
      const now = await this.repository.now();
      const extended = await this.credentials.extend(
        tx,
        { id, target: grant.target, requester: grant.requester, role: grant.role, activatedAt: grant.activatedAt, expiresAt: newExpiresAt },
        target,
        now,
      );
      await this.repository.extend(tx, id, { at: now, by: caller.subject, addedSeconds: body.durationSeconds, reason: body.reason, newExpiresAt });
      await this.notifications.notify(tx, {
        kind: 'grant_extended',
        grant: { ...factsOf(grant), expiresAt: newExpiresAt },
        channels: target.notifyOnUse,
        key: `${id}:extended:${newExpiresAt.toISOString()}`,
        facts: { addedSeconds: body.durationSeconds, extensionReason: body.reason, previousExpiresAt: grant.expiresAt.toISOString() },
      });
      const about = { actor: caller.subject, grant: id, target: target.name };
      await this.auditLog.append(
        tx,
        {
          ...about,
          action: 'grant.extended',
          data: { addedSeconds: body.durationSeconds, reason: body.reason, previousExpiresAt: grant.expiresAt, expiresAt: newExpiresAt },
        },
        ...extended.issued.map((record) => ({ ...about, action: 'credential.issued' as const, data: credentialFacts(record) })),
      );
      newCredential = extended.credential;
    });
    const view = await this.get(caller, id);
    return newCredential ? { ...view, newCredential } : view;
  }

  async revoke(caller: Principal, id: string, reason: string): Promise<GrantView> {
    await this.dataSource.transaction(async (tx) => {
      const grant = await this.lockActive(tx, id);
      requireGrantAccess(caller, grant, id, 'grant.revoke');
      await this.end(tx, grant, { status: 'revoked', actor: caller.subject, reason });
    });
    // Whoever may revoke may see the result (an admin is not otherwise a reader of grants).
    return this.view((await this.repository.find(id))!);
  }

  /**
   * PagerDuty resolved an incident (its `incident.resolved` webhook, once per event id): each active
   * grant tied to it follows its target's `onIncidentResolved` — `notify` (the requester and the
   * target's audience are told; access stays), `shorten:<duration>` (the window ends at most that
   * long from now) or `revoke` — audited `grant.incident_resolved`, all in one transaction.
   */
  async incidentResolved(event: { id: string; type: string }, pagerDutyIncidentId: string): Promise<IncidentResolution> {
    return this.dataSource.transaction(async (tx) => {
      if (!(await this.pullRequests.recordDelivery(tx, 'pagerduty', event.id, event.type))) return { duplicate: true, grants: [] };
      const grants = await this.repository.lockActiveForIncident(tx, pagerDutyIncidentId);
      const outcomes: IncidentResolution['grants'] = [];
      for (const grant of grants) {
        const target = findTarget(this.policy, grant.target);
        const rule = target?.onIncidentResolved ?? { action: 'notify' as const };
        const now = await this.repository.now();
        const about = { actor: 'system:pagerduty', grant: grant.id, target: grant.target };
        const data: Record<string, unknown> = { incident: pagerDutyIncidentId, pagerdutyEvent: event.id, action: rule.action, expiresAt: grant.expiresAt };
        let outcome = `access stays until ${grant.expiresAt.toISOString()}`;
        if (rule.action === 'shorten') {
          const shortened = new Date(Math.min(grant.expiresAt.getTime(), now.getTime() + rule.seconds * 1000));
          await this.repository.shorten(tx, grant.id, shortened);
          Object.assign(data, { previousExpiresAt: grant.expiresAt, expiresAt: shortened });
          outcome = `access shortened to end at ${shortened.toISOString()} (${formatDuration(rule.seconds)} after the resolution)`;
          afterCommit(tx, () => this.expiry.wakeIfDueBefore(shortened));
        }
        await this.auditLog.append(tx, { ...about, action: 'grant.incident_resolved', data });
        if (rule.action === 'revoke') {
          await this.end(tx, grant, { status: 'revoked', actor: about.actor, reason: `PagerDuty incident ${pagerDutyIncidentId} was resolved` });
        } else {
          await this.notifications.notify(tx, {
            kind: 'incident_resolved',
            grant: { ...factsOf(grant), expiresAt: (data.expiresAt as Date) ?? grant.expiresAt },
            channels: [REQUESTER_CHANNEL, ...(target?.notifyOnUse ?? [])],
            key: `${grant.id}:incident_resolved:${event.id}`,
            facts: { outcome, pagerdutyEvent: event.id },
          });
        }
        outcomes.push({ id: grant.id, action: rule.action });
      }
      return { grants: outcomes };
    });
  }

  /** Ends every grant past its expiry; rows are claimed with SKIP LOCKED, so instances share. */
  async expireDue(): Promise<void> {
    for (;;) {
      const ended = await this.dataSource.transaction(async (tx) => {
        const due = await this.repository.claimExpired(tx, EXPIRY_BATCH);
        for (const grant of due) await this.end(tx, grant, { status: 'expired', actor: 'system:expiry', reason: 'the access window ended' });
        return due.length;
      });
      if (ended < EXPIRY_BATCH) return;
    }
  }

  private async end(tx: EntityManager, grant: GrantRecord, ending: { status: 'expired' | 'revoked'; actor: string; reason: string }): Promise<void> {
    const target = findTarget(this.policy, grant.target);
    // Before the credentials go: a pathway that holds sessions (the proxy) ends them itself, saying
    // who ended the grant and why, rather than relaying the target's bare "administrator command".
    await this.events.publish(tx, 'grant.ending', {
      id: grant.id,
      status: ending.status,
      endedAt: new Date(),
      endedBy: ending.actor,
      endReason: ending.reason,
    });
    const revocations = await this.credentials.revokeAll(tx, grant.id, target);
    const endedAt = await this.repository.end(tx, grant.id, { status: ending.status, by: ending.actor, reason: ending.reason });
    await this.notifications.notify(tx, {
      kind: ending.status === 'expired' ? 'grant_expired' : 'grant_revoked',
      grant: factsOf(grant),
      channels: grant.drill ? grant.drill.notify : (target?.notifyOnUse ?? []),
      key: `${grant.id}:${ending.status}`,
      facts: {
        by: ending.actor,
        endReason: ending.reason,
        endedAt: endedAt.toISOString(),
        credentialRemoval: revocations.some((r) => r.error) ? 'failed, will retry' : 'done',
      },
    });
    // Last: appending takes the audit chain's head lock, held until commit.
    const about = { actor: ending.actor, grant: grant.id, target: grant.target };
    const entries: AuditEntry[] = [
      {
        ...about,
        action: ending.status === 'expired' ? 'grant.expired' : 'grant.revoked',
        data: { reason: ending.reason, expiresAt: grant.expiresAt, endedAt },
      },
      ...revocations.flatMap(({ credential, error, cleanup }) => [
        {
          ...about,
          action: 'credential.revoked' as const,
          data: { ...credentialFacts(credential), providerStatus: error ? 'revoke_failed' : 'revoked', providerError: error },
        },
        ...(cleanup ? [{ ...about, action: 'credential.cleanup' as const, data: { username: credential.username, ...cleanup } }] : []),
      ]),
    ];
    await this.auditLog.append(tx, ...entries);
    await this.sessions.seal(tx, grant.id);
  }

  private async lockActive(tx: EntityManager, id: string): Promise<GrantRecord> {
    const grant = await this.repository.lock(tx, id);
    if (!grant) throw new GrantError('grant_not_found', `No grant ${id}`);
    if (grant.status !== 'active') throw new GrantError('grant_not_active', `${id} is already ${grant.status}`);
    return grant;
  }

  private async view(grant: GrantRecord): Promise<GrantView> {
    const [credentials, extensions] = await Promise.all([this.credentials.ofGrant(grant.id), this.repository.extensions(grant.id)]);
    return grantView(grant, credentials, extensions);
  }
}

/** What a PagerDuty incident.resolved delivery did. */
export interface IncidentResolution {
  /** The event id was seen before: nothing was done again. */
  duplicate?: true;
  grants: { id: string; action: 'notify' | 'shorten' | 'revoke' }[];
}

/** Who breaks the glass in a drill: no person, so no email, no on-call duty and no SLA to answer. */
export const DRILL_REQUESTER: Principal = { subject: 'system:drill', email: null, roles: [] };

function factsOf(grant: GrantRecord): GrantFacts {
  const { id, target, environment, requester, requesterEmail, incident, reason, activatedAt, expiresAt } = grant;
  return { id, target, environment, requester, requesterEmail, incident, reason, activatedAt, expiresAt, drill: grant.drill?.name ?? null };
}

/** What the audit log keeps about a credential: never the secret, only facts and a fingerprint. */
function credentialFacts(credential: {
  purpose: string;
  type: string;
  jti: string | null;
  kid: string | null;
  username: string | null;
  fingerprint: string;
  expiresAt: Date;
}) {
  return {
    purpose: credential.purpose,
    type: credential.type,
    jti: credential.jti,
    kid: credential.kid,
    username: credential.username,
    fingerprint: credential.fingerprint,
    expiresAt: credential.expiresAt,
  };
}
