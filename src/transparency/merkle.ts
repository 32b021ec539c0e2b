import { createHash } from 'node:crypto';

// The Merkle tree of RFC 9162 (section 2.1) over the audit events: leaf n-1 = SHA-256(0x00 ||
// canon(e_n)), interior = SHA-256(0x01 || left || right). docs/transparency.md.
//
// Storage: only *perfect* subtrees are stored, node (level, index) covering the leaves
// [index·2^level, (index+1)·2^level). Every range an RFC 9162 proof or root needs starts at a multiple
// of a power of two, so its hash folds at most log2(n) perfect nodes (the binary digits of its
// length): proofs plan the ranges they need, fetch the nodes in one read, then hash.

export type Hash = Buffer;

export interface NodeRef {
  level: number;
  index: number;
}

/** A leaf range [start, end) of the tree. */
export interface LeafRange {
  start: number;
  end: number;
}

export function leafHash(canonical: Buffer | string): Hash {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(canonical)
    .digest();
}

export function interiorHash(left: Hash, right: Hash): Hash {
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

/** SHA-256 of nothing: the root of the empty tree (RFC 9162 2.1.1). */
export const EMPTY_ROOT = createHash('sha256').digest();

/** The largest power of two smaller than n (n > 1), RFC 9162's k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The perfect nodes that make up [start, end), left to right (start must be aligned to the first one). */
export function perfectNodesOf({ start, end }: LeafRange): NodeRef[] {
  const nodes: NodeRef[] = [];
  let at = start;
  while (at < end) {
    let level = 0;
    // The biggest aligned block from `at` that fits.
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= end) level++;
    nodes.push({ level, index: at / 2 ** level });
    at += 2 ** level;
  }
  return nodes;
}

export const nodeKey = (node: NodeRef): string => `${node.level}:${node.index}`;

/** MTH of a range from its perfect nodes: H(P1, H(P2, … Pj)), RFC 9162's split at the largest power of two. */
export function rangeHash(range: LeafRange, nodes: ReadonlyMap<string, Hash>): Hash {
  if (range.end <= range.start) return EMPTY_ROOT;
  const hashes = perfectNodesOf(range).map((node) => {
    const found = nodes.get(nodeKey(node));
    if (!found) throw new Error(`tree node ${nodeKey(node)} is missing`);
    return found;
  });
  return hashes.reduceRight((right, left) => interiorHash(left, right));
}

/** The ranges whose hashes make the inclusion proof of leaf m in a tree of n leaves (RFC 9162 2.1.3.1 PATH). */
export function inclusionRanges(m: number, n: number): LeafRange[] {
  let start = 0;
  let end = n;
  // PATH(m, D[start:end]) = PATH(…, one half) + [MTH(other half)]: siblings found outermost first.
  const path: LeafRange[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m - start < k) {
      path.push({ start: start + k, end });
      end = start + k;
    } else {
      path.push({ start, end: start + k });
      start += k;
    }
  }
  return path.reverse();
}

/** The ranges of the consistency proof from size m to size n, 0 < m <= n (RFC 9162 2.1.4.1 SUBPROOF). */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = n;
  let mInside = m;
  let wholeTree = true;
  while (mInside !== end - start) {
    const k = splitPoint(end - start);
    if (mInside <= k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      mInside -= k;
      wholeTree = false;
    }
  }
  if (!wholeTree) ranges.push({ start, end });
  return ranges.reverse();
}

/** Every perfect node the ranges need, once. */
export function nodesFor(ranges: LeafRange[]): NodeRef[] {
  const wanted = new Map<string, NodeRef>();
  for (const range of ranges) for (const node of perfectNodesOf(range)) wanted.set(nodeKey(node), node);
  return [...wanted.values()];
}

/**
 * Checks an inclusion proof (RFC 9162 2.1.3.2): `leaf` is leaf `index` of the tree of `size` leaves
 * with root `root`.
 */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: Hash[], root: Hash): boolean {
  if (index >= size || index < 0) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = interiorHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = interiorHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/**
 * Checks a consistency proof (RFC 9162 2.1.4.2): the tree of `size2` with root `root2` extends the
 * tree of `size1` with root `root1` (same first size1 leaves).
 */
export function verifyConsistency(size1: number, size2: number, root1: Hash, root2: Hash, proof: Hash[]): boolean {
  if (size1 > size2 || size1 < 0) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0;
  if (!proof.length) return false;
  const path = [...proof];
  // When size1 is a power of two its root is the first node of the path.
  if ((size1 & (size1 - 1)) === 0) path.unshift(root1);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = interiorHash(c, fr);
      sr = interiorHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = interiorHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}

/**
 * Appends leaves to a tree of `size` leaves. `pending` holds, per level, the left node still waiting
 * for its right sibling (the perfect nodes of the size's binary digits); it is updated in place.
 * Returns every perfect node completed, to store.
 */
export function appendLeaves(size: number, pending: Map<number, Hash>, leaves: Hash[]): { level: number; index: number; hash: Hash }[] {
  const made: { level: number; index: number; hash: Hash }[] = [];
  leaves.forEach((leaf, offset) => {
    let level = 0;
    let index = size + offset;
    let hash = leaf;
    for (;;) {
      made.push({ level, index, hash });
      if (index % 2 === 0) {
        pending.set(level, hash);
        break;
      }
      hash = interiorHash(pending.get(level)!, hash);
      pending.delete(level);
      level++;
      index = (index - 1) / 2;
    }
  });
  return made;
}

/** The nodes `appendLeaves` needs pending at `size`: for each level whose bit is set, its last perfect node. */
export function pendingNodesAt(size: number): NodeRef[] {
  const nodes: NodeRef[] = [];
  for (let level = 0; 2 ** level <= size; level++) {
    const count = Math.floor(size / 2 ** level);
    if (count % 2 === 1) nodes.push({ level, index: count - 1 });
  }
  return nodes;
}

/**
 * The root of a tree from its pending nodes alone (what `appendLeaves` keeps): the perfect subtrees
 * of the size's binary digits, folded from the highest level down. Lets a verifier stream millions
 * of leaves in O(log n) memory.
 */
export function rootOfPending(pending: ReadonlyMap<number, Hash>): Hash {
  const levels = [...pending.keys()].sort((a, b) => b - a);
  if (!levels.length) return EMPTY_ROOT;
  return levels.map((level) => pending.get(level)!).reduceRight((right, left) => interiorHash(left, right));
}
