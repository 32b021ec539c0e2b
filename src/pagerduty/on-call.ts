import { Injectable } from '@nestjs/common';
import { PagerDutyApi } from './pagerduty-api';

/** What PagerDuty said, kept on the grant as evidence. */
export interface OnCallEvidence {
  checkedAt: string;
  email: string;
  scheduleIds: string[];
  user: { id: string; name: string | null } | null;
  entries: {
    schedule: { id: string; summary: string | null };
    escalationPolicy: { id: string | null; summary: string | null };
    escalationLevel: number | null;
    start: string | null;
    end: string | null;
  }[];
}

export type OnCallVerdict =
  | { outcome: 'on_call'; evidence: OnCallEvidence }
  | { outcome: 'not_on_call'; evidence: OnCallEvidence; why: string }
  | { outcome: 'unavailable'; error: string };

interface PagerDutyOnCallEntry {
  schedule?: { id: string; summary?: string } | null;
  escalation_policy?: { id?: string; summary?: string } | null;
  escalation_level?: number;
  start?: string | null;
  end?: string | null;
}

/**
 * Is the requester on call now for one of the target's schedules? Asks the PagerDuty REST API
 * (users by email, then on-calls for that user and those schedules) through pdjs.
 */
@Injectable()
export class PagerDutyOnCall {
  constructor(private readonly pagerDuty: PagerDutyApi) {}

  async check(email: string | null, scheduleIds: string[], now = new Date()): Promise<OnCallVerdict> {
    const unconfigured = this.pagerDuty.unconfigured();
    if (unconfigured) return { outcome: 'unavailable', error: unconfigured };
    const evidence: OnCallEvidence = { checkedAt: now.toISOString(), email: email ?? '', scheduleIds, user: null, entries: [] };
    if (!email) return { outcome: 'not_on_call', evidence, why: 'the caller has no email claim to match a PagerDuty user' };
    try {
      const user = await this.pagerDuty.userByEmail(email);
      if (!user) return { outcome: 'not_on_call', evidence, why: `no PagerDuty user has the email ${email}` };
      evidence.user = user;
      const instant = now.toISOString();
      const oncalls = (
        await this.pagerDuty.get('oncalls', { 'user_ids[]': [user.id], 'schedule_ids[]': scheduleIds, since: instant, until: instant, time_zone: 'UTC' })
      ).oncalls as PagerDutyOnCallEntry[];
      evidence.entries = (oncalls ?? [])
        .filter((entry) => entry.schedule && scheduleIds.includes(entry.schedule.id))
        .filter((entry) => (!entry.start || Date.parse(entry.start) <= now.getTime()) && (!entry.end || Date.parse(entry.end) > now.getTime()))
        .map((entry) => ({
          schedule: { id: entry.schedule!.id, summary: entry.schedule!.summary ?? null },
          escalationPolicy: { id: entry.escalation_policy?.id ?? null, summary: entry.escalation_policy?.summary ?? null },
          escalationLevel: entry.escalation_level ?? null,
          start: entry.start ?? null,
          end: entry.end ?? null,
        }));
      return evidence.entries.length
        ? { outcome: 'on_call', evidence }
        : { outcome: 'not_on_call', evidence, why: `${email} is not on call now for schedule ${scheduleIds.join(', ')}` };
    } catch (error) {
      return { outcome: 'unavailable', error: (error as Error).message };
    }
  }
}
