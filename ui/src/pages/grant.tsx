import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Problem, Section, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { ClockPage, Grant, GrantNotifications, PullRequestLinks, ReviewList, ReviewRecorded, SessionPage, SessionRecord, Verdict } from '../types';
import { timeLeft, useNow, useResource, when } from '../util';
import { canRevoke, RevokeButton } from './live';

// Who may read every grant's session may also verify it and see its clocks (the same roles gate those endpoints).
const seesAll = (me: PageProps['me']) => me.grantAccess.anyGrant.includes('session.read');

export function GrantPage({ api, me, id }: PageProps & { id: string }) {
  const now = useNow();
  const grant = useResource(() => api.get<Grant>(`/v1/grants/${id}`), [id], 5000);
  const transcript = useResource(() => api.text(`/v1/grants/${id}/events?format=text`), [id], 3000);
  const records = useResource(() => api.get<SessionPage>(`/v1/grants/${id}/events?limit=1000`), [id], 3000);
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
          <dd>{g.incident}</dd>
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
                +{e.addedSeconds} s by {e.by} at {when(e.at)}: {e.reason}
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
        <Problem error={transcript.error} />
        <pre class="transcript" aria-label="Recorded commands">
          {transcript.data ?? 'Loading…'}
        </pre>
        <SqlStatements records={records.data?.events ?? []} />
        <KubernetesRequests records={records.data?.events ?? []} />
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
      </Section>
      {seesAll(me) && (
        <Section title="SLA clocks">
          <Problem error={clocks.error} />
          {(clocks.data?.clocks ?? []).map((c) => (
            <div class="clock">
              <h3>
                {c.kind === 'retro_pr' ? 'Retroactive PR' : 'Security review'}: <span class={`badge ${c.state}`}>{c.state}</span> due {when(c.dueAt)}
                {c.state === 'running' && ` (${timeLeft(c.dueAt, now)} left)`}
              </h3>
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

/** What the recording proxy saw: each statement with the server's answer (tag or SQLSTATE, rows, duration). */
function SqlStatements({ records }: { records: SessionRecord[] }) {
  const statements = records.filter((r) => r.type === 'sql');
  if (!statements.length) return null;
  const results = new Map(records.filter((r) => r.type === 'sql.result').map((r) => [r.detail?.statementSeq, r]));
  const gaps = records.filter((r) => r.type === 'gap');
  return (
    <>
      {gaps.map((gap) => (
        <p class="flag">
          {String(gap.detail?.lost)} records could not be written ({String(gap.detail?.reason)}), {when(gap.startedAt)}
        </p>
      ))}
      <Table
        caption="SQL statements recorded by the proxy"
        head={['Seq', 'When', 'Statement', 'Outcome', 'Rows', 'Duration']}
        rows={statements.map((sql) => {
          const result = results.get(sql.seq);
          const d = result?.detail ?? {};
          const outcome = !result ? (
            'running…'
          ) : result.exitCode ? (
            <span class="flag">
              ERROR {String(d.sqlstate ?? '')} {String(d.message ?? '')}
            </span>
          ) : (
            String(d.tag ?? 'OK')
          );
          return [
            sql.seq,
            when(sql.startedAt),
            <code>{sql.command}</code>,
            outcome,
            d.rows === null || d.rows === undefined ? '' : String(d.rows),
            d.durationMs === undefined ? '' : `${String(d.durationMs)} ms`,
          ];
        })}
      />
    </>
  );
}

/** What the cluster's audit webhook reported for this grant: each API request with its answer. */
function KubernetesRequests({ records }: { records: SessionRecord[] }) {
  const requests = records.filter((r) => r.type === 'k8s');
  if (!requests.length) return null;
  return (
    <Table
      caption="Kubernetes requests from the cluster's audit log"
      head={['Seq', 'When', 'Cluster', 'Request', 'Object', 'Status', 'From']}
      rows={requests.map((r) => {
        const d = r.detail ?? {};
        const object = [d.namespace, d.resource, d.name, d.subresource]
          .filter((part) => part !== null && part !== undefined)
          .map(String)
          .join('/');
        const status = r.exitCode === null ? '' : r.exitCode >= 400 ? <span class="flag">{r.exitCode}</span> : String(r.exitCode);
        return [r.seq, when(r.startedAt), r.cwd ?? '', <code>{r.command}</code>, object, status, `${r.host ?? ''}${r.late ? ' (late)' : ''}`];
      })}
    />
  );
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
