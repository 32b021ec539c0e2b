import { chainHash, GENESIS_HASH } from '../audit/chain';
import { sessionEventHash, sessionHashedFields, type SessionEventFields } from './session-event';

describe(sessionEventHash.name, () => {
  const tricky = [
    '',
    'plain',
    'quote " and \\ backslash',
    'tab\tnew\nline\r',
    '\u0001\u001f control',
    'é ü 漢字 😀',
    '\u2028\u2029',
    '</script>',
    '{"json":true}',
  ];

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

  it('hashes a format-2 record with its detail (an object or null) exactly as the generic canonical form', () => {
    const base: SessionEventFields = {
      grant: 'BG-2026-000001',
      seq: 1,
      type: 'sql.result',
      command: null,
      cwd: 'payments',
      user: 'oncall-1',
      host: '127.0.0.1:5000',
      startedAt: '2026-11-24T15:00:00.000Z',
      finishedAt: '2026-11-24T15:00:00.004Z',
      exitCode: 1,
      receivedAt: '2026-11-24T15:00:00.005Z',
    };
    for (const detail of [
      null,
      { statementSeq: 7, tag: null, sqlstate: '22012', message: 'division by zero', rows: null, durationMs: 3, nested: { z: [1, 'é'], a: true } },
    ]) {
      const event = { ...base, detail };
      const expected = chainHash(GENESIS_HASH, sessionHashedFields(event));
      expect(sessionEventHash(GENESIS_HASH, event)).toBe(expected);
      // The key is part of the hashed object: a format-1 reading of the same record differs.
      expect(sessionEventHash(GENESIS_HASH, base)).not.toBe(expected);
    }
  });
});
