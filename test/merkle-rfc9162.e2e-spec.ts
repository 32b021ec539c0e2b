import {
  appendLeaves,
  consistencyRanges,
  inclusionRanges,
  leafHash,
  nodeKey,
  nodesFor,
  pendingNodesAt,
  rangeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../src/transparency/merkle';
import { mth, path, rfcLeaf, subproof } from './support/rfc9162';

// The project's Merkle tree against RFC 9162 (and the Certificate Transparency reference vectors),
// with the RFC's recursive definitions written independently of src/transparency/merkle.ts (support/rfc9162.ts).

const hex = (hashes: Hash[]) => hashes.map((h) => h.toString('hex'));

// certificate-transparency-go's reference leaves and tree heads (merkle/testonly).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** The tree as the broker stores it: every perfect node, built leaf by leaf with appendLeaves. */
function storedTree(leaves: Hash[], batch = 3) {
  const nodes = new Map<string, Hash>();
  const pending = new Map<number, Hash>();
  for (let size = 0; size < leaves.length; size += batch) {
    // A batch starts from what storage holds: the pending nodes are read back, not kept.
    pending.clear();
    for (const node of pendingNodesAt(size)) pending.set(node.level, nodes.get(nodeKey(node))!);
    for (const made of appendLeaves(size, pending, leaves.slice(size, size + batch))) nodes.set(nodeKey(made), made.hash);
  }
  const proof = (ranges: ReturnType<typeof inclusionRanges>) => {
    expect(nodesFor(ranges).every((node) => nodes.has(nodeKey(node)))).toBe(true);
    return ranges.map((range) => rangeHash(range, nodes));
  };
  return {
    root: (size: number) => rangeHash({ start: 0, end: size }, nodes),
    inclusion: (m: number, size: number) => proof(inclusionRanges(m, size)),
    consistency: (from: number, to: number) => proof(consistencyRanges(from, to)),
  };
}

describe('Merkle tree (RFC 9162)', () => {
  const ctLeaves = CT_LEAVES.map(rfcLeaf);

  it('hashes leaves as RFC 9162 does', () => {
    for (const data of CT_LEAVES) expect(leafHash(data)).toEqual(rfcLeaf(data));
  });

  it('gives the Certificate Transparency reference roots for sizes 1 to 8', () => {
    const tree = storedTree(ctLeaves);
    expect(CT_ROOTS.map((_, i) => tree.root(i + 1).toString('hex'))).toEqual(CT_ROOTS);
    expect(CT_ROOTS.map((_, i) => mth(ctLeaves.slice(0, i + 1)).toString('hex'))).toEqual(CT_ROOTS);
  });

  it('gives the reference inclusion and consistency proofs', () => {
    const tree = storedTree(ctLeaves);
    expect(hex(tree.inclusion(0, 8))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(tree.inclusion(5, 8))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(tree.consistency(1, 8))).toEqual(hex(tree.inclusion(0, 8)));
    expect(hex(tree.consistency(6, 8))).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(tree.consistency(2, 5))).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  it('agrees with the RFC definitions for every leaf and size pair up to 40 leaves, built in batches of any size', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => rfcLeaf(Buffer.from(`event ${i}`)));
    for (const batch of [1, 7, 64]) {
      const tree = storedTree(leaves, batch);
      for (let n = 1; n <= leaves.length; n++) {
        const prefix = leaves.slice(0, n);
        const root = mth(prefix);
        expect(tree.root(n)).toEqual(root);
        for (let m = 0; m < n; m++) {
          const proof = tree.inclusion(m, n);
          expect(hex(proof)).toEqual(hex(path(m, prefix)));
          expect(verifyInclusion(m, n, leaves[m], proof, root)).toBe(true);
        }
        for (let m = 1; m <= n; m++) {
          const proof = tree.consistency(m, n);
          expect(hex(proof)).toEqual(hex(m === n ? [] : subproof(m, prefix, true)));
          expect(verifyConsistency(m, n, mth(leaves.slice(0, m)), root, proof)).toBe(true);
        }
      }
    }
  });

  it('rejects proofs that do not fit: another leaf, another root, a changed node, a wrong size', () => {
    const leaves = Array.from({ length: 13 }, (_, i) => rfcLeaf(Buffer.from([i])));
    const tree = storedTree(leaves);
    const root = tree.root(13);
    const proof = tree.inclusion(6, 13);
    expect(verifyInclusion(6, 13, leaves[7], proof, root)).toBe(false);
    expect(verifyInclusion(6, 13, leaves[6], proof, tree.root(12))).toBe(false);
    expect(verifyInclusion(6, 8, leaves[6], proof, root)).toBe(false);
    expect(verifyInclusion(13, 13, leaves[6], proof, root)).toBe(false);
    const altered = proof.map((h, i) => (i === 1 ? Buffer.from(h.map((byte, j) => (j === 0 ? byte ^ 1 : byte))) : h));
    expect(verifyInclusion(6, 13, leaves[6], altered, root)).toBe(false);

    const consistency = tree.consistency(5, 13);
    expect(verifyConsistency(5, 13, tree.root(5), root, consistency)).toBe(true);
    // A rewritten history: leaf 2 changed, every later hash recomputed.
    const rewritten = storedTree(leaves.map((leaf, i) => (i === 2 ? rfcLeaf(Buffer.from('forged')) : leaf)));
    expect(verifyConsistency(5, 13, tree.root(5), rewritten.root(13), rewritten.consistency(5, 13))).toBe(false);
    expect(verifyConsistency(5, 13, tree.root(5), root, consistency.slice(1))).toBe(false);
    expect(verifyConsistency(6, 13, tree.root(5), root, consistency)).toBe(false);
  });
});
