import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Problem, Section, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { AnchorStatusList, DrillOverview, Verdict } from '../types';
import { useResource, when } from '../util';

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** The lines of a C2SP checkpoint note: origin, tree size, base64 root (docs/transparency.md). */
function checkpointLines(note: string): { origin: string; treeSize: string; root: string } {
  const [origin, treeSize, root] = note.split('\n');
  return { origin, treeSize, root };
}

export function AuditPage({ api, me }: PageProps) {
  const verdict = useResource(() => api.get<Verdict>('/v1/audit/verify'), []);
  const checkpoint = useResource(() => api.text('/v1/audit/checkpoint'), [], 10_000);
  const latest = checkpoint.data ? checkpointLines(checkpoint.data) : null;
  const logKey = useResource(() => api.text('/v1/audit/log-key'), []);
  const anchors = useResource(() => api.get<AnchorStatusList>('/v1/audit/anchors'), [], 10_000);
  const drills = useResource(() => api.get<DrillOverview>('/v1/drills?limit=1'), [], 10_000);
  const [from, setFrom] = useState(day(-30));
  const [to, setTo] = useState(day(1));
  const [error, setError] = useState<Error>();
  const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
  const download = (path: string, name: string) => api.download(path, name).catch(setError);
  const compliance = me.roles.includes('compliance');
  return (
    <>
      <h1>Audit</h1>
      <Section title="Chain verdict">
        <Problem error={verdict.error} />
        {verdict.data ? (
          <p class={verdict.data.valid ? 'ok' : 'problem'} role="status">
            {verdict.data.valid
              ? `Valid: ${verdict.data.count} events, head ${verdict.data.headHash}`
              : `BROKEN at seq ${verdict.data.firstInvalidSeq} (${verdict.data.count} events read)`}
          </p>
        ) : (
          !verdict.error && <p>Verifying…</p>
        )}
        <button type="button" onClick={verdict.reload}>
          Verify again
        </button>
      </Section>
      <Section title="Signed checkpoint">
        {checkpoint.error instanceof ApiError && checkpoint.error.code === 'no_checkpoint' ? (
          <p class="muted">No checkpoint has been signed yet: the first comes within the checkpoint interval.</p>
        ) : (
          <Problem error={checkpoint.error} />
        )}
        {latest && (
          <>
            <p role="status">
              Latest checkpoint: {latest.treeSize} {latest.treeSize === '1' ? 'event' : 'events'} of {latest.origin}, root <code>{latest.root}</code>
            </p>
            <p class="muted">
              Keep checkpoints outside the broker and check later that the log still extends them: <code>breakglass audit verify --checkpoint FILE</code>.
            </p>
            <button type="button" onClick={() => download('/v1/audit/checkpoint', `checkpoint-${latest.treeSize}.txt`)}>
              Download the checkpoint
            </button>
          </>
        )}
        {logKey.data && (
          <p>
            Log key (verifies every checkpoint): <code>{logKey.data.trim()}</code>
          </p>
        )}
        <Problem error={anchors.error} />
        {anchors.data && (
          <Table
            caption="Anchors: where checkpoints are published"
            head={['Anchor', 'Type', 'Last delivered', 'Waiting', 'Last error']}
            rows={anchors.data.anchors.map((a) => [
              a.name,
              a.type,
              a.deliveredTreeSize === null ? 'nothing yet' : `checkpoint ${a.deliveredTreeSize}, ${when(a.deliveredAt)}`,
              a.pending ? `${a.pending} since ${when(a.pendingSince)}` : 'none',
              a.lastError ?? '',
            ])}
            empty="No anchors configured (policy audit.anchors): checkpoints stay in the broker until someone keeps a copy."
          />
        )}
      </Section>
      <Section title="Drills">
        <Problem error={drills.error} />
        {drills.data && (
          <>
            <h3>Last drill per target</h3>
            <Table
              caption="Last drill per target: proof that the emergency path works"
              head={['Target', 'Last drill', 'Result', 'Last passed', 'Grant']}
              rows={drills.data.targets.map((t) => [
                t.target,
                t.last ? `${t.last.drill} #${t.last.id}, ${when(t.last.finishedAt ?? t.last.startedAt)}` : 'never',
                t.last ? (
                  <span class={t.last.status === 'passed' ? 'ok' : 'problem'}>
                    {t.last.status === 'passed' ? 'passed' : `${t.last.status}${t.last.failedStep ? ` at ${t.last.failedStep}: ${t.last.error}` : ''}`}
                  </span>
                ) : (
                  ''
                ),
                t.lastPassed ? when(t.lastPassed.finishedAt ?? t.lastPassed.startedAt) : 'never',
                t.last?.grants.map((id) => (
                  <a key={id} href={`#/grants/${id}`}>
                    {id}{' '}
                  </a>
                )) ?? '',
              ])}
              empty="No drill has run yet."
            />
            <h3>Scheduled drills</h3>
            <Table
              caption="Scheduled drills (policy drills)"
              head={['Drill', 'Targets', 'Schedule', 'Next run']}
              rows={drills.data.drills.map((d) => [d.name, d.targets.join(', '), `${d.schedule} (${d.timeZone})`, when(d.nextRunAt)])}
              empty="The policy schedules no drills (docs/drills.md): an untested break-glass path fails on the night it is needed."
            />
          </>
        )}
      </Section>
      <Section title="Exports">
        {!compliance && <p class="muted">Period exports and the compliance report need the compliance role.</p>}
        <form class="inline-form" onSubmit={(e) => e.preventDefault()}>
          <label>
            From
            <input type="date" name="from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          </label>
          <label>
            To
            <input type="date" name="to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          </label>
          <button type="button" disabled={!compliance} onClick={() => download(`/v1/evidence/export?${range}&format=jsonl`, `audit-${from}-${to}.jsonl`)}>
            Audit events (JSON lines)
          </button>
          <button type="button" disabled={!compliance} onClick={() => download(`/v1/evidence/export?${range}&format=csv`, `audit-${from}-${to}.csv`)}>
            Audit events (CSV)
          </button>
          <button type="button" disabled={!compliance} onClick={() => download(`/v1/reports/compliance?${range}&format=md`, `compliance-${from}-${to}.md`)}>
            Compliance report (Markdown)
          </button>
          <button type="button" disabled={!compliance} onClick={() => download(`/v1/reports/compliance?${range}&format=html`, `compliance-${from}-${to}.html`)}>
            Compliance report (HTML, prints to PDF)
          </button>
        </form>
        <Problem error={error} />
      </Section>
    </>
  );
}
