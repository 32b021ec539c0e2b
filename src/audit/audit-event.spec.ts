import { auditEventHash, hashedFieldsOf, type AuditEventFields } from './audit-event';
import { canonicalJson, chainHash, GENESIS_HASH } from './chain';

describe(auditEventHash.name, () => {
  it('equals the generic RFC 8785 formula for every kind of field value', () => {
    const samples: AuditEventFields[] = [
      { seq: 1, at: '2026-11-24T15:00:00.000Z', actor: 'system:broker', action: 'policy.loaded', grant: null, target: null, data: {}, controls: [] },
      {
        seq: 2,
        at: '2026-11-24T15:00:00.001Z',
        actor: 'oncall-1 "ü"',
        action: 'grant.requested',
        grant: 'BG-2026-000001',
        target: 'db',
        data: { z: [1, { b: null, a: 'é\n' }], a: true, n: -5 },
        controls: ['PCI-DSS-4.0:6.5.1', 'SOC2:CC8.1'],
      },
      {
        seq: 3,
        at: '2026-11-24T15:00:00.002Z',
        actor: '😀',
        action: 'grant.denied',
        grant: null,
        target: 'x',
        data: { '\u2028': '\u0001' },
        controls: ['NIST-800-53:AC-6(9)'],
      },
    ];
    let prev = GENESIS_HASH;
    for (const sample of samples) {
      const expected = chainHash(prev, hashedFieldsOf(sample));
      expect(auditEventHash(prev, sample)).toBe(expected);
      expect(auditEventHash(prev, sample, canonicalJson(sample.data))).toBe(expected);
      prev = expected;
    }
  });
});
