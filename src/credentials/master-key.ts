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
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string, fromEnvironment?: string): MasterKey {
    if (fromEnvironment) return new MasterKey(Buffer.from(fromEnvironment, 'base64'));
    const file = path.join(dataDir, KEY_FILE);
    createFileOnce(file, randomBytes(32).toString('base64'));
    return new MasterKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
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
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
  }
}
