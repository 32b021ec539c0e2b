import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

// The SQL-only yardstick of bench/grant-issuance: the statements of one real grant transaction are
// captured from the broker's own pg client, then replayed with `pg` directly by the same number of
// concurrent clients, each replay committing a new grant. No HTTP, no Nest, no TypeORM, no JWT
// signing: what is left is what PostgreSQL and the protocol cost.

interface CapturedStatement {
  text: string;
  values: unknown[];
  rows: Record<string, unknown>[];
}

type QueryFn = (this: Client, ...args: unknown[]) => unknown;

/**
 * Runs `issue` (one POST /v1/grants) while recording the statements of the transaction that
 * inserts the grant, on whichever pooled client runs it.
 */
export async function captureGrantTransaction(issue: () => Promise<void>): Promise<CapturedStatement[]> {
  const original = Client.prototype.query as unknown as QueryFn;
  const open = new Map<Client, CapturedStatement[]>();
  let captured: CapturedStatement[] | undefined;
  (Client.prototype as unknown as { query: QueryFn }).query = function (this: Client, ...args: unknown[]) {
    const [config, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
    const text = typeof config === 'string' ? config : config.text;
    const result = original.apply(this, args);
    if (/^(START TRANSACTION|BEGIN)/i.test(text)) open.set(this, []);
    else if (/^COMMIT/i.test(text)) {
      const statements = open.get(this);
      if (statements?.some((s) => /^INSERT INTO grants\b/.test(s.text))) captured ??= statements;
      open.delete(this);
    } else {
      const statements = open.get(this);
      if (statements && result instanceof Promise) {
        const statement: CapturedStatement = {
          text,
          values: (Array.isArray(values) ? values : typeof config === 'object' ? config.values : undefined) ?? [],
          rows: [],
        };
        statements.push(statement);
        void result.then(
          (answer: { rows?: Record<string, unknown>[] }) => (statement.rows = answer?.rows ?? []),
          () => undefined,
        );
      }
    }
    return result;
  };
  try {
    await issue();
  } finally {
    (Client.prototype as unknown as { query: QueryFn }).query = original;
  }
  if (!captured) throw new Error('no grant transaction was captured');
  return captured;
}

export interface ReplayResult {
  transactions: number;
  seconds: number;
  latenciesMs: number[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Replays the captured transaction on `concurrency` connections for `durationMs`. Each replay gets
 * a new grant id and new UUIDs; ids the database returned (clock ids) are mapped to the new ones.
 * The audit entries go in unsequenced, as the broker's do (the running broker's integrator sequences them).
 */
export async function replayGrantTransaction(
  databaseUrl: string,
  statements: CapturedStatement[],
  concurrency: number,
  durationMs: number,
): Promise<ReplayResult> {
  const grantId = statements.find((s) => /^INSERT INTO grants\b/.test(s.text))!.values[0] as string;
  let replayCounter = 0;
  const latenciesMs: number[] = [];
  const start = Date.now();
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const client = new Client({ connectionString: databaseUrl });
      client.on('error', () => undefined); // a failed replay rejects its query; this is the idle-connection event
      await client.connect();
      return client;
    }),
  );
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() - start < durationMs) {
        const began = process.hrtime.bigint();
        const mapping = new Map<string, string>([[grantId, `BG-2099-${String(++replayCounter).padStart(6, '0')}`]]);
        const substitute = (value: unknown): unknown => {
          if (typeof value === 'string') {
            if (UUID.test(value) && !mapping.has(value)) mapping.set(value, randomUUID());
            let replaced = value;
            for (const [from, to] of mapping) replaced = replaced.split(from).join(to);
            return replaced;
          }
          return Array.isArray(value) ? value.map(substitute) : value;
        };
        await client.query('BEGIN');
        for (const statement of statements) {
          const { rows } = await client.query(statement.text, statement.values.map(substitute));
          statement.rows.forEach((row, i) => typeof row.id === 'string' && rows[i] && mapping.set(row.id, String(rows[i].id)));
        }
        await client.query('COMMIT');
        latenciesMs.push(Number(process.hrtime.bigint() - began) / 1e6);
      }
    }),
  );
  await Promise.all(clients.map((client) => client.end()));
  return { transactions: latenciesMs.length, seconds: (Date.now() - start) / 1000, latenciesMs };
}
