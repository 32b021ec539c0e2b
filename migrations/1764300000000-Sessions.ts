import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Sessions1764300000000 implements MigrationInterface {
  name = 'Sessions1764300000000';

  async up(db: QueryRunner): Promise<void> {
    // One hash chain per grant, in the client's seq order (docs/formats.md "Session log").
    await db.query(`
      CREATE TABLE session_events (
        grant_id     text        NOT NULL REFERENCES grants (id),
        seq          integer     NOT NULL CHECK (seq > 0),
        type         text        NOT NULL,
        command      text,
        cwd          text,
        "user"       text,
        host         text,
        started_at   timestamptz,
        finished_at  timestamptz,
        exit_code    integer,
        received_at  timestamptz NOT NULL,
        late         boolean     NOT NULL DEFAULT false,
        prev_hash    char(64)    NOT NULL,
        hash         char(64)    NOT NULL,
        PRIMARY KEY (grant_id, seq)
      )`);
    await db.query(`
      CREATE TRIGGER session_events_append_only BEFORE UPDATE OR DELETE ON session_events
      FOR EACH ROW EXECUTE FUNCTION breakglass_reject_modification()`);
    await db.query(`
      CREATE TRIGGER session_events_no_truncate BEFORE TRUNCATE ON session_events
      FOR EACH STATEMENT EXECUTE FUNCTION breakglass_reject_modification()`);

    // The head of each grant's chain: appenders lock it (per grant, so sessions never wait on
    // each other); verification compares it with the last event, so a deleted tail is detected.
    await db.query(`
      CREATE TABLE session_heads (
        grant_id    text        PRIMARY KEY REFERENCES grants (id),
        last_seq    integer     NOT NULL DEFAULT 0,
        hash        char(64)    NOT NULL DEFAULT repeat('0', 64),
        count       integer     NOT NULL DEFAULT 0,
        gaps        jsonb       NOT NULL DEFAULT '[]',
        sealed_hash char(64),
        sealed_at   timestamptz
      )`);

    await db.query(`
      CREATE TABLE session_reviews (
        id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        grant_id                text        NOT NULL REFERENCES grants (id),
        reviewer                text        NOT NULL,
        outcome                 text        NOT NULL CHECK (outcome IN ('approved', 'findings', 'violation')),
        notes                   text        NOT NULL,
        chain_valid             boolean     NOT NULL,
        chain_head              char(64)    NOT NULL,
        events_reviewed         integer     NOT NULL,
        integrity_acknowledged  boolean     NOT NULL,
        at                      timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX session_reviews_grant_idx ON session_reviews (grant_id, at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['session_reviews', 'session_heads', 'session_events']) await db.query(`DROP TABLE ${table}`);
  }
}
