import type { NoticeKind } from '../notifications/notice';
import type { ClockKind } from './sla.views';

// Which notice an SLA clock's escalation sends, and to whom it closes: pure rules, applied by SlaClocks.

/**
 * An escalation step's notice: a step before the due time (negative `after`) reminds, one at or after
 * it reports the breach (retro PR) or the overdue review.
 */
export function stepNoticeKind(clock: ClockKind, afterSeconds: number): NoticeKind {
  const reminder = afterSeconds < 0;
  if (clock === 'retro_pr') return reminder ? 'sla_reminder' : 'sla_breached';
  return reminder ? 'review_reminder' : 'review_overdue';
}

/** One PagerDuty incident per grant and clock (docs/policy.md, notifications): steps trigger it again, a late PR or a waiver resolves it. */
export function dedupKeyOf(grantId: string, kind: ClockKind): string {
  return `breakglass/${grantId}/${kind}`;
}

/** A late satisfaction or a waiver is told to every channel that heard of the clock, or compliance if none did. */
export function closingAudience(toldChannels: string[], complianceChannels: string[]): string[] {
  return toldChannels.length ? toldChannels : complianceChannels;
}
