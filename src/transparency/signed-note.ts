import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

// C2SP signed notes (c2sp.org/signed-note) carrying C2SP tlog-checkpoints (c2sp.org/tlog-checkpoint),
// Ed25519 only: the body `<origin>\n<tree size>\n<base64 root>\n`, a blank line, then one line per
// signature `— <key name> <base64(4-byte key id || signature)>`. Key id = the first 4 bytes of
// SHA-256(<key name> || 0x0A || 0x01 || public key); 0x01 is the Ed25519 signature type. The
// verifier key is `<name>+<hex key id>+<base64(0x01 || public key)>`. Shared by the broker and the CLI.

const ED25519_TYPE = 0x01;
const SIGNATURE_LINE = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/;

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
}

export interface NoteSignature {
  keyName: string;
  keyId: Buffer;
  signature: Buffer;
}

export function keyId(keyName: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(keyName, 'utf8'), Buffer.from([0x0a, ED25519_TYPE]), publicKey]))
    .digest()
    .subarray(0, 4);
}

export function verifierKey(keyName: string, publicKey: Buffer): string {
  return `${keyName}+${keyId(keyName, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_TYPE]), publicKey]).toString('base64')}`;
}

export function checkpointBody({ origin, treeSize, rootHash }: Checkpoint): string {
  return `${origin}\n${treeSize}\n${rootHash.toString('base64')}\n`;
}

/** The signed note: the body, a blank line, the signature line (`sign` signs the body's bytes). */
export function signedNote(body: string, keyName: string, publicKey: Buffer, sign: (message: Buffer) => Buffer): string {
  const signature = sign(Buffer.from(body, 'utf8'));
  return `${body}\n\u2014 ${keyName} ${Buffer.concat([keyId(keyName, publicKey), signature]).toString('base64')}\n`;
}

/** Splits a note into its body and signatures; null when it is not a well-formed signed note. */
export function parseNote(note: string): { body: string; signatures: NoteSignature[] } | null {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return null;
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const match = SIGNATURE_LINE.exec(line);
    if (!match) return null;
    const bytes = Buffer.from(match[2], 'base64');
    if (bytes.length < 5) return null;
    signatures.push({ keyName: match[1], keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) });
  }
  return signatures.length ? { body, signatures } : null;
}

/** The checkpoint in a note body; null when the body is not `<origin>\n<size>\n<base64 root>\n` (extension lines allowed). */
export function parseCheckpointBody(body: string): Checkpoint | null {
  const [origin, size, root] = body.split('\n');
  if (!origin || !/^(0|[1-9][0-9]{0,15})$/.test(size ?? '') || !/^[A-Za-z0-9+/]{43}=$/.test(root ?? '')) return null;
  return { origin, treeSize: Number(size), rootHash: Buffer.from(root, 'base64') };
}

/** Parses a verifier key; null when it is not an Ed25519 vkey whose id matches its name and key. */
export function parseVerifierKey(vkey: string): { keyName: string; keyId: Buffer; publicKey: KeyObject } | null {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!match) return null;
  const key = Buffer.from(match[3], 'base64');
  if (key.length !== 33 || key[0] !== ED25519_TYPE) return null;
  const raw = key.subarray(1);
  if (!keyId(match[1], raw).equals(Buffer.from(match[2], 'hex'))) return null;
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { keyName: match[1], keyId: Buffer.from(match[2], 'hex'), publicKey };
}

/** The checkpoint of a note signed by `vkey`; null when no signature of that key verifies or the body is no checkpoint. */
export function verifiedCheckpoint(note: string, vkey: string): Checkpoint | null {
  const key = parseVerifierKey(vkey);
  const parsed = parseNote(note);
  if (!key || !parsed) return null;
  const signed = parsed.signatures.some(
    (s) =>
      s.keyName === key.keyName &&
      s.keyId.equals(key.keyId) &&
      s.signature.length === 64 &&
      verify(null, Buffer.from(parsed.body, 'utf8'), key.publicKey, s.signature),
  );
  return signed ? parseCheckpointBody(parsed.body) : null;
}
