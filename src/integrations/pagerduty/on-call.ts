import { Injectable } from '@nestjs/common';
import { api } from '@pagerduty/pdjs';
import { ServiceConfig } from '../../config/config.providers';

const REQUEST_TIMEOUT_MS = 5000;

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

interface PagerDutyUser {
  id: string;
  name?: string;
  email?: string;
}
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
  constructor(private readonly config: ServiceConfig) {}

  async check(email: string | null, scheduleIds: string[], now = new Date()): Promise<OnCallVerdict> {
    const token = this.config.env.PAGERDUTY_API_TOKEN;
    if (!token) return { outcome: 'unavailable', error: 'PAGERDUTY_API_TOKEN is not set' };
    const evidence: OnCallEvidence = { checkedAt: now.toISOString(), email: email ?? '', scheduleIds, user: null, entries: [] };
    if (!email) return { outcome: 'not_on_call', evidence, why: 'the caller has no email claim to match a PagerDuty user' };
    try {
      const users = (await this.get('users', { query: email })).users as PagerDutyUser[];
      const user = users?.find((candidate) => candidate.email?.toLowerCase() === email.toLowerCase());
      if (!user) return { outcome: 'not_on_call', evidence, why: `no PagerDuty user has the email ${email}` };
      evidence.user = { id: user.id, name: user.name ?? null };
      const instant = now.toISOString();
      const oncalls = (await this.get('oncalls', { 'user_ids[]': [user.id], 'schedule_ids[]': scheduleIds, since: instant, until: instant, time_zone: 'UTC' }))
        .oncalls as PagerDutyOnCallEntry[];
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

  private async get(resource: string, queryParameters: Record<string, string | string[]>): Promise<Record<string, unknown>> {
    // pdjs: a full `url` works for any server; its requestTimeout does nothing, so abort ourselves;
    // it resolves on HTTP errors, so check the status; `resource` is null off *.com, use `data`.
    const base = this.config.env.PAGERDUTY_API_URL.replace(/\/+$/, '');
    let response;
    try {
      response = await api({
        url: `${base}/${resource}`,
        token: this.config.env.PAGERDUTY_API_TOKEN,
        queryParameters,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) as never,
      });
    } catch (failure) {
      const status = (failure as { status?: number })?.status;
      throw new Error(
        status
          ? `PagerDuty ${resource} answered HTTP ${status} with a body that is not JSON`
          : `PagerDuty ${resource} unreachable: ${(failure as Error)?.message ?? failure}`,
        { cause: failure },
      );
    }
    if (!response.ok) throw new Error(`PagerDuty ${resource} answered HTTP ${response.status}`);
    return response.data as Record<string, unknown>;
  }
}
