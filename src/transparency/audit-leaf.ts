import { hashedFieldsOf, type AuditEventFields } from '../audit/audit-event';
import { canonicalJson } from '../audit/chain';
import { leafHash, type Hash } from './merkle';

/** An audit event's Merkle leaf: SHA-256(0x00 || canon(hashed fields)), the object the chain hashes. */
export function auditEventLeaf(event: AuditEventFields): Hash {
  return leafHash(canonicalJson(hashedFieldsOf(event)));
}
