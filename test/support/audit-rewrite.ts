import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { tamperWith } from './test-database';

type AuditEvent = { seq: number; prevHash: string; hash: string } & Record<string, unknown>;

/**
 * What an attacker with the database would do to hide a change: rewrite event `seq`'s actor, then
 * recompute every later chain hash and the head, so the chain verifies again (the attack the
 * transparency log exists for). `events` is the log as the API exported it.
 */
export async function rewriteHistoryConsistently(databaseUrl: string, events: AuditEvent[], seq: number, actor: string): Promise<void> {
  const rewritten = events.map((event) => (event.seq === seq ? { ...event, actor } : { ...event }));
  let prevHash = rewritten[seq - 2]?.hash ?? '0'.repeat(64);
  for (const event of rewritten.slice(seq - 1)) {
    const { prevHash: _old, hash: _hash, ...hashed } = event;
    event.prevHash = prevHash;
    event.hash = prevHash = createHash('sha256')
      .update(`${prevHash}\n${canonicalize(hashed)}`)
      .digest('hex');
  }
  await tamperWith(databaseUrl, 'audit_events', `UPDATE audit_events SET actor = $2 WHERE seq = $1`, [seq, actor]);
  for (const event of rewritten.slice(seq - 1)) {
    await tamperWith(databaseUrl, 'audit_events', `UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE seq = $1`, [event.seq, event.prevHash, event.hash]);
  }
  await tamperWith(databaseUrl, 'audit_events', `UPDATE audit_chain_head SET hash = $1 WHERE seq = $2`, [prevHash, rewritten.at(-1)!.seq]);
}
