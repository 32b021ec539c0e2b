import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Ajv, { type ValidateFunction } from 'ajv';

// Every JSON answer a test service gives is checked against the OpenAPI document it serves: a 2xx
// against the operation's response schema, anything else against the error shape. Objects may not
// carry fields the document does not declare (additionalProperties: false is added wherever the
// document lists properties), so a field added to a view without its DTO, or renamed in one place
// only, fails the suite that produced it. This sits on the HTTP server, outside Nest, so the
// product has no test hook.

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  pattern: RegExp;
  responses: Record<string, Schema | undefined>;
}

export interface ContractViolation {
  request: string;
  status: number;
  problems: string[];
  body: unknown;
}

/** OpenAPI 3.0 schema → JSON Schema Ajv checks strictly: nullable as a null alternative, no undeclared keys. */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const { nullable, example, ...rest } = schema as Schema;
  void example;
  const converted: Schema = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [key, key === 'properties' ? mapValues(value as Schema) : strictSchema(value)]),
  );
  if (converted.properties && converted.additionalProperties === undefined) converted.additionalProperties = false;
  if (converted.$ref) converted.$ref = String(converted.$ref).replace('#/components/schemas/', 'contract#/components/schemas/');
  return nullable ? { anyOf: [{ type: 'null' }, converted] } : converted;
}

function mapValues(properties: Schema): Schema {
  return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, strictSchema(value)]));
}

export class ResponseContract {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<Schema, ValidateFunction>();
  readonly violations: ContractViolation[] = [];
  /** Answers checked, so a test can show the check ran. */
  checked = 0;

  constructor(document: {
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
    components: unknown;
  }) {
    this.ajv.addSchema({ $id: 'contract', components: strictSchema(document.components) });
    for (const [path, methods] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`);
      for (const [method, operation] of Object.entries(methods)) {
        const responses = Object.fromEntries(
          Object.entries(operation.responses).map(([status, response]) => [status, response.content?.['application/json']?.schema]),
        );
        this.operations.push({ method: method.toUpperCase(), pattern, responses });
      }
    }
  }

  /** Checks one answer; the request is unknown to the document (health, webhooks) → not checked. */
  check(method: string, url: string, status: number, body: unknown): void {
    const path = url.split('?')[0];
    const operation = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!operation) return;
    const schema = status < 300 ? (operation.responses[String(status)] ?? operation.responses.default) : operation.responses.default;
    if (!schema) return void this.violations.push({ request: `${method} ${url}`, status, problems: [`status ${status} is not declared`], body });
    let validate = this.validators.get(schema);
    if (!validate) this.validators.set(schema, (validate = this.ajv.compile(strictSchema(schema) as Schema)));
    this.checked++;
    if (!validate(body)) {
      const problems = (validate.errors ?? []).map(
        (error) => `${error.instancePath || '/'} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`,
      );
      this.violations.push({ request: `${method} ${url}`, status, problems, body });
    }
  }

  /** Watches every JSON answer of `server` from now on. */
  watch(server: Server): void {
    const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.capture(req, res);
      for (const handler of handlers) handler(req, res);
    });
  }

  private capture(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    const isJson = () => /^application\/json/.test(String(res.getHeader('content-type') ?? ''));
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const keep = (chunk: unknown) => {
      if (chunk && typeof chunk !== 'function' && isJson()) chunks.push(Buffer.from(chunk as string));
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => (keep(chunk), write(chunk, ...rest))) as typeof res.write;
    res.end = ((chunk: unknown, ...rest: unknown[]) => (keep(chunk), end(chunk, ...rest))) as typeof res.end;
    res.on('finish', () => {
      if (!chunks.length || req.method === 'HEAD') return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return void this.violations.push({ request: `${req.method} ${req.url}`, status: res.statusCode, problems: ['not JSON'], body: null });
      }
      this.check(req.method!, req.url!, res.statusCode, body);
    });
  }

  /** The violations as one readable message (empty when there are none). */
  report(): string {
    return this.violations.map((v) => `${v.request} → ${v.status}: ${v.problems.join('; ')}\n  body: ${JSON.stringify(v.body).slice(0, 600)}`).join('\n');
  }
}
