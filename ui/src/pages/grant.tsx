import { useState } from 'preact/hooks';
import { formatDuration, parseDurationSeconds } from '../../../src/config/duration';
import { outsideWindow, visible } from '../../../src/sessions/record-display';
import { allPages, ApiError } from '../api';
import { mayOnGrant } from '../auth';
import { IncidentFacts, IncidentLabel } from '../components/incident';
import { InlineAction } from '../components/inline-action';
import { Problem, Section, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type {
  ClockPage,
  Grant,
  GrantExtended,
  LinkAnswer,
  GrantNotifications,
  PullRequestLinks,
  ReviewList,
  ReviewRecorded,
  SessionPage,
  SessionRecord,
  Verdict,
} from '../types';
import { clockTime, elapsed, timeLeft, useNow, useResource, when, zoneLabel } from '../util';
import { canRevoke, RevokeButton } from './live';

const KIND_OF_CLOCK = { retro_pr: 'Retroactive PR', review: 'Security review' } as const;

// Who may read every grant's session may also verify it and see its clocks (the same roles gate those endpoints).
const seesAll = (me: PageProps['me']) => me.grantAccess.anyGrant.includes('session.read');

export function GrantPage({ api, me, id }: PageProps & { id: string }) {
  const now = useNow();
  const grant = useResource(() => api.get<Grant>(`/v1/grants/${id}`), [id], 5000);
  const records = useResource(() => allPages(api, `/v1/grants/${id}/events?limit=1000`, (page: SessionPage) => page.events), [id], 3000);
  const verdict = useResource(() => (seesAll(me) ? api.get<Verdict>(`/v1/grants/${id}/events/verify`) : Promise.resolve(undefined)), [id], 5000);
  const prs = useResource(() => api.get<PullRequestLinks>(`/v1/grants/${id}/pull-requests`), [id], 5000);
  const clocks = useResource(
    () => (seesAll(me) ? api.get<ClockPage>(`/v1/sla?grant=${id}`) : Promise.resolve<ClockPage>({ clocks: [], next: null })),
    [id],
    5000,
  );
  const notifications = useResource(() => api.get<GrantNotifications>(`/v1/grants/${id}/notifications`), [id], 5000);
  const reviews = useResource(() => api.get<ReviewList>(`/v1/grants/${id}/reviews`), [id]);
  const [downloadError, setDownloadError] = useState<Error>();
  // A waived clock loses its Waive form on the reload, so the confirmation lives with the section.
  const [clockNotice, setClockNotice] = useState<string>();
  const g = grant.data;
  if (grant.error instanceof ApiError && grant.error.status === 404)
    return (
      <>
        <h1>Grant not found</h1>
        <p class="problem" role="alert">
          There is no grant {id}. Check the id (it looks like BG-2026-000042), or find it on the Live page.
        </p>
      </>
    );
  if (!g)
    return (
      <>
        <h1>Grant {id}</h1>
        <Problem error={grant.error} />
        {!grant.error && <p>Loading…</p>}
      </>
    );

  return (
    <>
      <h1>
        Grant {g.id} <span class={`badge ${g.status}`}>{g.status}</span>
      </h1>
      <div class="actions">
        {canRevoke(me, g) && <RevokeButton api={api} grant={g} onDone={grant.reload} />}
        {g.status === 'active' && mayOnGrant(me, g, 'grant.extend') && (
          <InlineAction
            open="Extend"
            submitLabel="Extend now"
            fields={[
              { name: 'duration', label: 'More time (e.g. 30m or 1h30m)', placeholder: '30m' },
              { name: 'reason', label: 'Why more time is needed', minLength: 3 },
            ]}
            submit={async ({ duration, reason }) => {
              const extended = await api.post<GrantExtended>(`/v1/grants/${g.id}/extend`, { durationSeconds: parseDurationSeconds(duration), reason });
              grant.reload();
              return (
                <>
                  Extended: the grant now ends {when(extended.expiresAt)}.
                  {extended.newCredential && (
                    <>
                      {' '}
                      A new credential was issued (shown once): <code class="secret">{JSON.stringify(extended.newCredential)}</code>
                    </>
                  )}
                </>
              );
            }}
          />
        )}
        {seesAll(me) && (
          <button type="button" onClick={() => api.download(`/v1/grants/${g.id}/evidence`, `${g.id}-evidence.json`).catch(setDownloadError)}>
            Download signed evidence bundle
          </button>
        )}
        <Problem error={downloadError} />
      </div>
      <Section title="Justification">
        <dl>
          <dt>Requester</dt>
          <dd>{g.requester}</dd>
          <dt>Target</dt>
          <dd>
            {g.target} ({g.environment}){g.role ? `, role ${g.role}` : ''}
          </dd>
          <dt>Incident</dt>
          <dd>
            <IncidentLabel grant={g} />
            <IncidentFacts grant={g} />
          </dd>
          <dt>Reason</dt>
          <dd>{g.reason}</dd>
          <dt>Window</dt>
          <dd>
            {when(g.activatedAt)} to {when(g.expiresAt)} {g.status === 'active' && <strong>({timeLeft(g.expiresAt, now)} left)</strong>}
          </dd>
          {g.endedAt && (
            <>
              <dt>Ended</dt>
              <dd>
                {when(g.endedAt)} by {g.endedBy}
                {g.endReason ? `: ${g.endReason}` : ''}
              </dd>
            </>
          )}
          {g.drill && (
            <>
              <dt>Drill</dt>
              <dd class="flag">
                DRILL {g.drill.name} #{g.drill.run}: a scheduled test of the emergency path, with no retroactive PR or review due
              </dd>
            </>
          )}
          {g.flags.length > 0 && (
            <>
              <dt>Flags</dt>
              <dd class="flag">{g.flags.join(', ')}</dd>
            </>
          )}
          {g.extensions.map((e) => (
            <>
              <dt>Extended</dt>
              <dd>
                +{formatDuration(e.addedSeconds)} by {e.by} at {when(e.at)}: {e.reason}
              </dd>
            </>
          ))}
        </dl>
      </Section>
      <Section title="On-call evidence">
        {g.onCall ? <pre class="small">{JSON.stringify(g.onCall, null, 2)}</pre> : <p class="muted">No on-call check for this target.</p>}
      </Section>
      <Section title="Credential">
        {g.credential ? (
          <dl>
            <dt>Type</dt>
            <dd>
              {g.credential.type}
              {g.credential.username ? ` (role ${g.credential.username}${g.credential.database ? ` on ${g.credential.database}` : ''})` : ''}
            </dd>
            <dt>Fingerprint</dt>
            <dd>
              <code>{g.credential.fingerprint}</code>
            </dd>
            {g.credential.jti && (
              <>
                <dt>Token id</dt>
                <dd>
                  <code>{g.credential.jti}</code>
                </dd>
              </>
            )}
            <dt>Expires</dt>
            <dd>{when(g.credential.expiresAt)}</dd>
            <dt>Revoked</dt>
            <dd>{g.credential.revokedAt ? `${when(g.credential.revokedAt)} (${g.credential.providerStatus})` : 'not yet'}</dd>
          </dl>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>
      <Section title="Session transcript">
        {verdict.data && verdict.data.valid && verdict.data.count === 0 ? (
          // Nothing to verify is not a good sign: the credential may have been used around the recorder.
          <p class="warning" role="status">
            Nothing recorded — access may have been used outside the recorder.
          </p>
        ) : (
          verdict.data && (
            <p class={verdict.data.valid ? 'ok' : 'problem'} role="status">
              Chain{' '}
              {verdict.data.valid
                ? `valid: ${verdict.data.count} events, head ${verdict.data.headHash.slice(0, 16)}…`
                : `BROKEN at seq ${verdict.data.firstInvalidSeq}`}
            </p>
          )
        )}
        <Problem error={records.error} />
        {records.data ? <Transcript records={records.data} grant={g} /> : <p>Loading…</p>}
        <p class="muted">
          The same as text, for grep: <code>GET /v1/grants/{g.id}/events?format=text</code> (times in UTC).
        </p>
        <Table
          caption="What the session changed"
          head={['Changed', 'Operation', 'Times', 'First', 'Last']}
          rows={g.changes.map((c) => [c.object, c.operation, String(c.count), when(c.firstAt), when(c.lastAt)])}
          empty="No change recorded: no statement that writes, no Kubernetes write. The retroactive PR should cover every change listed here."
        />
      </Section>
      <Section title="Pull requests">
        <Problem error={prs.error} />
        <Table
          caption="Linked pull requests"
          head={['PR', 'Title', 'State', 'Repository check', 'Delivery']}
          empty={`No PR linked yet: mention ${g.id} in a PR${g.retroPr.repo ? ` in ${g.retroPr.repo}` : ''} (due ${when(g.retroPr.dueAt)}).`}
          rows={(prs.data?.pullRequests ?? []).map((p) => [
            <a href={p.url} rel="noreferrer">
              {p.repo}#{p.number}
            </a>,
            p.title ?? '',
            p.state,
            p.repoMatches ? 'expected repository' : <span class="flag">other repository</span>,
            p.deliveryId ?? 'by hand',
          ])}
        />
        <h3>At the forge</h3>
        <Table
          caption="Retro PR at the forge"
          head={['PR', 'Verification', 'Approvals', 'Merge commit', 'Base branch', 'Checks']}
          empty="No merged PR asked about at the forge yet (with retroPr.require, only a merged PR meeting every requirement satisfies the clock)."
          rows={g.forge.map((f) => [
            f.pr,
            verificationState(f),
            f.facts ? approvalsOf(f.facts) : '',
            f.facts ? (f.facts.signature.verified ? `signed (${f.facts.signature.signer ?? 'verified'})` : `not verified (${f.facts.signature.reason})`) : '',
            f.facts ? `${f.facts.baseBranch}${f.facts.protectedBranch ? ' (protected)' : ' (not protected)'}` : '',
            f.facts ? f.facts.checks.map((c) => `${c.name}: ${c.conclusion}`).join(', ') : '',
          ])}
        />
        {mayOnGrant(me, g, 'pr.link') && (
          <InlineAction
            open="Link a pull request"
            submitLabel="Link"
            fields={[{ name: 'url', label: 'Pull request URL', placeholder: `https://github.com/${g.retroPr.repo ?? 'acme/infra'}/pull/42` }]}
            submit={async ({ url }) => {
              const answer = await api.post<LinkAnswer>(`/v1/grants/${g.id}/pull-requests`, { url: url.trim() });
              prs.reload();
              clocks.reload();
              const link = answer.linked[0];
              return link
                ? `Linked ${link.repo}#${link.number}${link.clock ? `: the retroactive-PR clock is ${link.clock.replace('_', ' ')}` : ''}.`
                : 'Linked.';
            }}
          />
        )}
      </Section>
      {seesAll(me) && (
        <Section title="SLA clocks">
          <Problem error={clocks.error} />
          {clockNotice && <p role="status">{clockNotice}</p>}
          {(clocks.data?.clocks ?? []).map((c) => (
            <div class="clock">
              <h3>
                {KIND_OF_CLOCK[c.kind]}: <span class={`badge ${c.state}`}>{c.state}</span> due {when(c.dueAt)}
                {(c.state === 'running' || c.state === 'pr_noncompliant') && ` (${timeLeft(c.dueAt, now)} left)`}
              </h3>
              {c.noncompliance && (
                <p class="flag">
                  {c.noncompliance.pr} does not meet the policy: {c.noncompliance.missing.map((m) => `${m.requirement}: ${m.detail}`).join('; ')}
                </p>
              )}
              {c.resolvedBy && (
                <p>
                  {c.state === 'waived' ? 'Waived' : 'Resolved'} by {c.resolvedBy}
                  {c.resolution ? `: ${c.resolution}` : ''}
                </p>
              )}
              {me.roles.includes('compliance') && (c.state === 'running' || c.state === 'breached') && (
                <InlineAction
                  open={`Waive the ${KIND_OF_CLOCK[c.kind]} clock`}
                  submitLabel="Waive"
                  fields={[{ name: 'reason', label: 'Why this clock does not apply (at least 10 characters)', minLength: 10 }]}
                  submit={async ({ reason }) => {
                    await api.post(`/v1/sla/${c.id}/waive`, { reason });
                    setClockNotice(`Waived the ${KIND_OF_CLOCK[c.kind]} clock.`);
                    clocks.reload();
                  }}
                />
              )}
              <Table
                caption={`Escalation steps of the ${c.kind} clock`}
                head={['Step', 'After due', 'Fires at', 'Notify', 'State']}
                rows={c.steps.map((s) => [s.step, s.after, when(s.fireAt), s.notify.join(', '), stepState(s)])}
              />
            </div>
          ))}
        </Section>
      )}
      <Section title="Notifications">
        <Problem error={notifications.error} />
        <Table
          caption="Notifications and their delivery"
          head={['Notice', 'Channel', 'Status', 'Attempts', 'Delivered', 'Last error']}
          rows={(notifications.data?.notifications ?? []).map((n) => [
            n.subject,
            n.channel,
            <span class={`badge ${n.status}`}>{n.status}</span>,
            n.attempts,
            when(n.deliveredAt),
            n.lastError ?? '',
          ])}
        />
      </Section>
      {g.gitops && (g.gitops.drift.length > 0 || g.gitops.reconciled) && (
        <Section title="GitOps">
          <Table
            caption="Drift attributed to this grant"
            head={['Seen', 'Reconciler', 'Object', 'Resources']}
            rows={g.gitops.drift.map((d) => [
              when(d.receivedAt),
              d.source,
              `${d.object.kind}/${d.object.name}`,
              d.resources.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`).join(', '),
            ])}
            empty="No drift attributed."
          />
          {g.gitops.reconciled && (
            <p class="ok">
              Change reconciled from {g.gitops.reconciled.repo}#{g.gitops.reconciled.number} at {when(g.gitops.reconciled.reconciledAt)},{' '}
              {g.gitops.reconciled.secondsFromActivation} s after break-glass.
            </p>
          )}
        </Section>
      )}
      <Section title="Reviews">
        <Problem error={reviews.error} />
        {g.verdict && (
          <p>
            Verdict: <span class={`badge ${g.verdict.outcome}`}>{g.verdict.outcome}</span> by {g.verdict.reviewer} ({when(g.verdict.at)})
            {g.verdict.interim ? ' — interim: a final review after the grant ends, covering the whole session, is still due' : ''}
          </p>
        )}
        <Table
          caption="Reviews of the session"
          head={['When', 'Reviewer', 'Outcome', 'Covers', 'Chain at review', 'Notes']}
          rows={(reviews.data?.reviews ?? []).map((r) => [
            when(r.at),
            r.reviewer,
            <span class={`badge ${r.outcome}`}>{r.outcome}</span>,
            `${r.coversSeq === null ? 'the log then' : `up to seq ${r.coversSeq}`}${r.interim ? ' (interim)' : ''}`,
            r.chainValid ? 'valid' : 'broken',
            r.notes,
          ])}
          empty="Not reviewed yet."
        />
        {me.roles.includes('security') && me.subject !== g.requester && (
          <ReviewForm
            {...{ api, me }}
            grant={g}
            chainValid={verdict.data?.valid ?? true}
            onDone={() => {
              reviews.reload();
              grant.reload();
              clocks.reload();
            }}
          />
        )}
      </Section>
    </>
  );
}

/** The grant's window as the transcript judges stamps against it: activation to end (or expiry). */
type ForgeVerification = Grant['forge'][number];

function verificationState(f: ForgeVerification) {
  if (f.status === 'pending')
    return (
      <span class="flag">
        verification pending (attempt {f.attempts}
        {f.lastError ? `: ${f.lastError}` : ''}
        {f.nextAttemptAt ? `; next ${when(f.nextAttemptAt)}` : ''})
      </span>
    );
  if (f.status === 'not_merged') return 'not merged at the forge';
  if (f.compliant === null) return 'verified (evidence only: no requirements)';
  return f.compliant ? (
    'meets every requirement'
  ) : (
    <span class="flag">missing: {(f.missing ?? []).map((m) => `${m.requirement}: ${m.detail}`).join('; ')}</span>
  );
}

/** `reviewer-2` (and, struck through, the approvals that do not count). */
function approvalsOf(facts: NonNullable<ForgeVerification['facts']>) {
  const { approvals, ignoredApprovals } = facts;
  const counted = approvals.map((a) => a.by).join(', ') || 'none';
  const ignored = ignoredApprovals.map((a) => `${a.by} (${a.why}, not counted)`).join(', ');
  return ignored ? `${counted}; ${ignored}` : counted;
}

const windowOf = (grant: Grant) => ({ from: new Date(grant.activatedAt), to: new Date(grant.endedAt ?? grant.expiresAt) });

/**
 * Every record of the session in one table, in seq order: shell commands, the proxy's SQL statements
 * (with the server's answer from their `sql.result`), the cluster's requests. Times in the page's zone.
 */
function Transcript({ records, grant }: { records: SessionRecord[]; grant: Grant }) {
  const results = new Map(records.filter((r) => r.type === 'sql.result').map((r) => [r.detail?.statementSeq, r]));
  const window = windowOf(grant);
  const shown = records.filter((r) => r.type !== 'sql.result');
  if (!shown.length) return null;
  return (
    <Table
      caption="Recorded commands"
      head={['Seq', `Time (${zoneLabel()})`, 'Kind', 'Command', 'Outcome', 'Duration', 'Where', 'Notes']}
      rows={shown.map((record) => {
        const { outcome, failed, ms } = outcomeOf(record, results.get(record.seq));
        const stamp = record.startedAt ?? record.receivedAt;
        const notes = [record.late && 'late', outsideWindow(stamp, window) && 'stamped outside the grant window'].filter(Boolean).join('; ');
        return [
          record.seq,
          <time dateTime={stamp} title={when(stamp)}>
            {clockTime(stamp)}
          </time>,
          KIND_OF_RECORD[record.type] ?? record.type,
          record.type === 'gap' ? (
            <span class="flag">
              {String(record.detail?.lost)} records lost ({String(record.detail?.reason)})
            </span>
          ) : (
            <code>{visible(record.command ?? '')}</code>
          ),
          <span class={failed ? 'flag exit-failed' : undefined}>{outcome}</span>,
          elapsed(ms),
          record.type === 'k8s' ? `${record.cwd ?? ''} from ${record.host ?? '?'}` : `${record.user ?? '?'}@${record.host ?? '?'} ${record.cwd ?? ''}`,
          notes ? <span class="flag">{notes}</span> : '',
        ];
      })}
    />
  );
}

const KIND_OF_RECORD: Record<string, string> = {
  command: 'shell',
  sql: 'SQL',
  k8s: 'Kubernetes',
  gap: 'gap',
  session_start: 'session start',
  session_end: 'session end',
  note: 'note',
};

/** What came of a record: the exit code, the SQL answer (tag or SQLSTATE), the API status; failures flagged. */
function outcomeOf(record: SessionRecord, result?: SessionRecord): { outcome: string; failed: boolean; ms: number | null } {
  const span = record.startedAt && record.finishedAt ? Date.parse(record.finishedAt) - Date.parse(record.startedAt) : null;
  if (record.type === 'sql') {
    if (!result) return { outcome: 'running…', failed: false, ms: null };
    const d = result.detail ?? {};
    const ms = typeof d.durationMs === 'number' ? d.durationMs : null;
    if (result.exitCode) return { outcome: visible(`ERROR ${String(d.sqlstate ?? '')} ${String(d.message ?? '')}`.trim()), failed: true, ms };
    const rows = typeof d.rows === 'number' ? ` (${d.rows} row${d.rows === 1 ? '' : 's'})` : '';
    return { outcome: `${String(d.tag ?? 'OK')}${rows}`, failed: false, ms };
  }
  if (record.exitCode === null) return { outcome: '', failed: false, ms: span };
  if (record.type === 'k8s') return { outcome: `HTTP ${record.exitCode}`, failed: record.exitCode >= 400, ms: span };
  return { outcome: `exit ${record.exitCode}`, failed: record.exitCode !== 0, ms: span };
}

function ReviewForm({ api, grant, chainValid, onDone }: PageProps & { grant: Grant; chainValid: boolean; onDone: () => void }) {
  const [outcome, setOutcome] = useState('approved');
  const [notes, setNotes] = useState('');
  const [acknowledge, setAcknowledge] = useState(false);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState<'interim' | 'final'>();
  return (
    <form
      aria-labelledby="review-form"
      onSubmit={(event) => {
        event.preventDefault();
        setDone(undefined);
        api
          .post<ReviewRecorded>(`/v1/grants/${grant.id}/reviews`, { outcome, notes, ...(acknowledge ? { acknowledgeIntegrityFailure: true } : {}) })
          .then((recorded) => {
            setNotes('');
            setError(undefined);
            setDone(recorded.interim ? 'interim' : 'final');
            onDone();
          }, setError);
      }}
    >
      <h3 id="review-form">Review this session</h3>
      <label>
        Outcome
        <select name="outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
          <option value="approved">approved</option>
          <option value="findings">findings</option>
          <option value="violation">violation</option>
        </select>
      </label>
      <label>
        Notes
        <textarea name="notes" required rows={3} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
      </label>
      {!chainValid && (
        <label class="inline">
          <input type="checkbox" name="acknowledge" checked={acknowledge} onChange={(e) => setAcknowledge(e.currentTarget.checked)} />I acknowledge the session
          log does not verify
        </label>
      )}
      <button type="submit">Submit review</button>
      {done && (
        <p class="ok" role="status">
          {done === 'interim'
            ? 'Interim review recorded: the review clock waits for a review after the grant ends that covers the whole session.'
            : 'Review recorded.'}
        </p>
      )}
      <Problem error={error} />
    </form>
  );
}

/** What became of an escalation step: fired only once delivered; a failing one shows its last error. */
function stepState(step: { state: string; firedAt: string | null; delivered: number; deliveries: number; lastError: string | null }): string {
  const progress = step.deliveries ? ` (${step.delivered}/${step.deliveries} delivered)` : '';
  if (step.state === 'failing') return `failing${progress}: ${step.lastError ?? 'delivery failed'}`;
  if (step.state === 'fired' || step.state === 'delivering') return `${step.state} ${when(step.firedAt)}${progress}`;
  return step.state;
}
