/** What every pathway (proxy, session ingest, CLI, kubectl plugin) needs to say a grant has ended. */
export interface EndedGrant {
  id: string;
  status: string;
  /** When it ended (for an active row past its expiry: the expiry). */
  endedAt: Date | string | null;
  endedBy: string | null;
  endReason: string | null;
}

/**
 * One wording for an ended grant, so an engineer whose psql, shell or kubectl just stopped reads
 * who ended it, when and why, and what to do: "BG-2026-000042 was revoked by sec-1 at …: reason —
 * request a new grant".
 */
export function endedGrantMessage(grant: EndedGrant): string {
  const at = grant.endedAt ? ` at ${new Date(grant.endedAt).toISOString()}` : '';
  const what =
    grant.status === 'revoked'
      ? `was revoked${grant.endedBy ? ` by ${grant.endedBy}` : ''}${at}${grant.endReason ? `: ${grant.endReason}` : ''}`
      : `expired${at}`;
  return `${grant.id} ${what} — request a new grant`;
}
