import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import { ChainVerifier, type ChainAnchor, type ChainVerdict } from '../audit/chain';
import type { ApiClient } from './api-client';

/**
 * Verifies the audit chain independently of the server's own check: downloads every event
 * through `GET /v1/audit` and recomputes each hash locally with the formula of docs/formats.md.
 */
export async function verifyAuditChainRemotely(client: ApiClient, expectedHeads: ChainAnchor[] = [], pageSize = 1000): Promise<ChainVerdict> {
  // Heads seen earlier (an export's trailer, a SIEM's last event): a deleted tail or a rewritten
  // history cannot pass through them, even with every later hash recomputed.
  const verifier = new ChainVerifier<AuditEvent>(hashedFieldsOf, true).throughAnchors(expectedHeads);
  let after: number | null = 0;
  while (after !== null) {
    const page: { events: AuditEvent[]; next: number | null } = await client.get(`v1/audit?limit=${pageSize}&after=${after}`);
    for (const event of page.events) verifier.add(event);
    after = page.next;
  }
  return verifier.verdict();
}

/** `SEQ:HASH`, as `breakglass audit verify --expect-head` takes it. */
export function parseExpectedHead(text: string): ChainAnchor {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new Error(`--expect-head must be SEQ:HASH (a seq and its 64 hex hash, e.g. from an export's chain-head line), not "${text}"`);
  return { seq: Number(match[1]), hash: match[2] };
}
