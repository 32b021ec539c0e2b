import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { requireGrantAccess } from '../access/grant-access';
import { GrantReader } from '../access/grant-reader';
import { GrantError } from '../access/grant.errors';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { LoadedPolicy } from '../config/config.providers';
import { Notifications } from '../notifications/notifications.service';
import { SlaClocks } from '../sla/sla-clocks.service';
import type { ReviewBody } from './sessions.dto';
import { SessionError } from './sessions.errors';
import { SessionsRepository, type ReviewRecord } from './sessions.repository';
import { Sessions } from './sessions.service';
import type { ReviewRecorded, ReviewVerdict } from './sessions.views';

/**
 * Second-person security review of a grant's session log. A review covers the log up to a seq;
 * only one made after the grant ended that covers the sealed head satisfies the review clock
 * (earlier ones are interim: what happens afterwards would go unreviewed). The latest review is the
 * grant's verdict; a `violation` is replaced only by another reviewer.
 */
@Injectable()
export class Reviews {
  constructor(
    private readonly sessions: Sessions,
    private readonly repository: SessionsRepository,
    private readonly clocks: SlaClocks,
    private readonly notifications: Notifications,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly grants: GrantReader,
  ) {}

  async review(caller: Principal, grantId: string, body: ReviewBody): Promise<ReviewRecorded> {
    const verdict = await this.sessions.verify(grantId);
    if (!verdict.valid && !body.acknowledgeIntegrityFailure) {
      throw new SessionError(
        'session_integrity_failed',
        `The session log of ${grantId} does not verify (first bad seq ${verdict.firstInvalidSeq}); review it with acknowledgeIntegrityFailure: true to record that you saw this`,
        verdict,
      );
    }
    return this.dataSource.transaction(async (tx) => {
      const grant = await this.repository.grantFacts(tx, grantId);
      if (!grant) throw new GrantError('grant_not_found', `No grant ${grantId}`);
      if (grant.requester === caller.subject) throw new SessionError('own_grant_review', 'A requester cannot review their own grant: a second person must');
      // The head lock orders reviews of one grant, so "current" cannot change under us.
      const head = (await this.repository.lockHead(tx, grantId))!;
      const coversSeq = body.coversSeq ?? head.lastSeq;
      if (coversSeq > head.lastSeq)
        throw new SessionError('review_beyond_head', `coversSeq ${coversSeq} is past the end of the session log (seq ${head.lastSeq})`, {
          lastSeq: head.lastSeq,
        });
      const [current] = await this.repository.currentReviews([grantId], tx);
      if (current?.outcome === 'violation' && body.outcome !== 'violation' && current.reviewer === caller.subject) {
        throw new SessionError(
          'violation_needs_second_reviewer',
          `${current.reviewer} recorded a violation on ${grantId}; only another reviewer can replace that verdict`,
          { violation: current.id },
        );
      }
      const ended = head.grantStatus !== 'active' && head.sealedAt !== null;
      const interim = !ended || coversSeq < head.lastSeq;
      const review = await this.repository.insertReview(tx, {
        grantId,
        reviewer: caller.subject,
        outcome: body.outcome,
        notes: body.notes,
        chainValid: verdict.valid,
        chainHead: verdict.headHash,
        eventsReviewed: verdict.count,
        integrityAcknowledged: !verdict.valid,
        coversSeq,
        interim,
        supersedes: current?.id ?? null,
      });
      await this.auditLog.append(tx, {
        actor: caller.subject,
        action: 'session.reviewed',
        grant: grantId,
        target: grant.target,
        data: {
          review: review.id,
          outcome: body.outcome,
          notes: body.notes,
          chainValid: verdict.valid,
          chainHead: verdict.headHash,
          eventsReviewed: verdict.count,
          firstInvalidSeq: verdict.firstInvalidSeq ?? null,
          coversSeq,
          interim,
          supersedes: current ? { review: current.id, outcome: current.outcome, reviewer: current.reviewer } : null,
        },
      });
      const clock = interim ? null : await this.clocks.satisfy(tx, grantId, 'review', caller.subject, `${body.outcome} review ${review.id}`);
      if (body.outcome === 'violation') {
        await this.notifications.notify(tx, {
          kind: 'review_violation',
          grant,
          channels: this.policy.notify.security,
          key: `${grantId}:violation:${review.id}`,
          facts: { reviewer: caller.subject, notes: body.notes.slice(0, 500), chainValid: verdict.valid },
        });
      }
      return { ...review, clock };
    });
  }

  /** Whoever may read the grant's session log may read its reviews. */
  async list(caller: Principal, grantId: string): Promise<ReviewRecord[]> {
    requireGrantAccess(caller, await this.grants.find(grantId), grantId, 'session.read');
    return this.forGrant(grantId);
  }

  /** The grant's current verdict (the review no later one superseded), for callers that checked access. */
  async verdictOf(grantId: string): Promise<ReviewVerdict | null> {
    const [current] = await this.repository.currentReviews([grantId]);
    return current
      ? { review: current.id, outcome: current.outcome, reviewer: current.reviewer, at: current.at, coversSeq: current.coversSeq, interim: current.interim }
      : null;
  }

  /** For callers that have checked access already (the evidence bundle). */
  forGrant(grantId: string): Promise<ReviewRecord[]> {
    return this.repository.reviews(grantId);
  }
}
