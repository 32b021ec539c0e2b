import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { endedGrantMessage } from '../access/ended-grant';
import { requireGrantAccess } from '../access/grant-access';
import { GrantReader } from '../access/grant-reader';
import { GrantError } from '../access/grant.errors';
import { AuditLog } from '../audit/audit-log.service';
import { canonicalJson, ChainVerifier, type ChainVerdict } from '../audit/chain';
import type { Principal } from '../auth/principal';
import { afterCommit } from '../database/after-commit';
import { DatabaseClock } from '../database/database-clock';
import { sessionChanges, type SessionChange } from './session-changes';
import {
  clientContent,
  sealAnchors,
  sessionEventHash,
  sessionHashedFields,
  type RecordDetail,
  type SessionEvent,
  type SessionEventFields,
} from './session-event';
import type { SessionEventBody } from './sessions.dto';
import { SessionError } from './sessions.errors';
import { SessionsRepository, type HeadMove, type NewRecord, type SessionHead } from './sessions.repository';
import type { IngestResult, SessionPage } from './sessions.views';
import { transcriptLine } from './transcript';

/**
 * A record to append: a client's (the CLI's, `clientSeq` = the seq it sent) or one the broker made
 * itself (the PostgreSQL proxy; `clientSeq` null, numbered by the chain).
 */
export type IncomingRecord = Omit<SessionEventFields, 'grant' | 'seq' | 'receivedAt' | 'detail'> & {
  clientSeq: number | null;
  detail: RecordDetail | null;
  /** RFC 8785 text of `detail` when the recorder already has it (flat, keys in order); else computed. */
  detailCanonical?: string;
};

export type BrokerRecord = Omit<IncomingRecord, 'clientSeq'>;

interface Appended {
  records: NewRecord[];
  duplicates: number;
  head: KnownHead;
}

const KNOWN_HEADS_KEPT = 10_000;

type KnownHead = Pick<SessionHead, 'lastSeq' | 'clientLastSeq' | 'hash' | 'gaps'>;

/** The per-grant session log: ingest, the broker's own records, read, verify, seal. */
/** Grants whose session changes are kept in memory (a few KB each at most). */
const CHANGES_CACHED = 500;

@Injectable()
export class Sessions {
  /** Heads this instance wrote last, for the one-statement fast path (a stale one only costs a retry). */
  private readonly knownHeads = new Map<string, KnownHead>();
  /**
   * Per grant, what the session changed as of a head hash: the grant page polls every few seconds,
   * and parsing every statement again is only needed once a record has landed.
   */
  private readonly changesAtHead = new Map<string, { hash: string; changes: SessionChange[] }>();
  /** Fast-path batches waiting for the next grouped statement, by grant. */
  private readonly pendingMoves = new Map<string, { move: HeadMove; settle: (appended: boolean) => void }>();

  constructor(
    private readonly repository: SessionsRepository,
    private readonly auditLog: AuditLog,
    private readonly dataSource: DataSource,
    private readonly clock: DatabaseClock,
    private readonly grants: GrantReader,
  ) {}

  /** Called in the grant's activation transaction. */
  open(tx: EntityManager, grantId: string): Promise<void> {
    return this.repository.open(tx, grantId);
  }

  /**
   * The seq semantics of docs/api.md, in the client's own seqs: a re-sent seq with identical content is
   * accepted idempotently, a conflicting one is 409, a jump is a recorded gap, a seq below the
   * client's head that was never stored is 409 `seq_behind_head`. A client record keeps its seq in
   * the chain unless the broker's recorders moved the chain past it (docs/formats.md). After the
   * grant ended, events recorded before the end are accepted and marked late; later ones are 403.
   */
  async ingest(grantId: string, batch: SessionEventBody[]): Promise<IngestResult> {
    const { records, duplicates, head } = await this.append(grantId, normalise(batch));
    return { accepted: records.length, duplicates, lastSeq: head.clientLastSeq, headHash: head.hash, gaps: head.gaps };
  }

