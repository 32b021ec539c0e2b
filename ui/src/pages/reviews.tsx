import { allPages } from '../api';
import { Problem, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { ClockPage } from '../types';
import { timeLeft, useNow, useResource, when } from '../util';

export function ReviewQueuePage({ api }: PageProps) {
  const now = useNow();
  const queue = useResource(
    async () => {
      const [running, overdue] = await Promise.all(
        ['running', 'breached'].map((state) => allPages(api, `/v1/sla?kind=review&state=${state}&limit=1000`, (page: ClockPage) => page.clocks)),
      );
      return [...overdue, ...running.sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt))];
    },
    [],
    3000,
  );
  return (
    <>
      <h1>Review queue</h1>
      <p class="muted">Sessions waiting for a second person's review, overdue first.</p>
      <Problem error={queue.error} />
      <Table
        caption="Grants whose review is due"
        head={['Grant', 'Requester', 'Due', 'Time left']}
        empty="Nothing to review."
        rows={(queue.data ?? []).map((c) => [
          <a href={`#/grants/${c.grant}`}>{c.grant}</a>,
          c.requester,
          when(c.dueAt),
          c.state === 'breached' ? <span class="flag">overdue</span> : timeLeft(c.dueAt, now),
        ])}
      />
    </>
  );
}
