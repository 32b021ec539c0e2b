import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CANONICAL_EVENT } from '../audit/audit.sql';
import { pgPoolOf } from '../database/data-source';
import { nodeKey, type Hash, type NodeRef } from './merkle';
import type { MissingRun } from './tree-node-cache';

// The only SQL over the transparency tables: the Merkle tree's nodes and size, checkpoints, the log key.

export interface CheckpointRow {
  treeSize: number;
  rootHash: Buffer;
  note: string;
  at: Date;
}

export interface LogKeyRow {
  keyName: string;
  publicKey: Buffer;
  sealedPrivateKey: string;
}

const NODES = `SELECT n.level, n.idx::float8 AS idx, n.hash FROM audit_tree_nodes n
  JOIN unnest($1::smallint[], $2::bigint[]) AS wanted(level, idx) ON n.level = wanted.level AND n.idx = wanted.idx`;
const CHECKPOINT_COLUMNS = `tree_size::float8 AS "treeSize", root_hash AS "rootHash", note, at`;
// Only one instance extends the tree at a time; the others skip instead of waiting.
const BUILDER_LOCK = `SELECT pg_try_advisory_xact_lock(hashtextextended('breakglass:audit-tree', 0)) AS locked`;

@Injectable()
export class TransparencyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The tree's size, if this transaction may extend it (false: another instance is). */
  async claimBuilder(tx: EntityManager): Promise<number | null> {
    const [{ locked }] = await tx.query(BUILDER_LOCK);
    if (!locked) return null;
    const [{ size }] = await tx.query(`SELECT size::float8 AS size FROM audit_tree`);
    return size;
  }

  /** Audit events appended but not yet in the Merkle tree (what the next checkpoint still has to cover). */
  async treeLag(): Promise<number> {
    const [{ lag }] = await this.dataSource.query(`SELECT greatest(0, (SELECT seq FROM audit_chain_head) - (SELECT size FROM audit_tree))::float8 AS lag`);
    return lag;
  }

  async treeSize(): Promise<number> {
    const [{ size }] = await this.dataSource.query(`SELECT size::float8 AS size FROM audit_tree`);
    return size;
  }

  /**
   * Leaf hashes SHA-256(0x00 || canon(e)) of the events after `size`, computed by PostgreSQL, stopping
   * at a gap. Ordered by the table's seq: a bare `seq` would name the float8 output column, which
   * no index orders, and every batch would sort all the events after it.
   */
  async leavesAfter(tx: EntityManager, size: number, limit: number): Promise<Hash[]> {
    const rows: { seq: number; leaf: Buffer }[] = await tx.query(
      `SELECT seq::float8 AS seq, sha256('\\x00'::bytea || convert_to(${CANONICAL_EVENT}, 'UTF8')) AS leaf
         FROM audit_events WHERE seq > $1 ORDER BY audit_events.seq LIMIT $2`,
      [size, limit],
    );
    const contiguous = rows.findIndex((row, i) => row.seq !== size + i + 1);
    return (contiguous < 0 ? rows : rows.slice(0, contiguous)).map((row) => row.leaf);
  }

  /** The stored nodes among `refs` (one read), keyed by nodeKey. */
  async nodes(refs: NodeRef[], tx?: EntityManager): Promise<Map<string, Hash>> {
    if (!refs.length) return new Map();
    const values = [refs.map((r) => r.level), refs.map((r) => r.index)];
    const rows: { level: number; idx: number; hash: Buffer }[] = tx
      ? await tx.query(NODES, values)
      : (await pgPoolOf(this.dataSource).query({ name: 'transparency_nodes', text: NODES, values })).rows;
    return new Map(rows.map((row) => [nodeKey({ level: row.level, index: row.idx }), row.hash]));
  }

  /**
   * Runs of consecutive nodes, each level's hashes concatenated in index order by PostgreSQL (one
   * buffer per run, not a row per node); a run with a node missing is left out.
   */
  async nodeRuns(runs: MissingRun[]): Promise<{ level: number; from: number; hashes: Buffer }[]> {
    const rows: { level: number; from: number; wanted: number; hashes: Buffer }[] = await this.dataSource.query(
      `SELECT w.level, w.from_idx::float8 AS "from", (w.to_idx - w.from_idx)::float8 AS wanted, string_agg(n.hash, ''::bytea ORDER BY n.idx) AS hashes
         FROM unnest($1::smallint[], $2::bigint[], $3::bigint[]) AS w(level, from_idx, to_idx)
         JOIN audit_tree_nodes n ON n.level = w.level AND n.idx >= w.from_idx AND n.idx < w.to_idx
        GROUP BY w.level, w.from_idx, w.to_idx`,
      [runs.map((r) => r.level), runs.map((r) => r.from), runs.map((r) => r.to)],
    );
    return rows.filter((row) => row.hashes.length === row.wanted * 32);
  }

  async grow(tx: EntityManager, nodes: { level: number; index: number; hash: Hash }[], size: number): Promise<void> {
    await tx.query(`INSERT INTO audit_tree_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [
      nodes.map((n) => n.level),
      nodes.map((n) => n.index),
      nodes.map((n) => n.hash),
    ]);
    await tx.query(`UPDATE audit_tree SET size = $1`, [size]);
  }

  async latestCheckpoint(): Promise<CheckpointRow | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1`);
    return row;
  }

  async checkpoint(treeSize: number): Promise<CheckpointRow | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size = $1`, [treeSize]);
    return row;
  }

  /** The smallest checkpoint that covers `treeSize` events (an export's or a bundle's). */
  async checkpointCovering(treeSize: number): Promise<CheckpointRow | undefined> {
    const [row] = await this.dataSource.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size >= $1 ORDER BY tree_size LIMIT 1`, [
      treeSize,
    ]);
    return row;
  }

  checkpoints(afterTreeSize: number, limit: number): Promise<CheckpointRow[]> {
    return this.dataSource.query(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`, [
      afterTreeSize,
      limit,
    ]);
  }

  async insertCheckpoint(tx: EntityManager, checkpoint: Omit<CheckpointRow, 'at'>): Promise<void> {
    await tx.query(`INSERT INTO audit_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3) ON CONFLICT (tree_size) DO NOTHING`, [
      checkpoint.treeSize,
      checkpoint.rootHash,
      checkpoint.note,
    ]);
  }

  async currentLogKey(tx: EntityManager | DataSource = this.dataSource): Promise<LogKeyRow | undefined> {
    const [row] = await tx.query(
      `SELECT key_name AS "keyName", public_key AS "publicKey", sealed_private_key AS "sealedPrivateKey" FROM audit_log_keys WHERE retired_at IS NULL`,
    );
    return row;
  }

  /** Serialises creating or rotating the log key between instances. */
  async lockLogKeys(tx: EntityManager): Promise<void> {
    await tx.query(`LOCK TABLE audit_log_keys IN SHARE ROW EXCLUSIVE MODE`);
  }

  async retireLogKeys(tx: EntityManager): Promise<void> {
    await tx.query(`UPDATE audit_log_keys SET retired_at = now() WHERE retired_at IS NULL`);
  }

  async insertLogKey(tx: EntityManager, key: LogKeyRow): Promise<void> {
    await tx.query(`INSERT INTO audit_log_keys (key_name, public_key, sealed_private_key) VALUES ($1, $2, $3)`, [
      key.keyName,
      key.publicKey,
      key.sealedPrivateKey,
    ]);
  }
}
