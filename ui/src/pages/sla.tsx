import { allPages } from '../api';
import { Problem, Section, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { Clock, ClockPage } from '../types';
import { timeLeft, useNow, useResource, when } from '../util';

const KIND = { retro_pr: 'Retroactive PR', review: 'Security review' } as const;

export function SlaBoardPage({ api }: PageProps) {
  const now = useNow();
  // Every page of each state: the rates are over all clocks, not the first thousand.
  const load = (state: string) => allPages(api, `/v1/sla?state=${state}&limit=1000`, (page: ClockPage) => page.clocks);
  const board = useResource(
    async () => {
      const [running, noncompliant, breached, late, onTime] = await Promise.all([
        load('running'),
        load('pr_noncompliant'),
        load('breached'),
        load('satisfied_late'),
        load('satisfied'),
      ]);
      // A clock whose merged PR missed a requirement is still running: listed with what is missing.
      return { running: [...running, ...noncompliant], breached, late, onTime };
    },
    [],
    5000,
  );
  const b = board.data;
  const link = (c: Clock) => <a href={`#/grants/${c.grant}`}>{c.grant}</a>;
  return (
    <>
      <h1>SLA board</h1>
      <Problem error={board.error} />
      {b && (
        <ul class="summary" aria-label="On-time rates">
          {(['retro_pr', 'review'] as const).map((kind) => (
            <li>
              {KIND[kind]}: <KindRate clocks={b} kind={kind} now={now} />
            </li>
          ))}
        </ul>
      )}
      <Section title="Breached">
        <Table
          caption="Breached clocks"
          head={['Grant', 'Clock', 'Requester', 'Due', 'Breached', 'Escalations', 'Merged PR']}
          rows={(b?.breached ?? []).map((c) => [
            link(c),
            KIND[c.kind],
            c.requester,
            when(c.dueAt),
            when(c.breachedAt),
            escalationSummary(c.steps),
            noncompliance(c),
          ])}
          empty="No breached clocks."
        />
      </Section>
      <Section title="Running, by time left">
        <Table
          caption="Running clocks"
          head={['Grant', 'Clock', 'Requester', 'Due', 'Time left', 'Merged PR']}
          rows={(b?.running ?? [])
            .sort((x, y) => Date.parse(x.dueAt) - Date.parse(y.dueAt))
            .map((c) => [link(c), KIND[c.kind], c.requester, when(c.dueAt), timeLeft(c.dueAt, now), noncompliance(c)])}
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

/** `acme/infra#7 misses approvals, checks` for a pr_noncompliant clock. */
function noncompliance(clock: Clock) {
  if (!clock.noncompliance) return '';
  const missing = [...new Set(clock.noncompliance.missing.map((m) => m.requirement))].join(', ');
  return (
    <span class="flag" title={clock.noncompliance.missing.map((m) => `${m.requirement}: ${m.detail}`).join('; ')}>
      {clock.noncompliance.pr} misses {missing}
    </span>
  );
}

/**
 * One kind's on-time rate as the compliance report computes it: on time / (on time + late +
 * overdue), overdue being breached or running past due; waived and not-yet-due clocks are not judged.
 */
function KindRate({ clocks, kind, now }: { clocks: Record<'running' | 'breached' | 'late' | 'onTime', Clock[]>; kind: Clock['kind']; now: number }) {
  const of = (list: Clock[]) => list.filter((c) => c.kind === kind);
  const onTime = of(clocks.onTime).length;
  const late = of(clocks.late).length;
  const overdue = of(clocks.breached).length + of(clocks.running).filter((c) => Date.parse(c.dueAt) < now).length;
  const judged = onTime + late + overdue;
  return (
    <>
      <strong>{judged ? `${((onTime / judged) * 100).toFixed(1)} %` : 'n/a'}</strong> on time ({onTime} on time, {late} late, {overdue} overdue)
    </>
  );
}

/** "2 fired, 1 failing": a step whose deliveries failed is not counted as fired. */
function escalationSummary(steps: { state: string }[]): string {
  const count = (state: string) => steps.filter((s) => s.state === state).length;
  const parts = (['fired', 'delivering', 'failing'] as const).filter((state) => count(state)).map((state) => `${count(state)} ${state}`);
  return parts.join(', ') || 'none yet';
}
