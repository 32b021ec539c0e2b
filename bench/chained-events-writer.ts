import { Client } from 'pg';
import { writeChainedAuditEvents } from './harness';
import { servePlan } from './load-process';

// Writes a benchmark's chained audit events from a process of its own: the garbage of building a
// million rows (hundreds of MB, collected only at some later major GC) then never sits in the
// broker's heap, which a live log's broker would not carry either. All in one transaction, so the
// tree's follower sees the events at once: its catch-up is timed from that commit. Answers the last
// seq and the commit's time.

servePlan(async ({ databaseUrl, total }: { databaseUrl: string; total: number }) => {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const db = { query: async (sql: string, parameters?: unknown[]) => (await client.query(sql, parameters)).rows };
    const { lastSeq, committedAt } = await writeChainedAuditEvents(db, total, { oneTransaction: true });
    return { lastSeq, committedAt };
  } finally {
    await client.end();
  }
});
