import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IngestBodyPipe } from './ingest-body.pipe';
import { IngestBody, MAX_BATCH, MAX_COMMAND_CHARS } from './sessions.dto';

// The ingest body is checked by a compiled JSON schema (speed) while IngestBody documents it in the
// OpenAPI: the two must accept and refuse the same bodies. Every rule's edge, on both sides.

const event = (fields: Record<string, unknown> = {}) => ({ seq: 1, type: 'command', command: 'psql -c "select 1"', ...fields });
const body = (...events: unknown[]) => ({ events });

const CASES: [string, unknown, 'accept' | 'refuse'][] = [
  [
    'a full command event',
    body(
      event({ cwd: '/root', user: 'oncall-1', host: 'bastion-1', startedAt: '2026-12-02T07:00:00Z', finishedAt: '2026-12-02T07:00:01.5+01:00', exitCode: 0 }),
    ),
    'accept',
  ],
  ['only seq and type', body({ seq: 7, type: 'session_start' }), 'accept'],
  ['nulls for optional fields', body(event({ cwd: null, user: null, host: null, startedAt: null, finishedAt: null, exitCode: null })), 'accept'],
  ['the largest seq', body(event({ seq: 2_147_483_647 })), 'accept'],
  ['a seq beyond PostgreSQL integer', body(event({ seq: 2_147_483_648 })), 'refuse'],
  ['seq 0', body(event({ seq: 0 })), 'refuse'],
  ['a fractional seq', body(event({ seq: 1.5 })), 'refuse'],
  ['a seq as text', body(event({ seq: '1' })), 'refuse'],
  ['no seq', body({ type: 'note' }), 'refuse'],
  ['an unknown type', body(event({ type: 'keystroke' })), 'refuse'],
  ['a command of the maximum length', body(event({ command: 'x'.repeat(MAX_COMMAND_CHARS) })), 'accept'],
  ['a command one character too long', body(event({ command: 'x'.repeat(MAX_COMMAND_CHARS + 1) })), 'refuse'],
  ['a NUL in the command', body(event({ command: 'select\u00001' })), 'refuse'],
  ['a NUL in the host', body(event({ host: 'bastion\u0000' })), 'refuse'],
  ['a host of 257 characters', body(event({ host: 'h'.repeat(257) })), 'refuse'],
  ['a cwd of 4096 characters', body(event({ cwd: '/'.repeat(4096) })), 'accept'],
  ['a command that is a number', body(event({ command: 42 })), 'refuse'],
  ['a time without a zone', body(event({ startedAt: '2026-12-02T07:00:00' })), 'refuse'],
  ['a date only', body(event({ startedAt: '2026-12-02' })), 'refuse'],
  ['an impossible date', body(event({ finishedAt: '2026-13-45T07:00:00Z' })), 'refuse'],
  ['an exit code that is text', body(event({ exitCode: '0' })), 'refuse'],
  ['a negative exit code', body(event({ exitCode: -1 })), 'accept'],
  ['an unknown event field', body(event({ keystrokes: 'ls' })), 'refuse'],
  ['an unknown body field', { ...body(event()), extra: true }, 'refuse'],
  ['no events', body(), 'refuse'],
  ['events not an array', { events: event() }, 'refuse'],
  ['an event that is not an object', body('ls'), 'refuse'],
  ['the largest batch', body(...Array.from({ length: MAX_BATCH }, (_, i) => event({ seq: i + 1 }))), 'accept'],
  ['a batch one too large', body(...Array.from({ length: MAX_BATCH + 1 }, (_, i) => event({ seq: i + 1 }))), 'refuse'],
];

/** What the global ValidationPipe does with IngestBody (whitelist + forbidNonWhitelisted). */
function decoratorVerdict(value: unknown): 'accept' | 'refuse' {
  if (typeof value !== 'object' || value === null) return 'refuse';
  const errors = validateSync(plainToInstance(IngestBody, value), { whitelist: true, forbidNonWhitelisted: true });
  return errors.length ? 'refuse' : 'accept';
}

function schemaVerdict(value: unknown): 'accept' | 'refuse' {
  try {
    new IngestBodyPipe().transform(value);
    return 'accept';
  } catch {
    return 'refuse';
  }
}

describe(IngestBodyPipe.name, () => {
  it.each(CASES)('%s: the schema and the IngestBody DTO agree', (_name, value, expected) => {
    expect({ schema: schemaVerdict(value), dto: decoratorVerdict(value) }).toEqual({ schema: expected, dto: expected });
  });
});