  /** Records the broker made itself (the proxy's statements), appended in order; answers them with their seqs. */
  async record(grantId: string, records: BrokerRecord[]): Promise<SessionEvent[]> {
    return (
      await this.append(
        grantId,
        records.map((record) => ({ ...record, clientSeq: null })),
      )
    ).records.map(asApiRecord);
  }

  private async append(grantId: string, incoming: IncomingRecord[]): Promise<Appended> {
    const known = this.knownHeads.get(grantId);
    const firstClientSeq = incoming[0].clientSeq;
    if (known && (firstClientSeq === null || firstClientSeq > known.clientLastSeq)) {
      // The common case: new records for an active grant whose head we wrote last.
      const { appended, head } = chain(grantId, incoming, known, this.clock.now().toISOString(), false);
      if (await this.appendGrouped({ grant: grantId, expectedSeq: known.lastSeq, expectedHash: known.hash, ...head, events: appended })) {
        this.remember(grantId, head);
        return { records: appended, duplicates: 0, head };
      }
      this.knownHeads.delete(grantId);
    }
    return this.appendLocked(grantId, incoming);
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

  /**
   * Broker records of several grants appended in the caller's transaction (the Kubernetes audit
   * webhook: records, de-duplication and audit events commit together): the heads are locked in one
   * statement in grant-id order and active grants' records land in one more. Ended grants take the
   * general path (late records, reseal).
   */
  async recordIn(tx: EntityManager, batches: Map<string, BrokerRecord[]>): Promise<void> {
    const heads = await this.repository.lockHeads(tx, [...batches.keys()]);
    const missing = [...batches.keys()].find((grantId) => !heads.some((head) => head.grantId === grantId));
    if (missing) throw new GrantError('grant_not_found', `No grant ${missing}`);
    const moves: HeadMove[] = [];
    for (const head of heads) {
      const records = batches.get(head.grantId)!.map((record) => ({ ...record, clientSeq: null }));
      if (head.grantStatus !== 'active') {
        await this.appendIn(tx, head.grantId, records);
        continue;
      }
      const { appended, head: next } = chain(head.grantId, records, head, head.now.toISOString(), false);
      moves.push({ grant: head.grantId, expectedSeq: head.lastSeq, expectedHash: head.hash, ...next, events: appended });
      afterCommit(tx, () => this.remember(head.grantId, next));
    }
    if (moves.length) await this.repository.appendMoves(tx, moves);
  }

  /** The general path: lock the head, handle re-sends, late records and conflicts. */
  private appendLocked(grantId: string, incoming: IncomingRecord[]): Promise<Appended> {
    return this.dataSource.transaction((tx) => this.appendIn(tx, grantId, incoming));
  }

  private async appendIn(tx: EntityManager, grantId: string, incoming: IncomingRecord[]): Promise<Appended> {
    const head = await this.repository.lockHead(tx, grantId);
    if (!head) throw new GrantError('grant_not_found', `No grant ${grantId}`);
    const ended = head.grantStatus !== 'active';
    if (ended) {
      const afterEnd = incoming.find((event) => !event.startedAt || Date.parse(event.startedAt) > head.endedAt!.getTime());
      if (afterEnd) {
        // The details let a recorder keep what it can still deliver (stamped before the end) and set the rest aside.
        const grant = { id: grantId, status: head.grantStatus, endedAt: head.endedAt, endedBy: head.endedBy, endReason: head.endReason };
        throw new SessionError(
          'session_ended',
          `${endedGrantMessage(grant)}; event ${afterEnd.clientSeq === null ? afterEnd.type : `seq ${afterEnd.clientSeq}`} is not stamped before the end`,
          { ...grant, endedAt: head.endedAt!.toISOString() },
        );
      }
    }
    const isResent = (event: IncomingRecord) => event.clientSeq !== null && event.clientSeq <= head.clientLastSeq;
    const resent = incoming.filter(isResent);
    const fresh = incoming.filter((event) => !isResent(event));
    if (resent.length) {
      const stored = new Map(
        (
          await this.repository.existing(
            tx,
            grantId,
            resent.map((e) => e.clientSeq!),
          )
        ).map((event) => [event.clientSeq, event]),
      );
      for (const event of resent) {
        const original = stored.get(event.clientSeq!);
        if (!original)
          throw new SessionError(
            'seq_behind_head',
            `seq ${event.clientSeq} was never received and the log has moved on to ${head.clientLastSeq}; it cannot be inserted`,
          );
        if (clientContent(original) !== clientContent(event))
          throw new SessionError('seq_conflict', `seq ${event.clientSeq} was already received with different content`, { seq: event.clientSeq });
      }
    }
    const { appended, head: next } = chain(grantId, fresh, head, head.now.toISOString(), ended);
    if (appended.length) {
      await this.repository.append(tx, appended, { grantId, ...next }, ended);
      // Late records after the seal: seal again, so every record stays anchored in the audit chain.
      if (ended) await this.auditSeal(tx, grantId, { ...next, count: head.count + appended.length }, true);
    }
    if (ended) this.knownHeads.delete(grantId);
    else afterCommit(tx, () => this.remember(grantId, next));
    return { records: appended, duplicates: resent.length, head: next };
  }

  /** Anchors the session head in the audit chain when the grant ends (in its transaction). */
  async seal(tx: EntityManager, grantId: string): Promise<void> {
    const head = await this.repository.seal(tx, grantId);
    if (head) await this.auditSeal(tx, grantId, head, false);
  }

  private async auditSeal(tx: EntityManager, grantId: string, head: Pick<SessionHead, 'lastSeq' | 'hash' | 'count' | 'gaps'>, resealed: boolean) {
    const grant = await this.grants.find(grantId, tx);
    await this.auditLog.append(tx, {
      actor: 'system:sessions',
      action: 'session.sealed',
      grant: grantId,
      target: grant?.target ?? null,
      data: { headHash: head.hash, count: head.count, lastSeq: head.lastSeq, gaps: head.gaps.map((g) => ({ from: g.from, to: g.to })), resealed },
    });
  }

  async read(caller: Principal, grantId: string, afterSeq: number, limit: number): Promise<SessionPage> {
    const head = await this.readableHead(caller, grantId);
    const events = await this.repository.page(grantId, afterSeq, limit);
    return { events, headHash: head.hash, gaps: head.gaps, next: events.length === limit ? events[events.length - 1].seq : null };
  }

  /** The session as text, one line per record (transcript.ts). */
  async transcript(caller: Principal, grantId: string): Promise<string> {
    const head = await this.readableHead(caller, grantId);
    const window = await this.grants.window(grantId);
    const lines = [`# breakglass session transcript of ${grantId}: ${head.count} events, head ${head.hash}; times are UTC (ISO 8601)`];
    if (!head.count) lines.push('# nothing recorded: access may have been used outside the recorder');
    for (const gap of head.gaps) lines.push(`# gap: seq ${gap.from}-${gap.to} never received`);
    for await (const event of this.repository.all(grantId)) lines.push(transcriptLine(event, window));
    return `${lines.join('\n')}\n`;
  }

  /** The whole log of a grant with its head (for evidence bundles; no caller check). */
  async everything(grantId: string): Promise<{ events: SessionEvent[]; head: SessionHead | undefined }> {
    const events: SessionEvent[] = [];
    for await (const event of this.repository.all(grantId)) events.push(event);
    return { events, head: await this.repository.head(grantId) };
  }

  /** Recomputes the chain, which must end at the stored head and pass through every seal in the audit log. */
  /** What the session changed: writing statements and Kubernetes writes, per object and operation (P2.7). */
  async changes(grantId: string): Promise<SessionChange[]> {
    // The head is read before the records: a cached list is never older than the head it is kept under.
    const head = await this.repository.head(grantId);
    const cached = this.changesAtHead.get(grantId);
    if (head && cached?.hash === head.hash) return cached.changes;
    const changes = await sessionChanges((await this.everything(grantId)).events);
    if (head) {
      this.changesAtHead.delete(grantId);
      this.changesAtHead.set(grantId, { hash: head.hash, changes });
      // The grants people are looking at now; the oldest looked-at goes first.
      if (this.changesAtHead.size > CHANGES_CACHED) this.changesAtHead.delete(this.changesAtHead.keys().next().value!);
    }
    return changes;
  }

  async verify(grantId: string): Promise<ChainVerdict> {
    const head = await this.repository.head(grantId);
    if (!head) throw new GrantError('grant_not_found', `No grant ${grantId}`);
    const verifier = new ChainVerifier<SessionEvent>(sessionHashedFields, false).throughAnchors(sealAnchors(await this.auditLog.forGrant(grantId)));
    for await (const event of this.repository.all(grantId)) verifier.add(event);
    return verifier.verdict({ seq: head.lastSeq, hash: head.hash });
  }

  private async readableHead(caller: Principal, grantId: string): Promise<SessionHead> {
    requireGrantAccess(caller, await this.grants.find(grantId), grantId, 'session.read');
    return (await this.repository.head(grantId))!;
  }
}

/**
 * Chains new records onto a head. A client record's seq jump is a gap (in the client's seqs); its
 * chain seq is its own unless the broker's records moved the chain past it. Every record is format 2.
 */
function chain(grantId: string, records: IncomingRecord[], head: KnownHead, receivedAt: string, late: boolean): { appended: NewRecord[]; head: KnownHead } {
  let { lastSeq, clientLastSeq, hash } = head;
  const gaps = [...head.gaps];
  // One object per record (the ingest hot path): built once, hashed, stored.
  const appended = records.map((record) => {
    const { clientSeq, detail } = record;
    if (clientSeq !== null) {
      if (clientSeq > clientLastSeq + 1) gaps.push({ from: clientLastSeq + 1, to: clientSeq - 1 });
      clientLastSeq = clientSeq;
    }
    const seq = clientSeq === null ? lastSeq + 1 : Math.max(clientSeq, lastSeq + 1);
    const detailCanonical = detail === null ? null : (record.detailCanonical ?? canonicalJson(detail));
    const stored: NewRecord = {
      grant: grantId,
      seq,
      type: record.type,
      command: record.command,
      cwd: record.cwd,
      user: record.user,
      host: record.host,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      exitCode: record.exitCode,
      receivedAt,
      prevHash: hash,
      hash: '',
      late,
      clientSeq,
      detailCanonical,
    };
    stored.hash = sessionEventHash(hash, stored, detailCanonical ?? 'null');
    lastSeq = seq;
    hash = stored.hash;
    return stored;
  });
  return { appended, head: { lastSeq, clientLastSeq, hash, gaps } };
}

/** The API's form of a record just appended (the repository reads stored ones the same way). */
function asApiRecord({ clientSeq: _clientSeq, detailCanonical, ...record }: NewRecord): SessionEvent {
  return { ...record, detail: detailCanonical === null ? null : (JSON.parse(detailCanonical) as RecordDetail) };
}

/** Times normalised to `Date#toISOString()` (hashed form); absent values null; one entry per seq. */
function normalise(batch: SessionEventBody[]): IncomingRecord[] {
  const bySeq = new Map<number, IncomingRecord>();
  for (const body of batch) {
    const event = toRecord(body);
    const twin = bySeq.get(body.seq);
    if (twin && clientContent(twin) !== clientContent(event))
      throw new SessionError('seq_conflict', `seq ${body.seq} appears twice in the batch with different content`, { seq: body.seq });
    bySeq.set(body.seq, event);
  }
  return [...bySeq.values()].sort((a, b) => a.clientSeq! - b.clientSeq!);
}

/** A client's event; clients never set `detail` (P2.1: the CLI's records carry `detail: null`). */
function toRecord(body: SessionEventBody): IncomingRecord {
  const time = (value: string | null | undefined) => (value ? new Date(value).toISOString() : null);
  return {
    clientSeq: body.seq,
    type: body.type,
    command: body.command ?? null,
    cwd: body.cwd ?? null,
    user: body.user ?? null,
    host: body.host ?? null,
    startedAt: time(body.startedAt),
    finishedAt: time(body.finishedAt),
    exitCode: body.exitCode ?? null,
    detail: null,
  };
}
