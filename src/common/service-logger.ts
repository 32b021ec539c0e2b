import { inspect } from 'node:util';
import { ConsoleLogger, type LogLevel } from '@nestjs/common';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
/** What log collectors expect to read in `level`. */
const LEVEL_NAMES: Record<LogLevel, string> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };
/** Nest's own start-up chatter (a line per module and per route): useful when debugging, noise otherwise. */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * The service log: one JSON object per line, always the same shape — `time` (ISO 8601), `level`
 * (fatal, error, warn, info, debug, trace), `pid`, `context`, `msg` (text), then the fields of a
 * structured message (`logger.log({ msg: 'request', status: 200 })` gives `"msg":"request","status":200`).
 */
export class ServiceLogger extends ConsoleLogger {
  constructor(level: LogLevel) {
    super({ json: true, logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
  }

  protected override printMessages(
    messages: unknown[],
    context = '',
    logLevel: LogLevel = 'log',
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    let level = logLevel;
    if (level === 'log' && FRAMEWORK_CONTEXTS.has(context)) {
      if (!this.isLevelEnabled('debug')) return;
      level = 'debug';
    }
    const stream = writeStreamType === 'stderr' || level === 'error' || level === 'fatal' ? process.stderr : process.stdout;
    for (const message of messages) {
      const line = {
        time: new Date().toISOString(),
        level: LEVEL_NAMES[level],
        pid: process.pid,
        context,
        ...fieldsOf(message),
        ...(typeof errorStack === 'string' && errorStack ? { stack: errorStack } : {}),
      };
      stream.write(`${safeJson(line)}\n`);
    }
  }

  /** The stack is a field of the error's line, not lines of its own. */
  protected override printStackTrace(): void {}
}

function fieldsOf(message: unknown): Record<string, unknown> {
  if (message instanceof Error) return { msg: message.message, stack: message.stack };
  if (message && typeof message === 'object' && !Array.isArray(message)) {
    const { msg, ...rest } = message as Record<string, unknown>;
    return { msg: typeof msg === 'string' ? msg : '', ...rest };
  }
  return { msg: typeof message === 'string' ? message : inspect(message) };
}

function safeJson(value: Record<string, unknown>): string {
  try {
    return JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field));
  } catch {
    // A field that JSON cannot hold (a cycle): the line keeps its shape, the fields as text.
    const { time, level, pid, context, msg } = value;
    return JSON.stringify({ time, level, pid, context, msg, fields: inspect(value, { depth: 4 }) });
  }
}
