import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { ChainVerifier, type ChainVerdict } from '../audit/chain';
import type { Principal } from '../auth/principal';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget } from '../config/policy';
import { afterCommit } from '../database/after-commit';
import { DatabaseClock } from '../database/database-clock';
import { GrantError } from '../grants/grants.errors';
import { clientContent, sealAnchors, sessionEventHash, sessionHashedFields, type Gap, type SessionEvent } from './session-event';
import type { SessionEventBody } from './sessions.dto';
import { SessionError } from './sessions.errors';
import { transcriptLine } from './transcript';
import { SessionsRepository, type HeadMove, type SessionHead } from './sessions.repository';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
  headHash: string;
  gaps: Gap[];
}

const KNOWN_HEADS_KEPT = 10_000;

type KnownHead = Pick<SessionHead, 'lastSeq' | 'hash' | 'gaps'>;

/** The per-grant session command log: ingest, read, verify, seal. */
@Injectable()
export class Sessions {
  /** Heads this instance wrote last, for the one-statement fast path (a stale one only costs a retry). */
  private readonly knownHeads = new Map<string, KnownHead>();
  /** Fast-path batches waiting for the next grouped statement, by grant. */
  private readonly pendingMoves = new Map<string, { move: HeadMove; settle: (appended: boolean) => void }>();

  constructor(
    private readonly repository: SessionsRepository,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
    private readonly clock: DatabaseClock,
  ) {}

  /** Called in the grant's activation transaction. */
  open(tx: EntityManager, grantId: string): Promise<void> {
    return this.repository.open(tx, grantId);
  }

  /**
   * DESIGN.md seq semantics: a re-sent seq with identical content is accepted idempotently, a
   * conflicting one is 409, a jump is a recorded gap. The chain follows seq, so a seq below the
   * head that was never stored cannot be inserted (409 `seq_behind_head`). After the grant ended,
   * events recorded before the end are accepted and marked late; later ones are refused (403).
   */
  async ingest(grantId: string, batch: SessionEventBody[]): Promise<IngestResult> {
    const incoming = normalise(grantId, batch);
    const known = this.knownHeads.get(grantId);
    if (known && incoming[0].seq > known.lastSeq) {
      // The common case: new events for an active grant whose head we wrote last.
      const { appended, head } = chain(incoming, known, this.clock.now().toISOString(), false);
      if (await this.appendGrouped({ grant: grantId, expectedSeq: known.lastSeq, expectedHash: known.hash, ...head, events: appended })) {
        this.remember(grantId, head);
        return { accepted: appended.length, duplicates: 0, lastSeq: head.lastSeq, headHash: head.hash, gaps: head.gaps };
      }
      this.knownHeads.delete(grantId);
    }
    return this.ingestLocked(grantId, incoming);
  }

  /**
   * Fast-path batches arriving in the same event-loop turn share one statement (group commit: one
   * round trip and one database wake-up for many sessions). A second batch of a grant already in
   * the group answers false at once and takes the locked path: the head it expects is about to move.
   */
  private appendGrouped(move: HeadMove): Promise<boolean> {
    if (this.pendingMoves.has(move.grant)) return Promise.resolve(false);
    if (!this.pendingMoves.size) setImmediate(() => void this.flushMoves());
    return new Promise((settle) => this.pendingMoves.set(move.grant, { move, settle }));
  }

  private async flushMoves(): Promise<void> {
    const group = [...this.pendingMoves.values()];
    this.pendingMoves.clear();
    // On an error every batch retries on the locked path, which reports it for its own request.
    const appended = await this.repository.appendIfHeads(group.map((pending) => pending.move)).catch(() => new Set<string>());
    for (const { move, settle } of group) settle(appended.has(move.grant));
  }

  private remember(grantId: string, head: KnownHead): void {
    this.knownHeads.delete(grantId);
    this.knownHeads.set(grantId, head);
    if (this.knownHeads.size > KNOWN_HEADS_KEPT) this.knownHeads.delete(this.knownHeads.keys().next().value!);
  }

  /** The general path: lock the head, handle re-sends, late events and conflicts. */
  private ingestLocked(grantId: string, incoming: ReturnType<typeof normalise>): Promise<IngestResult> {
    return this.dataSource.transaction(async (tx) => {
      const head = await this.repository.lockHead(tx, grantId);
      if (!head) throw new GrantError('grant_not_found', `No grant ${grantId}`);
      const ended = head.grantStatus !== 'active';
      if (ended) {
        const afterEnd = incoming.find((event) => !event.startedAt || Date.parse(event.startedAt) > head.endedAt!.getTime());
        if (afterEnd) throw new SessionError('session_ended', `${grantId} ended at ${head.endedAt!.toISOString()}; event seq ${afterEnd.seq} is not stamped before that`);
      }
      const resent = incoming.filter((event) => event.seq <= head.lastSeq);
      const fresh = incoming.filter((event) => event.seq > head.lastSeq);
      if (resent.length) {
        const stored = new Map((await this.repository.existing(tx, grantId, resent.map((e) => e.seq))).map((event) => [event.seq, event]));
        for (const event of resent) {
          const original = stored.get(event.seq);
          if (!original) throw new SessionError('seq_behind_head', `seq ${event.seq} was never received and the log has moved on to ${head.lastSeq}; it cannot be inserted`);
          if (clientContent(original) !== clientContent(event)) throw new SessionError('seq_conflict', `seq ${event.seq} was already received with different content`, { seq: event.seq });
        }
      }
      const { appended, head: next } = chain(fresh, head, head.now.toISOString(), ended);
      if (appended.length) {
        await this.repository.append(tx, appended, { grantId, ...next }, ended);
        // Late events after the seal: seal again, so every command stays anchored in the audit chain.
        if (ended) await this.auditSeal(tx, grantId, { ...next, count: head.count + appended.length }, true);
      }
      if (ended) this.knownHeads.delete(grantId);
      else afterCommit(tx, () => this.remember(grantId, next));
      return { accepted: appended.length, duplicates: resent.length, lastSeq: next.lastSeq, headHash: next.hash, gaps: next.gaps };
    });
  }

