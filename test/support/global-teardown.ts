import { rmSync } from 'node:fs';
import type { EmbeddedPostgres } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const started = (globalThis as Record<string, unknown>).__breakglassTestServer as { server: EmbeddedPostgres; root: string } | undefined;
  if (!started) return;
  await started.server.stop();
  rmSync(started.root, { recursive: true, force: true });
}
