import { chainHash, GENESIS_HASH } from '../audit/chain';
import { sessionEventHash, sessionHashedFields, type SessionEventFields } from './session-event';

describe(sessionEventHash.name, () => {
  const tricky = ['', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline\r', '\u0001\u001f control', 'é ü 漢字 😀', '\u2028\u2029', '</script>', '{"json":true}'];

  it('equals the RFC 8785 hash of the record for every kind of value', () => {
    let prev = GENESIS_HASH;
    for (const [i, value] of tricky.entries()) {
      const event: SessionEventFields = {
        grant: 'BG-2026-000001',
        seq: i + 1,
        type: i % 2 ? 'command' : 'note',
        command: value,
        cwd: i % 3 ? value : null,
        user: i % 4 ? 'oncall-1' : null,
        host: value.slice(0, 3) || null,
        startedAt: '2026-11-24T15:00:00.000Z',
        finishedAt: i % 2 ? null : '2026-11-24T15:00:01.500Z',
        exitCode: i % 3 ? -i : null,
        receivedAt: '2026-11-24T15:00:02.000Z',
      };
      const expected = chainHash(prev, sessionHashedFields(event));
      expect(sessionEventHash(prev, event)).toBe(expected);
      prev = expected;
    }
  });
});
