import { Injectable } from '@nestjs/common';
import { PagerDutyApi, PagerDutyNotFound } from './pagerduty-api';

/** What PagerDuty said about the incident a request names, kept on the grant as evidence. */
export interface IncidentEvidence {
  checkedAt: string;
  id: string;
  status: string;
  title: string | null;
  urgency: string | null;
  service: { id: string; summary: string | null } | null;
  assignees: { id: string; summary: string | null }[];
  escalationPolicy: { id: string; summary: string | null } | null;
  htmlUrl: string | null;
  /** With requesterMustBeResponder: how the requester responds (assignee, or on call for its escalation policy). */
  responder: 'assignee' | 'on_call' | null;
}

export type IncidentVerdict =
  | { outcome: 'open'; evidence: IncidentEvidence }
  | { outcome: 'not_open'; evidence: IncidentEvidence }
  | { outcome: 'not_responder'; evidence: IncidentEvidence; why: string }
  | { outcome: 'unknown'; id: string }
  | { outcome: 'unavailable'; id: string; error: string };

interface PagerDutyReference {
  id: string;
  summary?: string;
}
interface PagerDutyIncident {
  id: string;
  status: string;
  title?: string;
  urgency?: string;
  html_url?: string;
  service?: PagerDutyReference | null;
  escalation_policy?: PagerDutyReference | null;
  assignments?: { assignee?: PagerDutyReference | null }[];
}

const OPEN = ['triggered', 'acknowledged'];

/** `PD-Q1W2E3` or a bare `Q1W2E3`: the PagerDuty incident id a request's incident names. */
export function pagerDutyIncidentId(incident: string): string {
  return incident.trim().replace(/^PD-?/i, '');
}

/**
 * Is the incident a request names open in PagerDuty (`GET /incidents/{id}` through pdjs), and, when
 * the target asks, is the requester one of its responders?
 */
@Injectable()
export class PagerDutyIncidents {
  constructor(private readonly pagerDuty: PagerDutyApi) {}

  async check(incident: string, requesterEmail: string | null, requesterMustBeResponder: boolean, now = new Date()): Promise<IncidentVerdict> {
    const id = pagerDutyIncidentId(incident);
    const unconfigured = this.pagerDuty.unconfigured();
    if (unconfigured) return { outcome: 'unavailable', id, error: unconfigured };
    try {
      let found: PagerDutyIncident;
      try {
        found = (await this.pagerDuty.get(`incidents/${encodeURIComponent(id)}`)).incident as PagerDutyIncident;
      } catch (error) {
        if (error instanceof PagerDutyNotFound) return { outcome: 'unknown', id };
        throw error;
      }
      const evidence = evidenceOf(found, now);
      if (!OPEN.includes(found.status)) return { outcome: 'not_open', evidence };
      if (!requesterMustBeResponder) return { outcome: 'open', evidence };
      if (!requesterEmail) return { outcome: 'not_responder', evidence, why: 'the requester has no email claim to match a PagerDuty user' };
      const user = await this.pagerDuty.userByEmail(requesterEmail);
      if (!user) return { outcome: 'not_responder', evidence, why: `no PagerDuty user has the email ${requesterEmail}` };
      if (evidence.assignees.some((assignee) => assignee.id === user.id)) return { outcome: 'open', evidence: { ...evidence, responder: 'assignee' } };
      if (evidence.escalationPolicy) {
        const instant = now.toISOString();
        const { oncalls } = await this.pagerDuty.get('oncalls', {
          'user_ids[]': [user.id],
          'escalation_policy_ids[]': [evidence.escalationPolicy.id],
          since: instant,
          until: instant,
          time_zone: 'UTC',
        });
        if (Array.isArray(oncalls) && oncalls.length) return { outcome: 'open', evidence: { ...evidence, responder: 'on_call' } };
      }
      return {
        outcome: 'not_responder',
        evidence,
        why: `${requesterEmail} is neither assigned to PagerDuty incident ${id} nor on call for its escalation policy${evidence.escalationPolicy ? ` ${evidence.escalationPolicy.id}` : ''}`,
      };
    } catch (error) {
      return { outcome: 'unavailable', id, error: (error as Error).message };
    }
  }
}

function evidenceOf(incident: PagerDutyIncident, now: Date): IncidentEvidence {
  const reference = (r: PagerDutyReference | null | undefined) => (r?.id ? { id: r.id, summary: r.summary ?? null } : null);
  return {
    checkedAt: now.toISOString(),
    id: incident.id,
    status: incident.status,
    title: incident.title ?? null,
    urgency: incident.urgency ?? null,
    service: reference(incident.service),
    assignees: (incident.assignments ?? []).flatMap((a) => (a.assignee?.id ? [{ id: a.assignee.id, summary: a.assignee.summary ?? null }] : [])),
    escalationPolicy: reference(incident.escalation_policy),
    htmlUrl: incident.html_url ?? null,
    responder: null,
  };
}
