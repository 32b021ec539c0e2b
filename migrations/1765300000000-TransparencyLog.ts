import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TransparencyLog1765300000000 implements MigrationInterface {
  name = 'TransparencyLog1765300000000';

  async up(db: QueryRunner): Promise<void> {
    // The Merkle tree over the audit events (docs/transparency.md): only perfect subtrees are stored,
    // node (level, idx) covering leaves [idx·2^level, (idx+1)·2^level). Nodes never change once made.
    await db.query(`
      CREATE TABLE audit_tree_nodes (
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
        idx   bigint   NOT NULL CHECK (idx >= 0),
        hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
        PRIMARY KEY (level, idx)
      )`);
    // One row: how many events the tree holds (it follows the chain, catching up from seq 1).
    await db.query(`
      CREATE TABLE audit_tree (
        id   boolean PRIMARY KEY DEFAULT true CHECK (id),
        size bigint  NOT NULL CHECK (size >= 0)
      )`);
    await db.query(`INSERT INTO audit_tree (size) VALUES (0)`);

    // The Ed25519 key that signs checkpoints, sealed with the master key like the signing keys.
    await db.query(`
      CREATE TABLE audit_log_keys (
        key_name           text        NOT NULL,
        public_key         bytea       NOT NULL CHECK (octet_length(public_key) = 32),
        sealed_private_key text        NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        retired_at         timestamptz,
        PRIMARY KEY (key_name, public_key)
      )`);
    await db.query(`CREATE UNIQUE INDEX audit_log_keys_current_idx ON audit_log_keys ((true)) WHERE retired_at IS NULL`);

    await db.query(`
      CREATE TABLE audit_checkpoints (
        tree_size bigint      PRIMARY KEY CHECK (tree_size > 0),
        root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
        note      text        NOT NULL,
        at        timestamptz NOT NULL DEFAULT now()
      )`);
    // Anchors: each checkpoint published to each policy anchor, in order, every attempt kept.
    await db.query(`
      CREATE TABLE audit_anchor_deliveries (
        anchor          text        NOT NULL,
        tree_size       bigint      NOT NULL REFERENCES audit_checkpoints (tree_size),
        status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at      timestamptz NOT NULL DEFAULT now(),
        delivered_at    timestamptz,
        last_error      text,
        alerted_at      timestamptz,
        PRIMARY KEY (anchor, tree_size)
      )`);
    await db.query(`CREATE INDEX audit_anchor_deliveries_pending_idx ON audit_anchor_deliveries (anchor, tree_size) WHERE status = 'pending'`);
    await db.query(`
      CREATE TABLE audit_anchor_attempts (
        anchor      text        NOT NULL,
        tree_size   bigint      NOT NULL,
        attempt     integer     NOT NULL,
        at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        outcome     text        NOT NULL CHECK (outcome IN ('delivered', 'failed')),
        error       text,
        duration_ms integer     NOT NULL,
        PRIMARY KEY (anchor, tree_size, attempt),
        FOREIGN KEY (anchor, tree_size) REFERENCES audit_anchor_deliveries (anchor, tree_size)
      )`);
    for (const table of ['audit_tree_nodes', 'audit_checkpoints', 'audit_anchor_attempts']) {
      await db.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION breakglass_reject_modification()`);
      await db.query(`
        CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION breakglass_reject_modification()`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE audit_anchor_attempts');
    await db.query('DROP TABLE audit_anchor_deliveries');
    await db.query('DROP TABLE audit_checkpoints');
    await db.query('DROP TABLE audit_log_keys');
    await db.query('DROP TABLE audit_tree');
    await db.query('DROP TABLE audit_tree_nodes');
  }
}
