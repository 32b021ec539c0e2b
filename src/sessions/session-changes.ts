import { loadModule, parseSync } from 'libpg-query';
import { COMMAND, type SessionChange } from './change-text';
import type { SessionEvent } from './session-event';

export type { SessionChange } from './change-text';

// What a grant's session changed (P2.7): from the proxy's `sql` records, the statements that write
// (DML, MERGE, COPY FROM, DDL, DCL), parsed with PostgreSQL's own parser (libpg-query); from the
// audit webhook's `k8s` records, the write verbs; from the CLI's `command` records, the command line
// (operation COMMAND: what it changed is not known). A statement the target refused changed nothing.

/** Statements that read or only steer the session: everything else is counted as a change. */
const READ_ONLY = new Set([
  'SelectStmt',
  'ExplainStmt',
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'DeclareCursorStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'DiscardStmt',
  'CheckPointStmt',
  'LockStmt',
]);
const DML: Record<string, string> = { InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE' };
const K8S_WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

type Node = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname?: string;
}

const relationName = (relation: RangeVar | undefined) => (relation?.relname ? [relation.schemaname, relation.relname].filter(Boolean).join('.') : '(database)');
/** `CreateStmt` → `CREATE`, `AlterTableStmt` → `ALTER TABLE`: how a person names a statement kind. */
const statementName = (kind: string) =>
  kind
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();

let parser: Promise<void> | undefined;

/** The writes of one SQL text (several statements possible); text the parser refuses yields none. */
export async function sqlWrites(sql: string): Promise<{ object: string; operation: string }[]> {
  await (parser ??= loadModule());
  let parsed: { stmts?: { stmt: Node }[] };
  try {
    parsed = parseSync(sql) as unknown as { stmts?: { stmt: Node }[] };
  } catch {
    return [];
  }
  return (parsed.stmts ?? []).flatMap(({ stmt }) => statementWrites(stmt));
}

function statementWrites(stmt: Node): { object: string; operation: string }[] {
  const [kind, node] = Object.entries(stmt)[0] as [string, Node];
  // A data-modifying WITH (`WITH moved AS (DELETE … RETURNING …) SELECT …`) writes inside a read.
  const ctes = (((node.withClause as Node | undefined)?.ctes as Node[] | undefined) ?? []).flatMap((cte) =>
    statementWrites(((cte.CommonTableExpr as Node | undefined)?.ctequery as Node | undefined) ?? { SelectStmt: {} }),
  );
  if (DML[kind]) return [...ctes, { object: relationName(node.relation as RangeVar), operation: DML[kind] }];
  if (kind === 'CopyStmt') return node.is_from ? [{ object: relationName(node.relation as RangeVar), operation: 'COPY FROM' }] : [];
  if (kind === 'TruncateStmt')
    return ((node.relations as Node[] | undefined) ?? []).map((r) => ({ object: relationName(r.RangeVar as RangeVar), operation: 'TRUNCATE' }));
  if (READ_ONLY.has(kind)) return ctes;
  const relation = (node.relation ?? node.view) as RangeVar | undefined;
  return [...ctes, { object: relationName(relation), operation: kind === 'CreateStmt' ? 'CREATE TABLE' : statementName(kind) }];
}

/** The session's changes, one row per object and operation, in the order they first happened. */
export async function sessionChanges(events: readonly SessionEvent[]): Promise<SessionChange[]> {
  const refused = new Set(
    events.filter((e) => e.type === 'sql.result' && e.exitCode !== 0).map((e) => (e.detail as { statementSeq?: number } | null | undefined)?.statementSeq),
  );
  const writes: { object: string; operation: string; at: string }[] = [];
  for (const event of events) {
    const at = event.startedAt ?? event.receivedAt;
    if (event.type === 'sql' && event.command && !refused.has(event.seq)) {
      for (const write of await sqlWrites(event.command)) writes.push({ ...write, at });
    }
    const detail = event.detail as { verb?: string; resource?: string; subresource?: string; namespace?: string; name?: string } | null | undefined;
    if (event.type === 'k8s' && detail?.verb && K8S_WRITES.has(detail.verb) && (event.exitCode ?? 0) < 400) {
      // `deployments/payments/api`, a subresource after the object it belongs to (`…/api/scale`).
      const object = [detail.resource, detail.namespace, detail.name, detail.subresource].filter(Boolean).join('/');
      writes.push({ object, operation: detail.verb.toUpperCase(), at });
    }
    // A command the CLI recorded: what it changed is not known, only its command line (marked COMMAND).
    if (event.type === 'command' && event.command) writes.push({ object: event.command, operation: COMMAND, at });
  }
  const grouped = new Map<string, SessionChange>();
  for (const write of writes) {
    const key = `${write.operation} ${write.object}`;
    const seen = grouped.get(key);
    if (seen) Object.assign(seen, { count: seen.count + 1, lastAt: write.at > seen.lastAt ? write.at : seen.lastAt });
    else grouped.set(key, { object: write.object, operation: write.operation, count: 1, firstAt: write.at, lastAt: write.at });
  }
  return [...grouped.values()];
}
