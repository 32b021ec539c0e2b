import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { hashedFieldsOf, type AuditEvent } from '../audit/audit-event';
import { canonicalJson, ChainVerifier, chainHash, type ChainVerdict } from '../audit/chain';
import { sealAnchors, sessionHashedFields, type SessionEvent } from '../sessions/session-event';
import { auditEventLeaf } from '../transparency/audit-leaf';
import { verifyInclusion } from '../transparency/merkle';
import { verifiedCheckpoint } from '../transparency/signed-note';

export interface BundleVerdict {
  valid: boolean;
  signature: 'valid' | 'invalid';
  kid: string | null;
  payloadMatchesBundle: boolean;
  /**
   * The key the bundle says signed it (`bundle.signingKey`) against the keys the verifier trusts:
   * `trusted` (the same key is in them), `untrusted` (its kid is not: fetch the key history),
   * `mismatch` (the trusted key of that kid is another key), `absent` (a bundle from before keys were embedded).
   */
  signingKey: 'trusted' | 'untrusted' | 'mismatch' | 'absent';
  session: ChainVerdict;
  audit: { valid: boolean; count: number; firstInvalidSeq?: number };
  /**
   * The bundle's checkpoint against the log key, and each audit event's inclusion proof against its
   * root: `absent` when the bundle has no checkpoint (made before the first one), `unchecked` when no
   * log key was given.
   */
  checkpoint: {
    status: 'valid' | 'invalid' | 'absent' | 'unchecked';
    treeSize: number | null;
    proven: number;
    /** Events newer than the checkpoint (no proof yet: export again after the next checkpoint). */
    notYetCheckpointed: number;
    firstUnprovenSeq?: number;
  };
}

type BundleAuditEvent = AuditEvent & { inclusionProof?: { leafIndex: number; treeSize: number; proof: string[] } | null };

function checkInclusion(note: unknown, events: BundleAuditEvent[], logKey: string | undefined): BundleVerdict['checkpoint'] {
  const notYetCheckpointed = events.filter((event) => !event.inclusionProof).length;
  if (typeof note !== 'string') return { status: 'absent', treeSize: null, proven: 0, notYetCheckpointed };
  if (!logKey) return { status: 'unchecked', treeSize: null, proven: 0, notYetCheckpointed };
  const checkpoint = verifiedCheckpoint(note, logKey);
  if (!checkpoint) return { status: 'invalid', treeSize: null, proven: 0, notYetCheckpointed };
  let proven = 0;
  for (const event of events) {
    const claim = event.inclusionProof;
    if (!claim) continue;
    const leaf = auditEventLeaf(event);
    const holds =
      claim.treeSize === checkpoint.treeSize &&
      claim.leafIndex === event.seq - 1 &&
      verifyInclusion(
        claim.leafIndex,
        claim.treeSize,
        leaf,
        claim.proof.map((hash) => Buffer.from(hash, 'hex')),
        checkpoint.rootHash,
      );
    if (!holds) return { status: 'invalid', treeSize: checkpoint.treeSize, proven, notYetCheckpointed, firstUnprovenSeq: event.seq };
    proven++;
  }
  return { status: 'valid', treeSize: checkpoint.treeSize, proven, notYetCheckpointed };
}

/**
 * Offline verification of an evidence file (`{ bundle, jws }`) against a JWKS: the signature, that
 * the signed payload is canon(bundle), the session chain, every audit event's own hash, and (with the
 * log key) the checkpoint's signature and each event's inclusion proof in it.
 */
export async function verifyEvidence(file: { bundle: Record<string, unknown>; jws: string }, jwks: JSONWebKeySet, logKey?: string): Promise<BundleVerdict> {
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
  const signingKey = embeddedKeyStatus(file.bundle.signingKey, jwks);
  const session = (file.bundle.session ?? {}) as { events?: SessionEvent[]; headHash?: string };
  const auditEvents = ((file.bundle.audit ?? {}) as { events?: BundleAuditEvent[] }).events ?? [];
  // The seals in the bundle's own audit events: a session tail cut from the bundle does not pass.
  const sessionVerifier = new ChainVerifier<SessionEvent>(sessionHashedFields, false).throughAnchors(sealAnchors(auditEvents));
  for (const event of session.events ?? []) sessionVerifier.add(event);
  const headHash = session.headHash ?? undefined;
  const last = session.events?.at(-1);
  const sessionVerdict = sessionVerifier.verdict(last && headHash ? { seq: last.seq, hash: headHash } : undefined);

  const badAudit = auditEvents.find((event) => event.hash !== chainHash(event.prevHash, hashedFieldsOf(event)));
  const audit = { valid: !badAudit, count: auditEvents.length, ...(badAudit ? { firstInvalidSeq: badAudit.seq } : {}) };
  const checkpoint = checkInclusion(file.bundle.checkpoint, auditEvents, logKey);
  return {
    valid:
      signature === 'valid' &&
      payloadMatchesBundle &&
      (signingKey === 'trusted' || signingKey === 'absent') &&
      sessionVerdict.valid &&
      audit.valid &&
      checkpoint.status !== 'invalid',
    signature,
    kid,
    payloadMatchesBundle,
    signingKey,
    session: sessionVerdict,
    audit,
    checkpoint,
  };
}

/** The embedded public key, checked against the trusted set by kid and key material (never trusted on its own). */
function embeddedKeyStatus(embedded: unknown, trusted: JSONWebKeySet): BundleVerdict['signingKey'] {
  if (!embedded || typeof embedded !== 'object') return 'absent';
  const key = embedded as { kid?: string; kty?: string; crv?: string; x?: string };
  const known = trusted.keys.find((candidate) => candidate.kid === key.kid);
  if (!known) return 'untrusted';
  return known.kty === key.kty && known.crv === key.crv && known.x === key.x ? 'trusted' : 'mismatch';
}
