import type { Hash, NodeRef } from './merkle';

// The Merkle tree's stored nodes held in memory (docs/transparency.md, "Proofs from memory"), so an
// inclusion or consistency proof is hashing only, with no database round trip. Nodes never change
// once made, so each level is a prefix of its nodes: what is held is always right, what is not yet
// held is read from audit_tree_nodes as before.
//
// Memory: a tree of n leaves has ~2n nodes of 32 bytes (64 MB at a million events). Beyond the
// budget the lowest levels, half the nodes each, are left to the database first.

const HASH_BYTES = 32;
/** Nodes per chunk (128 KiB): levels grow in small steps, and the few nodes of a high level waste little. */
const CHUNK_NODES = 4096;

/** A run of consecutive nodes of one level the cache still lacks, [from, to). */
export interface MissingRun {
  level: number;
  from: number;
  to: number;
}

interface Level {
  chunks: Buffer[];
  /** Nodes 0 … count-1 of the level are held. */
  count: number;
}

export class TreeNodeCache {
  private readonly levels = new Map<number, Level>();
  /** Levels below this one are not held (the budget). */
  private lowestLevel = 0;

  constructor(private readonly budgetBytes: number) {
    if (budgetBytes <= 0) this.lowestLevel = Infinity;
  }

  /** The node's hash if held (a view into the cache: copy it to keep it past the cache). */
  get({ level, index }: NodeRef): Hash | undefined {
    const held = this.levels.get(level);
    if (!held || index >= held.count) return undefined;
    const offset = (index % CHUNK_NODES) * HASH_BYTES;
    return held.chunks[Math.floor(index / CHUNK_NODES)].subarray(offset, offset + HASH_BYTES);
  }

  /** Holds node (level, index) if it is the next of its level; any other is ignored (already held, or after a gap). */
  add(level: number, index: number, hash: Hash): void {
    if (level < this.lowestLevel) return;
    let held = this.levels.get(level);
    if (!held) this.levels.set(level, (held = { chunks: [], count: 0 }));
    if (index !== held.count) return;
    const chunk = Math.floor(index / CHUNK_NODES);
    if (chunk === held.chunks.length) held.chunks.push(Buffer.allocUnsafeSlow(CHUNK_NODES * HASH_BYTES));
    hash.copy(held.chunks[chunk], (index % CHUNK_NODES) * HASH_BYTES, 0, HASH_BYTES);
    held.count++;
  }

  /** Holds `hashes` (32 bytes each, concatenated) as the level's nodes from `from` on. */
  addRun(level: number, from: number, hashes: Buffer): void {
    for (let i = 0; i * HASH_BYTES < hashes.length; i++) this.add(level, from + i, hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  }

  /**
   * Fits the cache to a tree of `size` leaves: drops the lowest levels while the whole tree would
   * exceed the budget, and answers the nodes still missing, lowest level first, at most `limit`.
   */
  missing(size: number, limit: number): MissingRun[] {
    while (this.lowestLevel !== Infinity && this.bytesFor(size, this.lowestLevel) > this.budgetBytes) {
      this.levels.delete(this.lowestLevel++);
    }
    const runs: MissingRun[] = [];
    let left = limit;
    for (let level = this.lowestLevel; 2 ** level <= size && left > 0; level++) {
      const have = this.levels.get(level)?.count ?? 0;
      const to = Math.min(Math.floor(size / 2 ** level), have + left);
      if (to > have) runs.push({ level, from: have, to });
      left -= to - have;
    }
    return runs;
  }

  /** How many nodes are held. */
  size(): number {
    let nodes = 0;
    for (const held of this.levels.values()) nodes += held.count;
    return nodes;
  }

  /** Bytes the levels from `lowest` up take for a tree of `size` leaves. */
  private bytesFor(size: number, lowest: number): number {
    let chunks = 0;
    for (let level = lowest; 2 ** level <= size; level++) chunks += Math.ceil(Math.floor(size / 2 ** level) / CHUNK_NODES);
    return chunks * CHUNK_NODES * HASH_BYTES;
  }
}
