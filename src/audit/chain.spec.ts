import { createHash } from 'node:crypto';
import { ChainVerifier, chainHash, GENESIS_HASH, type ChainedRecord } from './chain';

describe('hash chain formula', () => {
  it('hashes prevHash, a newline and the RFC 8785 form of the record', () => {
    const record = {
      seq: 1,
      at: '2026-01-02T03:04:05.006Z',
      actor: 'oncall-1',
      action: 'grant.requested',
      grant: null,
      target: 'db',
      data: { z: 1, a: ['é', true] },
      controls: ['SOC2:CC8.1'],
    };
    // Written out by hand: keys sorted, no whitespace, non-ASCII left as is.
    const canonical =
      '{"action":"grant.requested","actor":"oncall-1","at":"2026-01-02T03:04:05.006Z","controls":["SOC2:CC8.1"],"data":{"a":["é",true],"z":1},"grant":null,"seq":1,"target":"db"}';
    const expected = createHash('sha256').update(`${GENESIS_HASH}\n${canonical}`, 'utf8').digest('hex');
    expect(chainHash(GENESIS_HASH, record)).toBe(expected);
  });
});

describe(ChainVerifier.name, () => {
  type Row = ChainedRecord & { body: string };
  const build = (bodies: string[], seqs = bodies.map((_, i) => i + 1)): Row[] => {
    let prevHash = GENESIS_HASH;
    return bodies.map((body, i) => {
      const hash = chainHash(prevHash, { seq: seqs[i], body });
      const row = { seq: seqs[i], body, prevHash, hash };
      prevHash = hash;
      return row;
    });
  };
  const verify = (rows: Row[], contiguous = true, head?: { seq: number; hash: string }) => {
    const sut = new ChainVerifier<Row>((row) => ({ seq: row.seq, body: row.body }), contiguous);
    rows.forEach((row) => sut.add(row));
    return sut.verdict(head);
  };

  it('accepts an intact chain and reports its head', () => {
    const rows = build(['a', 'b', 'c']);
    expect(verify(rows)).toEqual({ valid: true, count: 3, headHash: rows[2].hash });
  });

  it('accepts an empty chain with the genesis head', () => {
    expect(verify([])).toEqual({ valid: true, count: 0, headHash: GENESIS_HASH });
  });

  it('pinpoints an altered field', () => {
    const rows = build(['a', 'b', 'c']);
    rows[1] = { ...rows[1], body: 'B' };
    expect(verify(rows)).toMatchObject({ valid: false, firstInvalidSeq: 2 });
  });

  it('pinpoints a record whose stored hash was rewritten to match its altered body', () => {
    const rows = build(['a', 'b', 'c']);
    rows[1] = { ...rows[1], body: 'B', hash: chainHash(rows[1].prevHash, { seq: 2, body: 'B' }) };
    // The forger fixed record 2, so record 3's prevHash no longer matches.
    expect(verify(rows)).toMatchObject({ valid: false, firstInvalidSeq: 3 });
  });

  it('treats a seq gap as invalid only for contiguous chains', () => {
    const rows = build(['a', 'b', 'c'], [1, 2, 5]);
    expect(verify(rows, true)).toMatchObject({ valid: false, firstInvalidSeq: 3 });
    expect(verify(rows, false)).toMatchObject({ valid: true, count: 3 });
  });

  it('detects a truncated tail against the expected head', () => {
    const rows = build(['a', 'b', 'c']);
    expect(verify(rows.slice(0, 2), true, { seq: 3, hash: rows[2].hash })).toMatchObject({ valid: false, firstInvalidSeq: 3 });
  });

  describe('anchors recorded outside the chain', () => {
    const anchored = (rows: Row[], anchors: { seq: number; hash: string }[], contiguous = false, head?: { seq: number; hash: string }) => {
      const sut = new ChainVerifier<Row>((row) => ({ seq: row.seq, body: row.body }), contiguous).throughAnchors(anchors);
      rows.forEach((row) => sut.add(row));
      return sut.verdict(head);
    };

    it('accepts a chain that passes through every anchor', () => {
      const rows = build(['a', 'b', 'c', 'd']);
      expect(
        anchored(rows, [
          { seq: 2, hash: rows[1].hash },
          { seq: 4, hash: rows[3].hash },
        ]),
      ).toEqual({ valid: true, count: 4, headHash: rows[3].hash });
    });

    it('pinpoints a tail deleted together with a fixed head', () => {
      const rows = build(['a', 'b', 'c']);
      const shortened = rows.slice(0, 2);
      // The head row was fixed to match, so only the anchor tells.
      expect(anchored(shortened, [{ seq: 3, hash: rows[2].hash }], false, { seq: 2, hash: rows[1].hash })).toEqual({
        valid: false,
        count: 2,
        headHash: rows[1].hash,
        firstInvalidSeq: 3,
        brokenAnchor: { seq: 3, expectedHash: rows[2].hash, actualHash: null },
      });
    });

    it('catches an anchored record deleted from the middle of a chain with gaps', () => {
      const rows = build(['a', 'b', 'c', 'd'], [1, 2, 4, 6]);
      const withoutFour = build(['a', 'b', 'd'], [1, 2, 6]);
      expect(anchored(withoutFour, [{ seq: 4, hash: rows[2].hash }])).toMatchObject({
        valid: false,
        firstInvalidSeq: 3,
        brokenAnchor: { seq: 4, actualHash: null },
      });
    });

    it('bounds a consistent rewrite by the anchors around it', () => {
      const rows = build(['a', 'b', 'c', 'd', 'e']);
      const rewritten = build(['a', 'b', 'c', 'D', 'e']);
      const verdict = anchored(rewritten, [
        { seq: 2, hash: rows[1].hash },
        { seq: 5, hash: rows[4].hash },
      ]);
      expect(verdict).toEqual({
        valid: false,
        count: 5,
        headHash: rewritten[4].hash,
        firstInvalidSeq: 3,
        brokenAnchor: { seq: 5, expectedHash: rows[4].hash, actualHash: rewritten[4].hash },
      });
    });

    it('treats a genesis anchor (an empty sealed session) as met by an empty chain', () => {
      expect(anchored([], [{ seq: 0, hash: GENESIS_HASH }])).toEqual({ valid: true, count: 0, headHash: GENESIS_HASH });
    });
  });
});
