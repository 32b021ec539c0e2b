import { ChainVerifier, type ChainVerdict } from '../audit/chain';
import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import type { ApiClient } from './api-client';

/**
 * Verifies the audit chain independently of the server's own check: downloads every event
 * through `GET /v1/audit` and recomputes each hash locally with the DESIGN.md formula.
 */
export async function verifyAuditChainRemotely(client: ApiClient, pageSize = 1000): Promise<ChainVerdict> {
  const verifier = new ChainVerifier<AuditEvent>(hashedFieldsOf, true);
  let after: number | null = 0;
  while (after !== null) {
    const page: { events: AuditEvent[]; next: number | null } = await client.get(`v1/audit?limit=${pageSize}&after=${after}`);
    for (const event of page.events) verifier.add(event);
    after = page.next;
  }
  return verifier.verdict();
}
