import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import { ChainVerifier, type ChainAnchor, type ChainVerdict } from '../audit/chain';
import { auditEventLeaf } from '../transparency/audit-leaf';
import { appendLeaves, rootOfPending, verifyConsistency } from '../transparency/merkle';
import { verifiedCheckpoint } from '../transparency/signed-note';
import type { ApiClient } from './api-client';
import type { ConsistencyProof } from './api-types';

/**
 * Verifies the audit chain independently of the server's own check: downloads every event
 * through `GET /v1/audit` and recomputes each hash locally with the formula of docs/formats.md.
 * `alsoEach` sees every event too (the Merkle check streams the same download).
 */
export async function verifyAuditChainRemotely(
  client: ApiClient,
  expectedHeads: ChainAnchor[] = [],
  pageSize = 1000,
  alsoEach: (event: AuditEvent) => void = () => undefined,
): Promise<ChainVerdict> {
  // Heads seen earlier (an export's trailer, a SIEM's last event): a deleted tail or a rewritten
  // history cannot pass through them, even with every later hash recomputed.
  const verifier = new ChainVerifier<AuditEvent>(hashedFieldsOf, true).throughAnchors(expectedHeads);
  let after: number | null = 0;
  while (after !== null) {
    const page: { events: AuditEvent[]; next: number | null } = await client.get(`v1/audit?limit=${pageSize}&after=${after}`);
    for (const event of page.events) {
      verifier.add(event);
      alsoEach(event);
    }
    after = page.next;
  }
  return verifier.verdict();
}

export interface CheckpointVerdict {
  valid: boolean;
  /** What is wrong, for a person: null when valid. */
  problem: string | null;
  chain: ChainVerdict;
  saved: { treeSize: number; rootHash: string; localRootHash: string | null } | null;
  latest: { treeSize: number; rootHash: string; localRootHash: string | null; consistentWithSaved: boolean } | null;
}

/**
 * `breakglass audit verify --checkpoint FILE`: the log today extends a checkpoint saved earlier. The
 * saved note must verify with the log key; the first treeSize events downloaded now must hash to its
 * root (recomputed here, RFC 9162); the broker's latest checkpoint must too, and the broker's
 * consistency proof between the two must hold. A history rewritten with every chain hash recomputed
 * passes the chain check and fails this one.
 */
export async function verifyAgainstCheckpoint(client: ApiClient, savedNote: string, vkey?: string): Promise<CheckpointVerdict> {
  const logKey = (vkey ?? (await client.getText('v1/audit/log-key'))).trim();
  const saved = verifiedCheckpoint(savedNote, logKey);
  const latest = verifiedCheckpoint(await client.getText('v1/audit/checkpoint'), logKey);
  const pending = new Map<number, Buffer>();
  const roots = new Map<number, Buffer>();
  let size = 0;
  const chain = await verifyAuditChainRemotely(client, [], 1000, (event) => {
    appendLeaves(size, pending, [auditEventLeaf(event)]);
    size++;
    if (size === saved?.treeSize || size === latest?.treeSize) roots.set(size, rootOfPending(pending));
  });
  const verdict = (problem: string | null, consistentWithSaved = false): CheckpointVerdict => ({
    valid: problem === null,
    problem,
    chain,
    saved: saved && { treeSize: saved.treeSize, rootHash: saved.rootHash.toString('hex'), localRootHash: roots.get(saved.treeSize)?.toString('hex') ?? null },
    latest: latest && {
      treeSize: latest.treeSize,
      rootHash: latest.rootHash.toString('hex'),
      localRootHash: roots.get(latest.treeSize)?.toString('hex') ?? null,
      consistentWithSaved,
    },
  });
  if (!saved) return verdict('the saved checkpoint is not a checkpoint signed by the log key');
  if (!latest) return verdict("the broker's latest checkpoint is not signed by the log key");
  if (!chain.valid) return verdict(`the audit chain is broken at seq ${chain.firstInvalidSeq}`);
  if (size < saved.treeSize) return verdict(`the log has ${size} events, fewer than the ${saved.treeSize} of the saved checkpoint: events were removed`);
  if (!roots.get(saved.treeSize)!.equals(saved.rootHash)) {
    return verdict(`the first ${saved.treeSize} events no longer hash to the saved checkpoint's root: history was rewritten`);
  }
  if (latest.treeSize < saved.treeSize) return verdict(`the broker's latest checkpoint (${latest.treeSize} events) is older than the saved one`);
  const { proof } = await client.get<ConsistencyProof>(`v1/audit/proofs/consistency?from=${saved.treeSize}&to=${latest.treeSize}`);
  const consistent = verifyConsistency(
    saved.treeSize,
    latest.treeSize,
    saved.rootHash,
    latest.rootHash,
    proof.map((hash) => Buffer.from(hash, 'hex')),
  );
  if (!consistent) return verdict(`the broker's latest checkpoint (${latest.treeSize} events) is not consistent with the saved one`);
  if (!roots.get(latest.treeSize)?.equals(latest.rootHash)) return verdict(`the events do not hash to the broker's latest checkpoint root`, true);
  return verdict(null, true);
}

/** `SEQ:HASH`, as `breakglass audit verify --expect-head` takes it. */
export function parseExpectedHead(text: string): ChainAnchor {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new Error(`--expect-head must be SEQ:HASH (a seq and its 64 hex hash, e.g. from an export's chain-head line), not "${text}"`);
  return { seq: Number(match[1]), hash: match[2] };
}
