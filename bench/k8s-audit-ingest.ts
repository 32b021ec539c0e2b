import { DevIssuer } from '../src/auth/dev-issuer';
import { report, startBenchService } from './harness';
import { ingestFigures, INGEST_TARGETS, runLoad } from './load-process';

// P2.3 target: >= 20,000 Kubernetes audit events/s ingested, EventLists of 100-500 events from
// concurrent senders (kube-apiserver replicas), with the ratio to a raw multi-row INSERT of the same
// session rows in the same run (as for session ingest).

const CLUSTER = 'prod';
const POLICY = `
targets:
  - { name: prod-admin, environment: production, credential: { type: jwt, audience: kubernetes }, maxDuration: 4h, kubernetes: { cluster: ${CLUSTER}, server: 'https://k8s.example.com:6443' } }
`;
const IDENTITIES = 20;
const SENDERS = 8;
const AUDIT_TOKEN = 'bench-kube-audit-token-0123456789';

export async function k8sAuditIngest(): Promise<void> {
  const bench = await startBenchService(POLICY, { DATABASE_POOL_SIZE: '20', KUBERNETES_AUDIT_TOKEN: AUDIT_TOKEN });
  const listsPerSender = bench.quick ? 10 : 40;
  try {
    const issuer = await DevIssuer.open(bench.dataDir);
    const grants: { id: string; requester: string }[] = [];
    for (let i = 0; i < IDENTITIES; i++) {
      const requester = `oncall-${i}`;
      const token = await issuer.mint({ subject: requester, roles: ['engineer'] });
      const response = await fetch(`${bench.service.url}/v1/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ target: 'prod-admin', incident: 'INC-1', reason: 'benchmarking audit ingest', durationSeconds: 3600 }),
      });
      grants.push({ id: ((await response.json()) as { id: string }).id, requester });
    }
    // The senders run in their own process, as kube-apiserver does; so does the raw-INSERT baseline.
    // `mixed`: every list holds every identity (all senders contend for all 20 session chains);
    // `partitioned`: each sender's lists hold identities of its own (as session-ingest's sessions).
    const figures: Record<string, number> = { senders: SENDERS, identities: IDENTITIES };
    for (const layout of ['mixed', 'partitioned'] as const) {
      const { result, brokerLoopUtilisation } = await runLoad<{ ingestSeconds: number; rawSeconds: number; failures: number; events: number; lists: number }>(
        'k8s-audit-ingest-load.js',
        {
          url: `${bench.service.url}/v1/webhooks/kubernetes/audit?cluster=${CLUSTER}`,
          token: AUDIT_TOKEN,
          databaseUrl: bench.databaseUrl,
          grants,
          senders: SENDERS,
          listsPerSender,
          partitioned: layout === 'partitioned',
        },
      );
      if (result.failures) throw new Error(`${result.failures} EventLists were refused: the figures would be meaningless`);
      figures.eventLists = result.lists;
      figures.events = result.events;
      for (const [key, value] of Object.entries(ingestFigures(result.events, result, brokerLoopUtilisation))) figures[`${layout}.${key}`] = value;
    }
    figures.storedIncludingWarmup = (await bench.service.dataSource.query(`SELECT count(*)::int AS stored FROM session_events WHERE type = 'k8s'`))[0].stored;
    report(
      'k8s-audit-ingest',
      figures,
      Object.fromEntries(
        Object.entries(INGEST_TARGETS).flatMap(([key, target]) => [
          [`mixed.${key}`, target],
          [`partitioned.${key}`, target],
        ]),
      ),
    );
  } finally {
    await bench.close();
  }
}
