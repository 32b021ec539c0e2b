import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface ForwarderCursor {
  name: string;
  lastSeq: number;
  failures: number;
}

@Injectable()
export class SiemForwarderRepository {
  constructor(private readonly dataSource: DataSource) {}

  async ensure(names: string[]): Promise<void> {
    if (names.length) await this.dataSource.query(`INSERT INTO forwarder_cursors (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [names]);
  }

  /** The forwarder's cursor if it is due, locked: one instance forwards a given forwarder at a time. */
  async claim(tx: EntityManager, name: string): Promise<ForwarderCursor | undefined> {
    const [row] = await tx.query(
      `SELECT name, last_seq AS "lastSeq", failures FROM forwarder_cursors
        WHERE name = $1 AND next_attempt_at <= now() FOR UPDATE SKIP LOCKED`,
      [name],
    );
    return row ? { ...row, lastSeq: Number(row.lastSeq) } : undefined;
  }

  async advance(tx: EntityManager, name: string, lastSeq: number): Promise<void> {
    await tx.query(`UPDATE forwarder_cursors SET last_seq = $2, failures = 0, last_error = NULL, next_attempt_at = now(), updated_at = now() WHERE name = $1`, [
      name,
      lastSeq,
    ]);
  }

  async failed(tx: EntityManager, name: string, error: string, retryInMs: number): Promise<void> {
    await tx.query(
      `UPDATE forwarder_cursors SET failures = failures + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3::float8 / 1000), updated_at = now() WHERE name = $1`,
      [name, error, retryInMs],
    );
  }

  /** 0 when some forwarder is behind the chain and may send now, else ms until the next retry, or null. */
  async millisUntilNext(names: string[]): Promise<number | null> {
    if (!names.length) return null;
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (min(f.next_attempt_at) - clock_timestamp())) * 1000 AS ms
         FROM forwarder_cursors f, audit_chain_head h
        WHERE f.name = ANY($1::text[]) AND f.last_seq < h.seq`,
      [names],
    );
    return row.ms === null ? null : Math.max(0, Math.ceil(Number(row.ms)));
  }

  cursors(): Promise<(ForwarderCursor & { lastError: string | null })[]> {
    return this.dataSource.query(`SELECT name, last_seq::int AS "lastSeq", failures, last_error AS "lastError" FROM forwarder_cursors ORDER BY name`);
  }
}
