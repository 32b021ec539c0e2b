import { parentPort, workerData } from 'node:worker_threads';
import { Client } from 'pg';
import { verifyAuditRange, type SeqRange } from './range-verify';

// A verification worker thread: its own connection, ranges in, range verdicts out. It loads only
// pg and the hashing code, not Nest or TypeORM, so it starts in tens of milliseconds.

const { databaseUrl } = workerData as { databaseUrl: string };
const client = new Client({ connectionString: databaseUrl, application_name: 'breakglass-verify' });
const connected = client.connect();
const query = async (text: string, values: unknown[]) => (await client.query({ text, values, rowMode: 'array' })).rows;

parentPort!.on('message', async (range: SeqRange | 'close') => {
  try {
    await connected;
    if (range === 'close') {
      await client.end();
      parentPort!.close();
      return;
    }
    parentPort!.postMessage({ verdict: await verifyAuditRange(query, range) });
  } catch (error) {
    parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
