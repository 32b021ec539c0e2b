import 'reflect-metadata';
import { auditAppend } from './audit-append';
import { auditVerify } from './audit-verify';
import { coldStart } from './cold-start';
import { escalationLateness } from './escalation-lateness';
import { grantIssuance } from './grant-issuance';
import { k8sAuditIngest } from './k8s-audit-ingest';
import { pgProxy } from './pg-proxy';
import { revocation } from './revocation';
import { sessionIngest } from './session-ingest';
import { transparencyLog } from './transparency';

// `npm run bench -- <name> [--quick]`: each benchmark prints one JSON line and a small table.
const BENCHMARKS: Record<string, () => Promise<void>> = {
  'audit-append': auditAppend,
  'audit-verify': auditVerify,
  'cold-start': coldStart,
  'grant-issuance': grantIssuance,
  revocation,
  'escalation-lateness': escalationLateness,
  'session-ingest': sessionIngest,
  'pg-proxy': pgProxy,
  'k8s-audit-ingest': k8sAuditIngest,
  transparency: transparencyLog,
};

async function main() {
  const names = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && all[i - 1] !== '--instances');
  const chosen = names.length ? names : Object.keys(BENCHMARKS);
  for (const name of chosen) {
    const bench = BENCHMARKS[name];
    if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    console.log(`== ${name}${process.argv.includes('--quick') ? ' (quick)' : ''}`);
    await bench();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
