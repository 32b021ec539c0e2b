import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import { canonicalJson, ChainVerifier, chainHash, type ChainVerdict } from '../audit/chain';
import { sealAnchors, sessionHashedFields, type SessionEvent } from '../sessions/session-event';

export interface BundleVerdict {
  valid: boolean;
  signature: 'valid' | 'invalid';
  kid: string | null;
  payloadMatchesBundle: boolean;
  session: ChainVerdict;
  audit: { valid: boolean; count: number; firstInvalidSeq?: number };
}

/**
 * Offline verification of an evidence file (`{ bundle, jws }`) against a JWKS: the signature, that
 * the signed payload is canon(bundle), the session chain, and every audit event's own hash.
 */
export async function verifyEvidence(file: { bundle: Record<string, unknown>; jws: string }, jwks: JSONWebKeySet): Promise<BundleVerdict> {
  let signature: BundleVerdict['signature'] = 'invalid';
  let kid: string | null = null;
  let payloadMatchesBundle = false;
  try {
    const { payload, protectedHeader } = await compactVerify(file.jws, createLocalJWKSet(jwks));
    signature = 'valid';
    kid = protectedHeader.kid ?? null;
    payloadMatchesBundle = new TextDecoder().decode(payload) === canonicalJson(file.bundle);
  } catch {
    // signature stays invalid
  }
  const session = (file.bundle.session ?? {}) as { events?: SessionEvent[]; headHash?: string };
  const auditEvents = ((file.bundle.audit ?? {}) as { events?: AuditEvent[] }).events ?? [];
  // The seals in the bundle's own audit events: a session tail cut from the bundle does not pass.
  const sessionVerifier = new ChainVerifier<SessionEvent>(sessionHashedFields, false).throughAnchors(sealAnchors(auditEvents));
  for (const event of session.events ?? []) sessionVerifier.add(event);
  const headHash = session.headHash ?? undefined;
  const last = session.events?.at(-1);
  const sessionVerdict = sessionVerifier.verdict(last && headHash ? { seq: last.seq, hash: headHash } : undefined);

  const badAudit = auditEvents.find((event) => event.hash !== chainHash(event.prevHash, hashedFieldsOf(event)));
  const audit = { valid: !badAudit, count: auditEvents.length, ...(badAudit ? { firstInvalidSeq: badAudit.seq } : {}) };
  return {
    valid: signature === 'valid' && payloadMatchesBundle && sessionVerdict.valid && audit.valid,
    signature,
    kid,
    payloadMatchesBundle,
    session: sessionVerdict,
    audit,
  };
}
