import { parsePolicy } from '../config/policy.loader';
import type { OnCallEvidence } from '../integrations/pagerduty/on-call';
import { extensionRefusal, onCallDecision, reasonRefusal, requestRefusal } from './request-checks';

const [cluster, database] = parsePolicy(
  `
targets:
  - name: prod-cluster
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: [viewers, operators] }
    maxDuration: 1h
    maxTotalDuration: 2h
    reason: { minLength: 12 }
    incident: { pattern: '^INC-[0-9]+$' }
  - name: ledger
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [ledger_read] }
`,
  'p.yaml',
  {},
  'sha',
).targets;

const fine = { durationSeconds: 3600, reason: 'Payments failing since 09:12', incident: 'INC-4821' };
const evidence: OnCallEvidence = { checkedAt: '2026-12-02T10:00:00.000Z', email: 'alice@example.com', scheduleIds: ['P1'], user: null, entries: [] };

describe(requestRefusal.name, () => {
  it('lets a request within every rule through', () => {
    expect(requestRefusal(cluster, fine)).toBeNull();
    expect(requestRefusal(cluster, { ...fine, role: 'operators' })).toBeNull();
    expect(requestRefusal(database, { ...fine, role: 'ledger_read', reason: 'a reason long enough' })).toBeNull();
  });

  it('refuses a role the target does not offer, naming what it offers', () => {
    expect(requestRefusal(cluster, { ...fine, role: 'ledger_read' })).toEqual({
      code: 'role_forbidden',
      message: 'Role "ledger_read" is not offered by prod-cluster',
      details: { offered: ['viewers', 'operators'] },
    });
    expect(requestRefusal(database, { ...fine, role: 'operators' })).toMatchObject({ code: 'role_forbidden', details: { offered: ['ledger_read'] } });
  });

  it('refuses more than maxDuration, but not exactly it', () => {
    expect(requestRefusal(cluster, { ...fine, durationSeconds: 3601 })).toMatchObject({ code: 'duration_exceeds_max', details: { maxDurationSeconds: 3600 } });
    expect(requestRefusal(cluster, { ...fine, durationSeconds: 3600 })).toBeNull();
  });

  it('counts the reason without surrounding whitespace', () => {
    expect(requestRefusal(cluster, { ...fine, reason: '   short   ' })).toMatchObject({ code: 'reason_too_short', details: { minLength: 12 } });
    expect(requestRefusal(cluster, { ...fine, reason: ' twelve chars ' })).toBeNull();
  });

  it('checks the incident against the target pattern', () => {
    expect(requestRefusal(cluster, { ...fine, incident: 'inc-4821' })).toEqual({
      code: 'incident_invalid',
      message: 'Incident "inc-4821" does not match ^INC-[0-9]+$',
      details: { pattern: '^INC-[0-9]+$' },
    });
  });

  it('reports the first rule broken: role before duration before reason before incident', () => {
    const everythingWrong = { role: 'root', durationSeconds: 99999, reason: 'x', incident: 'nope' };
    expect(requestRefusal(cluster, everythingWrong)?.code).toBe('role_forbidden');
    expect(requestRefusal(cluster, { ...everythingWrong, role: undefined })?.code).toBe('duration_exceeds_max');
    expect(requestRefusal(cluster, { ...everythingWrong, role: undefined, durationSeconds: 60 })?.code).toBe('reason_too_short');
  });
});

describe(reasonRefusal.name, () => {
  it('applies the target minimum to an extension reason too', () => {
    expect(reasonRefusal(cluster, 'more time')).toMatchObject({ code: 'reason_too_short' });
    expect(reasonRefusal(cluster, 'still migrating the ledger')).toBeNull();
  });
});

describe(extensionRefusal.name, () => {
  const activatedAt = new Date('2026-12-02T10:00:00Z');
  it('allows an extension up to maxTotalDuration from activation, not a second past it', () => {
    expect(extensionRefusal(cluster, activatedAt, new Date('2026-12-02T12:00:00Z'))).toBeNull();
    expect(extensionRefusal(cluster, activatedAt, new Date('2026-12-02T12:00:01Z'))).toEqual({
      code: 'duration_exceeds_max',
      message: 'The grant would last 7201s in total, over the 7200s maximum of prod-cluster',
      details: { maxTotalDurationSeconds: 7200 },
    });
  });
});

describe(onCallDecision.name, () => {
  const now = new Date('2026-12-02T10:00:00Z');
  const allow = { name: 'prod-cluster', onCall: { whenUnavailable: 'allow-and-flag' as const } };
  const deny = { name: 'prod-cluster', onCall: { whenUnavailable: 'deny' as const } };

  it('grants with the evidence when on call', () => {
    expect(onCallDecision(allow, { outcome: 'on_call', evidence }, now)).toEqual({ onCall: { status: 'on_call', ...evidence }, flags: [] });
  });

  it('refuses when not on call, with the evidence, whatever whenUnavailable says', () => {
    for (const target of [allow, deny]) {
      expect(onCallDecision(target, { outcome: 'not_on_call', evidence, why: 'alice is not on call' }, now)).toEqual({
        refusal: { code: 'not_on_call', message: 'alice is not on call', details: { onCall: evidence } },
      });
    }
  });

  it('when PagerDuty cannot answer: granted and flagged, or refused with whenUnavailable: deny', () => {
    expect(onCallDecision(allow, { outcome: 'unavailable', error: 'HTTP 503' }, now)).toEqual({
      onCall: { status: 'unavailable', checkedAt: now.toISOString(), error: 'HTTP 503' },
      flags: ['on_call_unverified'],
    });
    expect(onCallDecision(deny, { outcome: 'unavailable', error: 'HTTP 503' }, now)).toEqual({
      refusal: {
        code: 'not_on_call',
        message: 'On-call status could not be verified (HTTP 503) and prod-cluster requires it',
        details: { pagerduty: 'unavailable' },
      },
    });
  });
});
