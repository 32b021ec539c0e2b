/** The fields covered by the session chain hash (DESIGN.md), exactly as the API returns them. */
export interface SessionEventFields {
  grant: string;
  seq: number;
  type: string;
  command: string | null;
  cwd: string | null;
  user: string | null;
  host: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  receivedAt: string;
}

export interface SessionEvent extends SessionEventFields {
  prevHash: string;
  hash: string;
  /** Received after the grant ended, though recorded before it (not hashed). */
  late: boolean;
}

export interface Gap {
  from: number;
  to: number;
}

export function sessionHashedFields(event: SessionEventFields): SessionEventFields {
  const { grant, seq, type, command, cwd, user, host, startedAt, finishedAt, exitCode, receivedAt } = event;
  return { grant, seq, type, command, cwd, user, host, startedAt, finishedAt, exitCode, receivedAt };
}

/** What the client sent, for comparing a re-sent seq with the stored one (receivedAt differs). */
export function clientContent(event: Omit<SessionEventFields, 'receivedAt'>): string {
  return JSON.stringify([event.type, event.command, event.cwd, event.user, event.host, event.startedAt, event.finishedAt, event.exitCode]);
}
