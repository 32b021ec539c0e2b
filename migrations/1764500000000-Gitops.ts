import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Gitops1764500000000 implements MigrationInterface {
  name = 'Gitops1764500000000';

  async up(db: QueryRunner): Promise<void> {
    // The merge commit closes the loop: a reconcile at that revision proves the fix is in Git and applied.
    await db.query(`ALTER TABLE pr_links ADD COLUMN merge_commit_sha text`);
    await db.query(`CREATE INDEX pr_links_merge_commit_idx ON pr_links (merge_commit_sha) WHERE merge_commit_sha IS NOT NULL`);

    // Reconciler events (Flux, Argo CD) as received and classified; each is also an audit event.
    await db.query(`
      CREATE TABLE gitops_events (
        id             bigserial   PRIMARY KEY,
        source         text        NOT NULL CHECK (source IN ('flux', 'argocd')),
        kind           text        NOT NULL CHECK (kind IN ('reconciled', 'failed', 'drift')),
        object_kind    text        NOT NULL,
        object_ns      text,
        object_name    text        NOT NULL,
        cluster        text,
        revision       text,
        commit_sha     text,
        resources      jsonb       NOT NULL DEFAULT '[]',
        reason         text        NOT NULL,
        message        text        NOT NULL,
        targets        text[]      NOT NULL DEFAULT '{}',
        audit_seq      bigint      NOT NULL,
        received_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX gitops_events_object_idx ON gitops_events (source, object_kind, object_ns, object_name, id)`);
    await db.query(`CREATE INDEX gitops_events_commit_idx ON gitops_events (commit_sha) WHERE kind = 'reconciled'`);

    // Drift explained by a grant (active, or within the target's grace period after it ended).
    await db.query(`
      CREATE TABLE drift_attributions (
        event_id       bigint      NOT NULL REFERENCES gitops_events (id),
        grant_id       text        NOT NULL REFERENCES grants (id),
        attributed_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (event_id, grant_id)
      )`);
    await db.query(`CREATE INDEX drift_attributions_grant_idx ON drift_attributions (grant_id)`);

    // The closed loop: the grant's merged retro PR was reconciled (once per grant).
    await db.query(`
      CREATE TABLE change_reconciliations (
        grant_id       text        PRIMARY KEY REFERENCES grants (id),
        event_id       bigint      NOT NULL REFERENCES gitops_events (id),
        repo           text        NOT NULL,
        number         integer     NOT NULL,
        commit_sha     text        NOT NULL,
        reconciled_at  timestamptz NOT NULL DEFAULT now()
      )`);

    // Reconciliation suspended / resumed around a grant (the pause helper), as the engineer reported it.
    await db.query(`
      CREATE TABLE gitops_pauses (
        grant_id       text        PRIMARY KEY REFERENCES grants (id),
        paused_at      timestamptz,
        paused_by      text,
        resumed_at     timestamptz,
        resumed_by     text
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['gitops_pauses', 'change_reconciliations', 'drift_attributions', 'gitops_events']) await db.query(`DROP TABLE ${table}`);
    await db.query(`ALTER TABLE pr_links DROP COLUMN merge_commit_sha`);
  }
}
