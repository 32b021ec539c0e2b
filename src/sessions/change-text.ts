// How a session change reads to a person, shared by the notices and the CLI (which must not load the
// SQL parser to print a grant).

export interface SessionChange {
  /** `schema.table` (or `table`), `resource/namespace/name[/subresource]` for Kubernetes, or a CLI command line. */
  object: string;
  /** `UPDATE`, `COPY FROM`, `CREATE TABLE`, `PATCH`, …, or COMMAND. */
  operation: string;
  count: number;
  firstAt: string;
  lastAt: string;
}

/** The operation of a CLI-recorded command line: the line is all that is known. */
export const COMMAND = 'COMMAND';

/** `UPDATE payments.ledger ×3`, ``command `kubectl rollout restart …` ``. */
export function describeChange(change: SessionChange): string {
  const what = change.operation === COMMAND ? `command \`${change.object}\`` : `${change.operation} ${change.object}`;
  return change.count > 1 ? `${what} ×${change.count}` : what;
}

/** `UPDATE payments.ledger ×3, PATCH deployments/payments/api`: the changes as a reminder names them. */
export function describeChanges(changes: readonly SessionChange[]): string {
  return changes.map(describeChange).join(', ');
}
