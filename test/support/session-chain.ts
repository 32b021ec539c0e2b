import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * Recomputes a session chain from the API's records alone, with node:crypto and an RFC 8785
 * serializer of its own (not the product's code): the hashed object is the record minus prevHash,
 * hash and late (docs/formats.md). Fails the test at the first record that does not match; answers
 * the head hash.
 */
export function recomputeSessionChain(records: readonly object[]): string {
  let prev = '0'.repeat(64);
  for (const record of records) {
    const { prevHash, hash, late: _late, ...hashed } = record as { prevHash: string; hash: string; late?: boolean };
    expect(prevHash).toBe(prev);
    prev = createHash('sha256')
      .update(`${prev}\n${canonicalize(hashed)}`)
      .digest('hex');
    expect(hash).toBe(prev);
  }
  return prev;
}
