import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureDatabase } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { startService, type RunningService } from '../src/service';
import { freePort } from '../test/support/ports';

export interface BenchContext {
  quick: boolean;
  service: RunningService;
  databaseUrl: string;
  dataDir: string;
  policyPath: string;
  close(): Promise<void>;
}

export { freePort };

/** A throwaway embedded PostgreSQL and the real service on it, with the given policy. */
export async function startBenchService(policyYaml: string, env: NodeJS.ProcessEnv = {}): Promise<BenchContext> {
  const root = mkdtempSync(path.join(tmpdir(), 'breakglass-bench-'));
  const postgres = new EmbeddedPostgres({ clusterDir: path.join(root, 'pg'), port: await freePort(), throwaway: true });
  const databaseUrl = await ensureDatabase(await postgres.start());
  const policy = path.join(root, 'policy.yaml');
  writeFileSync(policy, policyYaml);
  const service = await startService({
    PATH: process.env.PATH,
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    BREAKGLASS_DATA_DIR: root,
    BREAKGLASS_POLICY: policy,
    BREAKGLASS_RATE_LIMIT_GRANTS: '0',
    BREAKGLASS_RATE_LIMIT_WEBHOOKS: '0',
    ...env,
  });
  return {
    quick: process.argv.includes('--quick'),
    service,
    databaseUrl,
    dataDir: root,
    policyPath: policy,
    async close() {
      await service.stop();
      await postgres.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One JSON line (for scripts) and a small table (for people). */
export function report(name: string, figures: Record<string, number | string | boolean>, targets: Record<string, string> = {}): void {
  console.log(JSON.stringify({ bench: name, at: new Date().toISOString(), ...figures }));
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [key, value] of Object.entries(figures)) {
    const shown = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value);
    console.log(`  ${key.padEnd(width)}  ${shown.padStart(12)}${targets[key] ? `   target ${targets[key]}` : ''}`);
  }
}
