import type { GrantSummary } from '../types';
import { when } from '../util';

/** What the broker keeps of a PagerDuty incident checked at request time (the API's `incidentEvidence`). */
interface IncidentEvidence {
  status: string;
  id: string;
  title?: string | null;
  urgency?: string | null;
  htmlUrl?: string | null;
  service?: { id: string; summary: string | null } | null;
  assignees?: { id: string; summary: string | null }[];
  escalationPolicy?: { id: string; summary: string | null } | null;
  responder?: string | null;
  checkedAt: string;
  error?: string;
}

const evidenceOf = (grant: Pick<GrantSummary, 'incidentEvidence'>) => grant.incidentEvidence as IncidentEvidence | null;

/** The grant's incident, linked to PagerDuty when it was checked there, with its status and title. */
export function IncidentLabel({ grant }: { grant: Pick<GrantSummary, 'incident' | 'incidentEvidence'> }) {
  const evidence = evidenceOf(grant);
  if (!evidence) return <>{grant.incident}</>;
  if (evidence.error) return <span class="flag">{grant.incident} (not verified: PagerDuty unavailable)</span>;
  return (
    <>
      {evidence.htmlUrl ? (
        <a href={evidence.htmlUrl} target="_blank" rel="noreferrer noopener">
          {grant.incident}
        </a>
      ) : (
        grant.incident
      )}{' '}
      <span class="muted">
        {evidence.status}: {evidence.title}
      </span>
    </>
  );
}

/** The PagerDuty facts as checked when the glass was broken (grant page). */
export function IncidentFacts({ grant }: { grant: Pick<GrantSummary, 'incidentEvidence'> }) {
  const evidence = evidenceOf(grant);
  if (!evidence) return null;
  if (evidence.error)
    return (
      <p class="flag">
        PagerDuty could not be asked at {when(evidence.checkedAt)}: {evidence.error}
      </p>
    );
  const people = (evidence.assignees ?? []).map((a) => a.summary ?? a.id).join(', ') || 'nobody';
  return (
    <p class="muted" aria-label="PagerDuty incident">
      PagerDuty incident {evidence.id} was {evidence.status} at {when(evidence.checkedAt)} ({evidence.urgency ?? 'no'} urgency), service{' '}
      {evidence.service?.summary ?? evidence.service?.id ?? 'unknown'}, assigned to {people}, escalation policy{' '}
      {evidence.escalationPolicy?.summary ?? evidence.escalationPolicy?.id ?? 'none'}
      {evidence.responder ? `; the requester responds as ${evidence.responder === 'assignee' ? 'an assignee' : 'its on-call'}` : ''}.
    </p>
  );
}
