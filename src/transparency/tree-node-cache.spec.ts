import { createHash } from 'node:crypto';
import { TreeNodeCache } from './tree-node-cache';

const hashOf = (level: number, index: number) => createHash('sha256').update(`${level}:${index}`).digest();
const nodesOf = (level: number, from: number, to: number) => Buffer.concat(Array.from({ length: to - from }, (_, i) => hashOf(level, from + i)));

describe('TreeNodeCache', () => {
  it('holds each level as a prefix: the next node is kept, one after a gap is not, a copy not a reference', () => {
    const cache = new TreeNodeCache(1 << 20);
    const first = hashOf(0, 0);
    cache.add(0, 0, first);
    first.fill(0);
    cache.add(0, 2, hashOf(0, 2));
    expect(cache.get({ level: 0, index: 0 })).toEqual(hashOf(0, 0));
    expect(cache.get({ level: 0, index: 2 })).toBeUndefined();
    cache.add(0, 1, hashOf(0, 1));
    cache.add(0, 2, hashOf(0, 2));
    expect(cache.get({ level: 0, index: 2 })).toEqual(hashOf(0, 2));
    expect(cache.get({ level: 1, index: 0 })).toBeUndefined();
    expect(cache.size()).toBe(3);
  });

  it('answers the runs a tree still needs, lowest level first, within the limit, across chunk boundaries', () => {
    const cache = new TreeNodeCache(1 << 30);
    // 10,000 leaves: 10,000 + 5,000 + 2,500 + … nodes; level 0 spans three 4,096-node chunks.
    expect(cache.missing(10_000, 12_000)).toEqual([
      { level: 0, from: 0, to: 10_000 },
      { level: 1, from: 0, to: 2_000 },
    ]);
    cache.addRun(0, 0, nodesOf(0, 0, 10_000));
    cache.addRun(1, 0, nodesOf(1, 0, 2_000));
    expect(cache.get({ level: 0, index: 4_096 })).toEqual(hashOf(0, 4_096));
    expect(cache.get({ level: 0, index: 9_999 })).toEqual(hashOf(0, 9_999));
    expect(cache.get({ level: 1, index: 1_999 })).toEqual(hashOf(1, 1_999));
    const rest = cache.missing(10_000, 1_000_000);
    expect(rest[0]).toEqual({ level: 1, from: 2_000, to: 5_000 });
    expect(rest.at(-1)).toEqual({ level: 13, from: 0, to: 1 });
    expect(rest.reduce((sum, run) => sum + run.to - run.from, 0)).toBe(2 * 10_000 - 5 - 10_000 - 2_000); // 2n - popcount(n) in all
  });

  it('leaves the lowest levels to the database when the whole tree would exceed the budget', () => {
    // 16,384 leaves in 128 KiB chunks: level 0 takes 4, level 1 two, levels 2 … 14 one each: 19 in all.
    const cache = new TreeNodeCache(16 * 4096 * 32);
    cache.addRun(0, 0, nodesOf(0, 0, 100));
    expect(cache.missing(100, 10)[0]).toEqual({ level: 1, from: 0, to: 10 });
    expect(cache.get({ level: 0, index: 99 })).toEqual(hashOf(0, 99));
    // Grown to 16,384 leaves: level 0 no longer fits (19 chunks > 16); without it, 15 do.
    expect(cache.missing(16_384, 10)).toEqual([{ level: 1, from: 0, to: 10 }]);
    expect(cache.get({ level: 0, index: 0 })).toBeUndefined();
    cache.add(0, 0, hashOf(0, 0));
    expect(cache.get({ level: 0, index: 0 })).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it('holds nothing with a budget of 0', () => {
    const cache = new TreeNodeCache(0);
    cache.add(0, 0, hashOf(0, 0));
    expect(cache.get({ level: 0, index: 0 })).toBeUndefined();
    expect(cache.missing(1_000, 1_000)).toEqual([]);
  });
});
