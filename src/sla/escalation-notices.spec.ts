import { closingAudience, dedupKeyOf, stepNoticeKind } from './escalation-notices';

describe(stepNoticeKind.name, () => {
  it('reminds before the due time and escalates from it on, per clock kind', () => {
    expect([-3600, -1, 0, 14400].map((after) => stepNoticeKind('retro_pr', after))).toEqual(['sla_reminder', 'sla_reminder', 'sla_breached', 'sla_breached']);
    expect([-3600, 0, 86400].map((after) => stepNoticeKind('review', after))).toEqual(['review_reminder', 'review_overdue', 'review_overdue']);
  });
});

describe(dedupKeyOf.name, () => {
  it('keys one incident per grant and clock kind', () => {
    expect(dedupKeyOf('BG-2026-000042', 'retro_pr')).toBe('breakglass/BG-2026-000042/retro_pr');
    expect(dedupKeyOf('BG-2026-000042', 'review')).not.toBe(dedupKeyOf('BG-2026-000042', 'retro_pr'));
  });
});

describe(closingAudience.name, () => {
  it('tells those told, else compliance', () => {
    expect(closingAudience(['ops', 'requester'], ['compliance-mail'])).toEqual(['ops', 'requester']);
    expect(closingAudience([], ['compliance-mail'])).toEqual(['compliance-mail']);
  });
});
