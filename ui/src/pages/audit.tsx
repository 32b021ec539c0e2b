import { useState } from 'preact/hooks';
import { Problem, Section } from '../components/layout';
import type { PageProps } from '../page-props';
import type { Verdict } from '../types';
import { useResource } from '../util';

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export function AuditPage({ api, me }: PageProps) {
  const verdict = useResource(() => api.get<Verdict>('/v1/audit/verify'), []);
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
        </form>
        <Problem error={error} />
      </Section>
    </>
  );
}
