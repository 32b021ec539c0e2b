import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DueWorkLoop } from '../common/due-work-loop';
import { LoadedPolicy, ServiceConfig } from '../config/config.providers';
import { KeyStore } from '../credentials/key-store.service';
import { AnchorsRepository } from './anchors.repository';
import { CheckpointAnchors } from './checkpoint-anchors.service';
import {
  appendLeaves,
  consistencyRanges,
  inclusionRanges,
  nodeKey,
  nodesFor,
  pendingNodesAt,
  rangeHash,
  type Hash,
  type LeafRange,
  type NodeRef,
} from './merkle';
import { checkpointBody, signedNote, verifierKey } from './signed-note';
import { TransparencyError } from './transparency.errors';
import { TransparencyRepository, type CheckpointRow, type LogKeyRow } from './transparency.repository';
import type { CheckpointPage, CheckpointView, ConsistencyProof, InclusionProof } from './transparency.views';
import { TreeNodeCache } from './tree-node-cache';

/** Events hashed into the tree per transaction while catching up. */
const BATCH = 5000;
const CHECKPOINTS_CACHED = 1000;
/** A batch's wake-up waits this long for the next ones': the tree may lag a moment (P2.4), a pass per batch costs six statements. */
const COALESCE_WAKES_MS = 10;
/** Tree nodes read into memory per pass (4 MB): an instance starting on a large tree loads it in steps. */
const NODES_LOADED_PER_PASS = 131_072;

/**
 * The audit log as a transparency log (docs/transparency.md): a follower of the hash chain extends
 * the Merkle tree (one instance at a time), signs a checkpoint every `audit.checkpoint.interval` when
 * the tree grew, and answers inclusion and consistency proofs for checkpointed sizes.
 */
