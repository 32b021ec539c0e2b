import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Grants1764100000000 implements MigrationInterface {
  name = 'Grants1764100000000';

  async up(db: QueryRunner): Promise<void> {
    // Filled once at first boot (not here: test databases are cloned from a migrated template).
    // Prefixes the names of temporary PostgreSQL roles, so cleanup never touches another broker's.
    await db.query(`CREATE TABLE installation (id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{6}$'), created_at timestamptz NOT NULL DEFAULT now())`);

    // Grant ids are BG-<year>-<6 digits>; the number comes from one sequence so concurrent
    // requests never wait on each other for an id (a failed request leaves a harmless gap).
    await db.query(`CREATE SEQUENCE grant_number_seq`);
    await db.query(`
      CREATE TABLE grants (
        id                   text        PRIMARY KEY,
        status               text        NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
        target               text        NOT NULL,
        environment          text        NOT NULL,
        credential_type      text        NOT NULL CHECK (credential_type IN ('jwt', 'postgres')),
        role                 text,
        requester            text        NOT NULL,
        requester_email      text,
        incident             text        NOT NULL,
        reason               text        NOT NULL,
        requested_seconds    integer     NOT NULL CHECK (requested_seconds > 0),
        activated_at         timestamptz NOT NULL,
        expires_at           timestamptz NOT NULL,
        ended_at             timestamptz,
        ended_by             text,
        end_reason           text,
        retro_pr_repo        text,
        on_call              jsonb,
        flags                text[]      NOT NULL DEFAULT '{}',
        CONSTRAINT grants_window CHECK (expires_at > activated_at),
        CONSTRAINT grants_ended CHECK ((status = 'active') = (ended_at IS NULL))
      )`);
    await db.query(`CREATE INDEX grants_active_expiry_idx ON grants (expires_at) WHERE status = 'active'`);
    await db.query(`CREATE INDEX grants_requester_idx ON grants (requester, id)`);
    await db.query(`CREATE INDEX grants_target_idx ON grants (target, id)`);

    await db.query(`
      CREATE TABLE grant_extensions (
        grant_id        text        NOT NULL REFERENCES grants (id),
        at              timestamptz NOT NULL,
        by              text        NOT NULL,
        added_seconds   integer     NOT NULL CHECK (added_seconds > 0),
        reason          text        NOT NULL,
        new_expires_at  timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX grant_extensions_grant_idx ON grant_extensions (grant_id, at)`);

    // Issued credentials: metadata and a SHA-256 fingerprint of the secret, never the secret.
    await db.query(`
      CREATE TABLE credentials (
        id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        grant_id         text        NOT NULL REFERENCES grants (id),
        purpose          text        NOT NULL CHECK (purpose IN ('access', 'session')),
        type             text        NOT NULL CHECK (type IN ('jwt', 'postgres')),
        jti              text        UNIQUE,
        kid              text,
        username         text,
        database         text,
        fingerprint      char(64)    NOT NULL,
        issued_at        timestamptz NOT NULL,
        expires_at       timestamptz NOT NULL,
        revoked_at       timestamptz,
        provider_status  text        NOT NULL DEFAULT 'active' CHECK (provider_status IN ('active', 'revoked', 'revoke_failed')),
        provider_error   text
      )`);
    await db.query(`CREATE INDEX credentials_grant_idx ON credentials (grant_id)`);
    await db.query(`CREATE INDEX credentials_cleanup_idx ON credentials (provider_status) WHERE provider_status <> 'revoked'`);

    // Ed25519 keys that sign credentials, session tokens and evidence. The private key is sealed
    // with AES-256-GCM under the broker's master key (data dir or BREAKGLASS_KEY), kid as AAD.
    await db.query(`
      CREATE TABLE signing_keys (
        kid                 text        PRIMARY KEY,
        public_jwk          jsonb       NOT NULL,
        sealed_private_key  text        NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        retired_at          timestamptz,
        publish_until       timestamptz
      )`);

    // SLA clocks start with the grant. Escalation, waivers and PR links extend this table later.
    await db.query(`
      CREATE TABLE sla_clocks (
        id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        grant_id      text        NOT NULL REFERENCES grants (id),
        kind          text        NOT NULL CHECK (kind IN ('retro_pr', 'review')),
        state         text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'satisfied', 'satisfied_late', 'breached', 'waived')),
        started_at    timestamptz NOT NULL,
        due_at        timestamptz NOT NULL,
        resolved_at   timestamptz,
        requester     text        NOT NULL,
        CONSTRAINT sla_clocks_one_per_kind UNIQUE (grant_id, kind)
      )`);
    await db.query(`CREATE INDEX sla_clocks_open_idx ON sla_clocks (requester, kind, due_at) WHERE state IN ('running', 'breached')`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['installation', 'sla_clocks', 'signing_keys', 'credentials', 'grant_extensions', 'grants']) await db.query(`DROP TABLE ${table}`);
    await db.query('DROP SEQUENCE grant_number_seq');
  }
}
