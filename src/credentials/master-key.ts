import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createFileOnce } from '../common/create-file-once';

const KEY_FILE = 'master.key';

/**
 * The key that seals signing keys at rest (AES-256-GCM). From BREAKGLASS_KEY when set (production:
 * keep it in a secret manager), else `master.key` in the data dir, created on first use (0600).
 */
export class MasterKey {
  private constructor(
    private readonly key: Buffer,
    /** Where the key came from, for the mismatch message. */
    private readonly source: string,
  ) {}

  static open(dataDir: string, fromEnvironment?: string): MasterKey {
    if (fromEnvironment) return new MasterKey(Buffer.from(fromEnvironment, 'base64'), 'BREAKGLASS_KEY');
    const file = path.join(dataDir, KEY_FILE);
    createFileOnce(file, randomBytes(32).toString('base64'));
    return new MasterKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), file);
  }

  /** `base64(iv | tag | ciphertext)`; `context` is authenticated, so a sealed value cannot be moved. */
  seal(plaintext: Buffer, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
  }

  unseal(sealed: string, context: string): Buffer {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12)).setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    } catch {
      // GCM says only "unable to authenticate data": almost always another instance's key.
      throw new MasterKeyMismatch(this.source);
    }
  }
}

/** A sealed value (a signing key, a proxy login's upstream secret) that this instance's master key cannot open. */
export class MasterKeyMismatch extends Error {
  constructor(source: string) {
    super(
      `The database holds keys sealed with a different master key than this instance's (${source === 'BREAKGLASS_KEY' ? 'from BREAKGLASS_KEY' : `from ${source}, as BREAKGLASS_KEY is not set`}). ` +
        'Every instance that shares a database must run with the same BREAKGLASS_KEY (32 random bytes, base64): set it on each one, ' +
        'from the same secret (docs/configuration.md, "Running several instances").',
    );
    this.name = 'MasterKeyMismatch';
  }
}