@Injectable()
export class TransparencyLog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('transparency');
  private readonly loop = new DueWorkLoop(
    'transparency',
    { processDue: () => this.processDue(), millisUntilNext: async () => this.nextPassInMs },
    1000,
    COALESCE_WAKES_MS,
  );
  /** What the last pass found: when a checkpoint falls due, 0 while nodes are still loading (null: look again at the loop's cap). */
  private nextPassInMs: number | null = null;
  private logKey?: LogKeyRow;
  private readonly checkpointCache = new Map<number, CheckpointRow>();
  private readonly nodeCache: TreeNodeCache;

  constructor(
    private readonly repository: TransparencyRepository,
    private readonly keys: KeyStore,
    private readonly config: ServiceConfig,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly anchorDeliveries: AnchorsRepository,
    private readonly anchors: CheckpointAnchors,
  ) {
    this.nodeCache = new TreeNodeCache(config.env.BREAKGLASS_TREE_CACHE_MB * 1024 * 1024);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.logKey = await this.ensureLogKey();
    this.loop.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  /** New audit events committed: extend the tree now rather than at the next look. */
  wake(): void {
    this.loop.wake();
  }

  /** Tree nodes this instance holds in memory for proofs (32 bytes each). */
  nodesInMemory(): number {
    return this.nodeCache.size();
  }

  /** The verifier key of checkpoints, in note `vkey` form. */
  async verifierKey(): Promise<string> {
    const key = this.logKey ?? (await this.ensureLogKey());
    return verifierKey(key.keyName, key.publicKey);
  }

  async latestCheckpoint(): Promise<CheckpointRow> {
    const checkpoint = await this.repository.latestCheckpoint();
    if (!checkpoint) throw new TransparencyError('no_checkpoint', 'No checkpoint has been made yet');
    return checkpoint;
  }

  async checkpoints(afterTreeSize: number, limit: number): Promise<CheckpointPage> {
    const rows = await this.repository.checkpoints(afterTreeSize, limit);
    return { checkpoints: rows.map(checkpointView), next: rows.length === limit ? rows[rows.length - 1].treeSize : null };
  }

  async inclusionProof(seq: number, treeSize: number): Promise<InclusionProof> {
    const checkpoint = await this.checkpointAt(treeSize, 'treeSize');
    if (seq > treeSize) throw new TransparencyError('seq_outside_tree', `Event ${seq} is not in the tree of ${treeSize} events`, { seq, treeSize });
    const proof = await this.hashesOf(inclusionRanges(seq - 1, treeSize));
    return { seq, leafIndex: seq - 1, treeSize, rootHash: checkpoint.rootHash.toString('hex'), proof };
  }

  async consistencyProof(from: number, to: number): Promise<ConsistencyProof> {
    if (from > to) throw new TransparencyError('invalid_tree_range', `from (${from}) must not be greater than to (${to})`, { from, to });
    await this.checkpointAt(from, 'from');
    await this.checkpointAt(to, 'to');
    return { from, to, proof: from === to ? [] : await this.hashesOf(consistencyRanges(from, to)) };
  }

  /**
   * For evidence: the latest checkpoint and the inclusion proof in it of each seq it covers (events
   * newer than the checkpoint get none), every node read in one query.
   */
  async proofsInLatestCheckpoint(seqs: number[]): Promise<{ checkpoint: CheckpointRow | null; proofs: Map<number, string[]> }> {
    const checkpoint = (await this.repository.latestCheckpoint()) ?? null;
    const covered = checkpoint ? seqs.filter((seq) => seq >= 1 && seq <= checkpoint.treeSize) : [];
    const plans = covered.map((seq) => ({ seq, ranges: inclusionRanges(seq - 1, checkpoint!.treeSize) }));
    const nodes = await this.nodes(nodesFor(plans.flatMap((plan) => plan.ranges)));
    return { checkpoint, proofs: new Map(plans.map(({ seq, ranges }) => [seq, ranges.map((range) => rangeHash(range, nodes).toString('hex'))])) };
  }

  /** The smallest checkpoint covering the first `treeSize` events (a period export's), if one was made. */
  async checkpointCovering(treeSize: number): Promise<CheckpointRow | null> {
    return (await this.repository.checkpointCovering(treeSize)) ?? null;
  }

  private async checkpointAt(treeSize: number, parameter: string): Promise<CheckpointRow> {
    const checkpoint = this.checkpointCache.get(treeSize) ?? (await this.repository.checkpoint(treeSize));
    // Checkpoints never change (append-only): a proof for a size asked before skips a round trip.
    if (checkpoint && !this.checkpointCache.has(treeSize)) {
      if (this.checkpointCache.size >= CHECKPOINTS_CACHED) this.checkpointCache.delete(this.checkpointCache.keys().next().value!);
      this.checkpointCache.set(treeSize, checkpoint);
    }
    if (!checkpoint) {
      throw new TransparencyError('no_checkpoint_at_size', `No checkpoint has tree size ${treeSize} (${parameter}); GET /v1/audit/checkpoints lists them`, {
        [parameter]: treeSize,
      });
    }
    return checkpoint;
  }

  private async hashesOf(ranges: LeafRange[]): Promise<string[]> {
    const nodes = await this.nodes(nodesFor(ranges));
    return ranges.map((range) => rangeHash(range, nodes).toString('hex'));
  }

  /** The nodes from memory; those not held (yet, or beyond the budget) read from the database in one query. */
  private async nodes(refs: NodeRef[]): Promise<Map<string, Hash>> {
    const found = new Map<string, Hash>();
    const notHeld: NodeRef[] = [];
    for (const ref of refs) {
      const hash = this.nodeCache.get(ref);
      if (hash) found.set(nodeKey(ref), hash);
      else notHeld.push(ref);
    }
    if (notHeld.length) for (const [key, hash] of await this.repository.nodes(notHeld)) found.set(key, hash);
    return found;
  }

  /**
   * Catches the tree up with the chain, signs a checkpoint when one is due, and brings the nodes in
   * memory up to the tree (built here or by another instance).
   */
  private async processDue(): Promise<void> {
    for (let added = BATCH; added === BATCH;) added = await this.extendTree();
    const [size, latest] = await Promise.all([this.repository.treeSize(), this.repository.latestCheckpoint()]);
    const dueInMs = this.millisUntilCheckpoint(size, latest);
    if (dueInMs === 0) await this.makeCheckpoint();
    const loading = await this.loadNodes(size);
    this.nextPassInMs = loading ? 0 : dueInMs === 0 ? null : dueInMs;
  }

  /** Adds up to BATCH events to the tree in one transaction; 0 when there was nothing (or another instance builds). */
  private async extendTree(): Promise<number> {
    const { added, made } = await this.dataSource.transaction(async (tx) => {
      const nothing = { added: 0, made: [] };
      const size = await this.repository.claimBuilder(tx);
      if (size === null) return nothing;
      const leaves = await this.repository.leavesAfter(tx, size, BATCH);
      if (!leaves.length) return nothing;
      const pendingRefs = pendingNodesAt(size);
      const stored = await this.repository.nodes(pendingRefs, tx);
      const pending = new Map(pendingRefs.map((ref) => [ref.level, stored.get(nodeKey(ref))!]));
      const nodes = appendLeaves(size, pending, leaves);
      await this.repository.grow(tx, nodes, size + leaves.length);
      return { added: leaves.length, made: nodes };
    });
    // Committed: the builder holds its new nodes without reading them back.
    for (const node of made) this.nodeCache.add(node.level, node.index, node.hash);
    return added;
  }

  /** Reads into memory the next nodes it lacks for a tree of `size`; true while more remain. */
  private async loadNodes(size: number): Promise<boolean> {
    const runs = this.nodeCache.missing(size, NODES_LOADED_PER_PASS);
    if (!runs.length) return false;
    const loaded = await this.repository.nodeRuns(runs);
    for (const run of loaded) this.nodeCache.addRun(run.level, run.from, run.hashes);
    // A run left out (a node missing below the tree's size) is not retried at once: the proofs read it.
    return loaded.length === runs.length && this.nodeCache.missing(size, 1).length > 0;
  }

  /** 0 when the tree has grown past the last checkpoint and the interval has passed; null when nothing is waiting. */
  private millisUntilCheckpoint(size: number, latest: CheckpointRow | undefined): number | null {
    if (size === 0 || (latest && latest.treeSize >= size)) return null;
    if (!latest) return 0;
    return Math.max(0, latest.at.getTime() + this.policy.audit.checkpointIntervalSeconds * 1000 - Date.now());
  }

  private async makeCheckpoint(): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const size = await this.repository.claimBuilder(tx);
      if (!size) return;
      const key = this.logKey ?? (await this.ensureLogKey());
      const rootHash = rangeHash({ start: 0, end: size }, await this.repository.nodes(nodesFor([{ start: 0, end: size }]), tx));
      const privateKey = createPrivateKey({
        key: Buffer.from(this.keys.unsealSecret(key.sealedPrivateKey, logKeyContext(key.keyName)), 'base64'),
        format: 'der',
        type: 'pkcs8',
      });
      const note = signedNote(checkpointBody({ origin: this.config.logOrigin, treeSize: size, rootHash }), key.keyName, key.publicKey, (message) =>
        sign(null, message, privateKey),
      );
      await this.repository.insertCheckpoint(tx, { treeSize: size, rootHash, note });
      await this.anchorDeliveries.enqueue(tx, this.anchors.names(), size);
    });
    this.anchors.wake();
  }

  /** The log key named after the origin; made on first boot (or when the origin changed: a new log identity). */
  private async ensureLogKey(): Promise<LogKeyRow> {
    const current = await this.repository.currentLogKey();
    if (current?.keyName === this.config.logOrigin) return current;
    return this.dataSource.transaction(async (tx) => {
      await this.repository.lockLogKeys(tx);
      const locked = await this.repository.currentLogKey(tx);
      if (locked?.keyName === this.config.logOrigin) return locked;
      if (locked) {
        this.logger.warn(`BREAKGLASS_LOG_ORIGIN changed from ${locked.keyName} to ${this.config.logOrigin}: a new log key signs checkpoints from now on`);
      }
      await this.repository.retireLogKeys(tx);
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const key: LogKeyRow = {
        keyName: this.config.logOrigin,
        publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'),
        sealedPrivateKey: this.keys.sealSecret(privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'), logKeyContext(this.config.logOrigin)),
      };
      await this.repository.insertLogKey(tx, key);
      return key;
    });
  }
}

const logKeyContext = (keyName: string) => `audit-log-key:${keyName}`;

export function checkpointView(row: CheckpointRow): CheckpointView {
  return { treeSize: row.treeSize, rootHash: row.rootHash.toString('hex'), at: row.at.toISOString(), note: row.note };
}
