import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Creates `file` (0600) with `content` unless it exists. Processes racing on first use (two
 * instances, or the CLI and the service, sharing a data dir) must never read a half-written file:
 * the content goes to a private temporary file that is then hard-linked into place, which fails if
 * someone else won, atomically. The loser's content is discarded and everyone reads the winner's.
 */
export function createFileOnce(file: string, content: string): void {
  if (existsSync(file)) return;
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}
