import { describeChange } from '../sessions/change-text';
import type { GrantCreated, GrantDetail, GrantView, IssuedCredential } from './api-types';
// Human-readable renderings of API answers for the CLI (`--json` prints the answers as they are).

export function timeLeft(until: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(until) - now) / 1000);
  if (seconds <= 0) return 'ended';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function describeNewGrant(grant: GrantCreated): string {
  const lines = [
    `Glass broken: ${grant.id} on ${grant.target} for ${grant.requester} (incident ${grant.incident})`,
    `Active until ${grant.expiresAt} (${timeLeft(grant.expiresAt)} left). Every step is audited.`,
    ...(grant.flags.length ? [`Flags: ${grant.flags.join(', ')} (security has been told)`] : []),
    '',
    'Credential — shown once, never stored by breakglass:',
    ...describeCredential(grant.credential, grant.id),
    '',
    `Session recorder: export BREAKGLASS_SESSION_TOKEN=${grant.sessionToken}`,
    '',
  ];
  const where = grant.retroPr.repo ? ` in ${grant.retroPr.repo}` : '';
  lines.push(`Retroactive PR: mention ${grant.retroPr.reference} in the title, body or branch of a PR${where} before ${grant.retroPr.dueAt}.`);
  if (grant.review.dueAt) lines.push(`A security reviewer will sign off the session log before ${grant.review.dueAt}.`);
  return lines.join('\n');
}

export function describeCredential(credential: IssuedCredential, grantId: string): string[] {
  if (credential.type === 'jwt') {
    const lines = [`  export BREAKGLASS_JWT=${credential.token}`, `  (an OIDC bearer token, valid until ${credential.expiresAt})`];
    if (credential.kubernetes) {
      lines.push(
        '',
        `Kubernetes cluster ${credential.kubernetes.cluster} (${credential.kubernetes.server}) sees you as ${credential.kubernetes.username}. Next:`,
        `  breakglass kubeconfig ${grantId} --merge && kubectl get pods`,
      );
    }
    return lines;
  }
  const viaProxy = 'access' in credential && credential.access === 'proxy';
  return [
    `  psql '${credential.url}'`,
    `  export DATABASE_URL='${credential.url}' PGUSER=${credential.username} PGPASSWORD='${credential.password}'`,
    viaProxy
      ? `  (a login at the breakglass proxy ${credential.host}:${credential.port}, valid until ${credential.expiresAt}: every statement is recorded; it works nowhere else)`
      : `  (a PostgreSQL login valid until ${credential.expiresAt}; it is dropped when the grant ends)`,
  ];
}

export function grantTable(grants: GrantView[]): string {
  if (!grants.length) return 'No grants.';
  const rows = grants.map((g) => [g.id, g.status, g.target, g.requester, g.incident, g.status === 'active' ? timeLeft(g.expiresAt) : (g.endedAt ?? '')]);
  return table(['GRANT', 'STATUS', 'TARGET', 'REQUESTER', 'INCIDENT', 'LEFT/ENDED'], rows);
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `breakglass status GRANT`: one grant, as a person reads it (`--json` prints the answer as it is). */
/** `acme/infra#42 verification pending (attempt 3: HTTP 503 …)`, `… missing approvals: …`. */
function forgeLine(f: GrantDetail['forge'][number]): string {
  if (f.status === 'pending') return `${f.pr} verification pending (attempt ${f.attempts}${f.lastError ? `: ${f.lastError}` : ''})`;
  if (f.status === 'not_merged') return `${f.pr} not merged at the forge`;
  if (f.compliant === null) return `${f.pr} verified (evidence only)`;
  return f.compliant ? `${f.pr} meets every requirement` : `${f.pr} missing ${(f.missing ?? []).map((m) => `${m.requirement}: ${m.detail}`).join('; ')}`;
}

/** Where a value's next line starts: under the value, past `  Label       `. */
const CONTINUED = `\n${' '.repeat(14)}`;

export function describeGrant(grant: GrantDetail, now = Date.now()): string {
  const ended = grant.endedAt
    ? `${grant.status} at ${grant.endedAt}${grant.endedBy ? ` by ${grant.endedBy}` : ''}${grant.endReason ? `: ${grant.endReason}` : ''}`
    : `active until ${grant.expiresAt} (${timeLeft(grant.expiresAt, now)} left)`;
  const credential = grant.credential
    ? `${grant.credential.type}${grant.credential.username ? ` ${grant.credential.username}` : ''}, fingerprint ${grant.credential.fingerprint.slice(0, 16)}…${grant.credential.revokedAt ? `, revoked ${grant.credential.revokedAt}` : ''}`
    : 'none issued';
  const rows: [string, string | null][] = [
    ['Target', `${grant.target} (${grant.environment})${grant.role ? `, role ${grant.role}` : ''}`],
    ['Requester', grant.requester],
    ['Incident', grant.incident],
    ['Reason', grant.reason],
    ['Activated', grant.activatedAt],
    ['Status', ended],
    ['Flags', grant.flags.length ? grant.flags.join(', ') : null],
    ['Credential', credential],
    ['Extensions', grant.extensions.length ? grant.extensions.map((e) => `+${e.addedSeconds}s by ${e.by} at ${e.at}: ${e.reason}`).join(CONTINUED) : null],
    [
      'Retro PR',
      grant.retroPr.dueAt ? `mention ${grant.retroPr.reference}${grant.retroPr.repo ? ` in ${grant.retroPr.repo}` : ''}, due ${grant.retroPr.dueAt}` : null,
    ],
    ['Forge', grant.forge.length ? grant.forge.map(forgeLine).join(CONTINUED) : null],
    ['Changed', grant.changes.length ? grant.changes.map(describeChange).join(CONTINUED) : null],
    ['Review', grant.review.dueAt ? `due ${grant.review.dueAt}` : null],
    [
      'Verdict',
      grant.verdict
        ? `${grant.verdict.outcome} by ${grant.verdict.reviewer} at ${grant.verdict.at}${grant.verdict.interim ? ' (interim: a final review after the end is due)' : ''}`
        : null,
    ],
    ['Drift', grant.gitops.drift.length ? `${grant.gitops.drift.length} event(s) attributed to this grant` : null],
    ['Reconciled', grant.gitops.reconciled ? `at merge commit ${grant.gitops.reconciled.commit}` : null],
  ];
  return [`${grant.id}`, ...rows.filter(([, value]) => value !== null).map(([label, value]) => `  ${label.padEnd(10)}  ${value}`)].join('\n');
}
