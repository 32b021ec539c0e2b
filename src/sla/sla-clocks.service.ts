import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TargetPolicy } from '../config/policy';
import { SlaClocksRepository } from './sla-clocks.repository';

export interface StartedClocks {
  retroPrDueAt: Date;
  reviewDueAt: Date;
}

/** The retroactive-PR and review clocks every activation starts (DESIGN.md "SLA clocks"). */
@Injectable()
export class SlaClocks {
  constructor(private readonly repository: SlaClocksRepository) {}

  async startFor(tx: EntityManager, grant: { id: string; requester: string; activatedAt: Date }, target: TargetPolicy): Promise<StartedClocks> {
    const after = (seconds: number) => new Date(grant.activatedAt.getTime() + seconds * 1000);
    const retroPrDueAt = after(target.retroPr.windowSeconds);
    const reviewDueAt = after(target.review.windowSeconds);
    await this.repository.start(tx, { grantId: grant.id, kind: 'retro_pr', requester: grant.requester, startedAt: grant.activatedAt, dueAt: retroPrDueAt });
    await this.repository.start(tx, { grantId: grant.id, kind: 'review', requester: grant.requester, startedAt: grant.activatedAt, dueAt: reviewDueAt });
    return { retroPrDueAt, reviewDueAt };
  }

  overdueRetroPrGrants(requester: string): Promise<string[]> {
    return this.repository.overdueRetroPrGrants(requester);
  }
}