  /** Anchors the session head in the audit chain when the grant ends (in its transaction). */
  async seal(tx: EntityManager, grantId: string): Promise<void> {
    const head = await this.repository.seal(tx, grantId);
    if (head) await this.auditSeal(tx, grantId, head, false);
  }

  private async auditSeal(tx: EntityManager, grantId: string, head: Pick<SessionHead, 'lastSeq' | 'hash' | 'count' | 'gaps'>, resealed: boolean) {
    const [grant] = await tx.query(`SELECT target FROM grants WHERE id = $1`, [grantId]);
    await this.auditLog.append(tx, {
      actor: 'system:sessions',
      action: 'session.sealed',
      grant: grantId,
      target: grant?.target ?? null,
      extraControls: findTarget(this.policy, grant?.target)?.controls,
      data: { headHash: head.hash, count: head.count, lastSeq: head.lastSeq, gaps: head.gaps.map((g) => ({ from: g.from, to: g.to })), resealed },
    });
  }

  async read(caller: Principal, grantId: string, afterSeq: number, limit: number): Promise<{ events: SessionEvent[]; headHash: string; gaps: Gap[]; next: number | null }> {
    const head = await this.readableHead(caller, grantId);
    const events = await this.repository.page(grantId, afterSeq, limit);
    return { events, headHash: head.hash, gaps: head.gaps, next: events.length === limit ? events[events.length - 1].seq : null };
  }

  /** The session as text, one line per record (transcript.ts). */
  async transcript(caller: Principal, grantId: string): Promise<string> {
    const head = await this.readableHead(caller, grantId);
    const lines = [`# breakglass session transcript of ${grantId}: ${head.count} events, head ${head.hash}`];
    for (const gap of head.gaps) lines.push(`# gap: seq ${gap.from}-${gap.to} never received`);
    for await (const event of this.repository.all(grantId)) lines.push(transcriptLine(event));
    return `${lines.join('\n')}\n`;
  }

  /** The whole log of a grant with its head (for evidence bundles; no caller check). */
  async everything(grantId: string): Promise<{ events: SessionEvent[]; head: SessionHead | undefined }> {
    const events: SessionEvent[] = [];
    for await (const event of this.repository.all(grantId)) events.push(event);
    return { events, head: await this.repository.head(grantId) };
  }

  /** Recomputes the chain, which must end at the stored head and pass through every seal in the audit log. */
  async verify(grantId: string): Promise<ChainVerdict> {
    const head = await this.repository.head(grantId);
    if (!head) throw new GrantError('grant_not_found', `No grant ${grantId}`);
    const verifier = new ChainVerifier<SessionEvent>(sessionHashedFields, false).throughAnchors(sealAnchors(await this.auditLog.forGrant(grantId)));
    for await (const event of this.repository.all(grantId)) verifier.add(event);
    return verifier.verdict({ seq: head.lastSeq, hash: head.hash });
  }

  private async readableHead(caller: Principal, grantId: string): Promise<SessionHead> {
    const [grant] = await this.dataSource.query(`SELECT requester FROM grants WHERE id = $1`, [grantId]);
    if (!grant) throw new GrantError('grant_not_found', `No grant ${grantId}`);
    const seesAll = caller.roles.includes('security') || caller.roles.includes('compliance');
    if (!seesAll && grant.requester !== caller.subject) throw new GrantError('not_your_grant', `${grantId}'s session belongs to another requester`);
    return (await this.repository.head(grantId))!;
  }
}

/** Chains new events (ascending seq) onto a head; a seq jump is recorded as a gap. */
function chain(events: ReturnType<typeof normalise>, head: KnownHead, receivedAt: string, late: boolean): { appended: SessionEvent[]; head: KnownHead } {
  let { lastSeq, hash } = head;
  const gaps = [...head.gaps];
  const appended = events.map((event) => {
    if (event.seq > lastSeq + 1) gaps.push({ from: lastSeq + 1, to: event.seq - 1 });
    const fields = { ...event, receivedAt };
    const next = sessionEventHash(hash, fields);
    const stored: SessionEvent = { ...fields, prevHash: hash, hash: next, late };
    lastSeq = event.seq;
    hash = next;
    return stored;
  });
  return { appended, head: { lastSeq, hash, gaps } };
}

/** Times normalised to `Date#toISOString()` (hashed form); absent values null; one entry per seq. */
function normalise(grantId: string, batch: SessionEventBody[]) {
  const bySeq = new Map<number, ReturnType<typeof toFields>>();
  for (const body of batch) {
    const event = toFields(grantId, body);
    const twin = bySeq.get(event.seq);
    if (twin && clientContent(twin) !== clientContent(event)) throw new SessionError('seq_conflict', `seq ${event.seq} appears twice in the batch with different content`, { seq: event.seq });
    bySeq.set(event.seq, event);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function toFields(grantId: string, body: SessionEventBody) {
  const time = (value: string | null | undefined) => (value ? new Date(value).toISOString() : null);
  return {
    grant: grantId,
    seq: body.seq,
    type: body.type,
    command: body.command ?? null,
    cwd: body.cwd ?? null,
    user: body.user ?? null,
    host: body.host ?? null,
    startedAt: time(body.startedAt),
    finishedAt: time(body.finishedAt),
    exitCode: body.exitCode ?? null,
  };
}
