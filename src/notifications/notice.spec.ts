import { componentOf } from './channels/pagerduty.channel';
import { renderAudienceNotice, renderNotice } from './notice';

describe('PagerDuty component', () => {
  const grant = {
    id: 'BG-2026-000001',
    target: 'payments-db',
    environment: 'production',
    requester: 'oncall-1',
    requesterEmail: null,
    incident: 'INC-1',
    reason: 'r',
    activatedAt: new Date(),
    expiresAt: new Date(),
  };

  it('names the target of a grant notice, the object of drift, the cluster of Kubernetes use, never nothing', () => {
    expect(componentOf(renderNotice('glass_broken', { grant, publicUrl: 'http://bg' }))).toBe('payments-db');
    const drift = renderAudienceNotice('drift_unattributed', {
      headline: 'drift',
      facts: { source: 'flux', object: 'Kustomization/flux-system/apps', cluster: null },
      publicUrl: 'http://bg',
      links: [],
    });
    expect(componentOf(drift)).toBe('Kustomization/flux-system/apps');
    const k8s = renderAudienceNotice('k8s_unattributed', {
      headline: 'use',
      facts: { cluster: 'prod', username: 'breakglass:x' },
      publicUrl: 'http://bg',
      links: [],
    });
    expect(componentOf(k8s)).toBe('prod');
    expect(componentOf(renderAudienceNotice('drift_unattributed', { headline: 'x', facts: {}, publicUrl: 'http://bg', links: [] }))).toBe('breakglass');
  });

  it('stamps the notice with the time it was written', () => {
    const before = Date.now();
    const at = Date.parse(renderNotice('glass_broken', { grant, publicUrl: 'http://bg' }).at!);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});

describe('notice text', () => {
  const grant = {
    id: 'BG-2026-000002',
    target: 'paiements-bdd',
    environment: 'production',
    requester: 'Zoë Ünal 🚒',
    requesterEmail: null,
    incident: 'INC-1',
    reason: 'Réparer le grand livre',
    activatedAt: new Date(),
    expiresAt: new Date(),
  };

  it('keeps subjects ASCII and the body exact, with aligned, readable facts', () => {
    const notice = renderNotice('grant_extended', {
      grant,
      publicUrl: 'http://bg',
      facts: { durationSeconds: 600, flags: null },
      headline: `extended for ${grant.requester}`,
    });
    expect(notice.subject).toBe('[breakglass] BG-2026-000002 extended for Zoe Unal ?');
    expect(notice.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(notice.text).toContain('Who:      Zoë Ünal 🚒');
    // Facts for people: a duration in 10m form, labels in words; the dashboard page, never an API URL.
    expect(notice.text).toContain('Duration: 10m\n');
    expect(notice.text).toContain('Flags:    none');
    expect(notice.text).toContain(`Grant:    http://bg/ui/#/grants/${notice.details.grant}`);
    expect(notice.text).not.toContain('/v1/');
    expect(notice.links).toEqual([
      { href: `http://bg/ui/#/grants/${notice.details.grant}`, text: `Grant ${notice.details.grant} in the breakglass dashboard` },
    ]);
    expect(notice.details).toMatchObject({ durationSeconds: 600 }); // machines keep the raw facts
  });
});

describe('drill notices', () => {
  const grant = {
    id: 'BG-2026-000007',
    target: 'payments-db',
    environment: 'production',
    requester: 'system:drill',
    requesterEmail: null,
    incident: 'DRILL-3',
    reason: 'Break-glass drill weekly',
    activatedAt: new Date('2026-12-07T09:00:00Z'),
    expiresAt: new Date('2026-12-07T09:02:00Z'),
  };

  it('say [DRILL] in the subject, the PagerDuty summary, the body and the details; real ones do not', () => {
    const drill = renderNotice('glass_broken', { grant: { ...grant, drill: 'weekly' }, publicUrl: 'http://bg' });
    expect(drill.subject).toBe('[breakglass] [DRILL] BG-2026-000007 glass broken on payments-db by system:drill');
    expect(drill.summary).toBe(drill.subject);
    expect(drill.text.split('\n').slice(0, 2)).toEqual([
      '[DRILL] BG-2026-000007: glass broken on payments-db by system:drill.',
      'This is break-glass drill weekly, a scheduled test of the emergency path: no action is needed.',
    ]);
    expect(drill.details.drill).toBe('weekly');
    const real = renderNotice('glass_broken', { grant: { ...grant, drill: null }, publicUrl: 'http://bg' });
    expect(`${real.subject} ${real.summary} ${real.text}`).not.toContain('DRILL]');
    expect(real.details).not.toHaveProperty('drill');
  });
});
