import { Problem, Section, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { Clock, ClockPage } from '../types';
import { timeLeft, useNow, useResource, when } from '../util';

const KIND = { retro_pr: 'Retroactive PR', review: 'Security review' } as const;

export function SlaBoardPage({ api }: PageProps) {
  const now = useNow();
  const load = (state: string) => api.get<ClockPage>(`/v1/sla?state=${state}&limit=1000`).then((r) => r.clocks);
  const board = useResource(
    async () => {
      const [running, breached, late, onTime] = await Promise.all([load('running'), load('breached'), load('satisfied_late'), load('satisfied')]);
      return { running, breached, late, onTime };
    },
    [],
    3000,
  );
  const b = board.data;
  const judged = b ? b.onTime.length + b.late.length + b.breached.length : 0;
  const rate = b && judged ? `${((b.onTime.length / judged) * 100).toFixed(1)} %` : 'n/a';
  const link = (c: Clock) => <a href={`#/grants/${c.grant}`}>{c.grant}</a>;
  return (
    <>
      <h1>SLA board</h1>
      <Problem error={board.error} />
      <p class="summary">
        On-time rate: <strong>{rate}</strong>
        {b && ` (${b.onTime.length} on time, ${b.late.length} late, ${b.breached.length} breached and still open)`}
      </p>
      <Section title="Running, by time left">
        <Table
          caption="Running clocks"
          head={['Grant', 'Clock', 'Requester', 'Due', 'Time left']}
          rows={(b?.running ?? [])
            .sort((x, y) => Date.parse(x.dueAt) - Date.parse(y.dueAt))
            .map((c) => [link(c), KIND[c.kind], c.requester, when(c.dueAt), timeLeft(c.dueAt, now)])}
        />
      </Section>
      <Section title="Breached">
        <Table
          caption="Breached clocks"
          head={['Grant', 'Clock', 'Requester', 'Due', 'Breached', 'Escalations']}
          rows={(b?.breached ?? []).map((c) => [link(c), KIND[c.kind], c.requester, when(c.dueAt), when(c.breachedAt), escalationSummary(c.steps)])}
          empty="No breached clocks."
        />
      </Section>
      <Section title="Satisfied late">
        <Table
          caption="Clocks satisfied late"
          head={['Grant', 'Clock', 'Requester', 'Due', 'Satisfied']}
          rows={(b?.late ?? []).map((c) => [link(c), KIND[c.kind], c.requester, when(c.dueAt), when(c.resolvedAt)])}
        />
      </Section>
    </>
  );
}

/** "2 fired, 1 failing": a step whose deliveries failed is not counted as fired. */
function escalationSummary(steps: { state: string }[]): string {
  const count = (state: string) => steps.filter((s) => s.state === state).length;
  const parts = (['fired', 'delivering', 'failing'] as const).filter((state) => count(state)).map((state) => `${count(state)} ${state}`);
  return parts.join(', ') || 'none yet';
}
