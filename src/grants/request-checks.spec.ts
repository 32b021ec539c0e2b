import { parsePolicy } from '../config/policy.loader';
import type { OnCallEvidence } from '../pagerduty/on-call';
import { closestNames, effectiveRequest, extensionRefusal, onCallDecision, reasonRefusal, requestRefusal } from './request-checks';

const [cluster, database] = parsePolicy(
  `
targets:
  - name: prod-cluster
    environment: production
    credential: { type: jwt, audience: kubernetes, groups: [viewers, operators] }
    maxDuration: 1h
    maxTotalDuration: 2h
    reason: { minLength: 12 }
    incident: { pattern: '^INC-[0-9]+$', example: INC-1234 }
  - name: ledger
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [ledger_read] }
    maxDuration: 2h
    defaultDuration: 45m
    incident: { pattern: '^CHG[0-9]+$' }
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
    expect(requestRefusal(database, { ...fine, role: 'ledger_read', reason: 'a reason long enough', incident: 'CHG7' })).toBeNull();
  });

  it('refuses a role the target does not offer, naming what it offers', () => {
    expect(requestRefusal(cluster, { ...fine, role: 'ledger_read' })).toEqual({
      code: 'role_forbidden',
      message: 'Role "ledger_read" is not offered by prod-cluster; choose one of: viewers, operators',
      details: { offered: ['viewers', 'operators'] },
    });
    expect(requestRefusal(database, { ...fine, role: 'operators' })).toMatchObject({ code: 'role_forbidden', details: { offered: ['ledger_read'] } });
  });

  it('says durations as people write them', () => {
    expect(requestRefusal(database, { ...fine, durationSeconds: 18000 })?.message).toBe('5h exceeds the 2h maximum of ledger');
    expect(requestRefusal(cluster, { ...fine, durationSeconds: 5400 })?.message).toBe('1h30m exceeds the 1h maximum of prod-cluster');
  });

  it('refuses more than maxDuration, but not exactly it', () => {
    expect(requestRefusal(cluster, { ...fine, durationSeconds: 3601 })).toMatchObject({ code: 'duration_exceeds_max', details: { maxDurationSeconds: 3600 } });
    expect(requestRefusal(cluster, { ...fine, durationSeconds: 3600 })).toBeNull();
  });

  it('counts the reason without surrounding whitespace', () => {
    expect(requestRefusal(cluster, { ...fine, reason: '   short   ' })).toMatchObject({ code: 'reason_too_short', details: { minLength: 12 } });
    expect(requestRefusal(cluster, { ...fine, reason: ' twelve chars ' })).toBeNull();
  });

  it('checks the incident against the target pattern, showing an example rather than the expression', () => {
    expect(requestRefusal(cluster, { ...fine, incident: 'INC4821' })).toEqual({
      code: 'incident_invalid',
      message: 'Incident "INC4821" is not an incident id like INC-1234 (what prod-cluster requires)',
      details: { pattern: '^INC-[0-9]+$', example: 'INC-1234' },
    });
    // A pattern of its own without an example: only then is the expression shown.
    expect(requestRefusal(database, { ...fine, reason: 'a reason long enough' })?.message).toBe(
      'Incident "INC-4821" is not an incident id matching ^CHG[0-9]+$ (what ledger requires)',
    );
  });
});

describe(effectiveRequest.name, () => {
  it("gives a request without a duration the target's defaultDuration (built in: 30m, or maxDuration when shorter)", () => {
    expect(effectiveRequest(database, { incident: 'CHG1' }).durationSeconds).toBe(2700);
    expect(effectiveRequest(cluster, { incident: 'INC-1' }).durationSeconds).toBe(1800);
    expect(effectiveRequest(cluster, { incident: 'INC-1', durationSeconds: 60 }).durationSeconds).toBe(60);
  });

  it('reads an incident id typed in the wrong case in the case the pattern expects', () => {
    expect(effectiveRequest(cluster, { incident: 'inc-4821' }).incident).toBe('INC-4821');
    expect(effectiveRequest(cluster, { incident: ' INC-9 ' }).incident).toBe('INC-9');
    expect(effectiveRequest(cluster, { incident: 'nope' }).incident).toBe('nope');
  });
});

describe(closestNames.name, () => {
  const names = ['payments-db', 'prod-cluster', 'prod-legacy'];
  it('suggests the closest target for a typo, a transposition or a wrong case', () => {
    expect(closestNames('payments-bd', names)).toEqual(['payments-db']);
    expect(closestNames('paymetns-db', names)).toEqual(['payments-db']);
    expect(closestNames('Prod-Cluster', names)).toEqual(['prod-cluster']);
  });
  it('suggests nothing for a name that is not close to any', () => {
    expect(closestNames('staging', names)).toEqual([]);
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
      message: 'The grant would last 2h1s in total, over the 2h maximum of prod-cluster',
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
