import { useState } from 'preact/hooks';
import { csvLine } from '../../../src/common/csv';
import { allPages, saveFile } from '../api';
import { Problem, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { GrantPage, GrantSummary } from '../types';
import { useResource, when } from '../util';

// Grant history for auditors and reviewers: the population to sample from, filtered like
// GET /v1/grants (engineers see their own grants only, as the API decides).

const PAGE_SIZE = 50;
const GRANT_ID = /^BG-\d{4}-\d{6}$/i;
const STATUSES = ['active', 'expired', 'revoked'] as const;

interface Filters {
  incident: string;
  target: string;
  requester: string;
  status: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { incident: '', target: '', requester: '', status: '', from: '', to: '' };

/** The API query of the filters. Dates are whole UTC days; `to` is inclusive, so the bound is the next midnight. */
function query(filters: Filters): string {
  const params = new URLSearchParams();
  for (const key of ['incident', 'target', 'requester', 'status'] as const) if (filters[key].trim()) params.set(key, filters[key].trim());
  if (filters.from) params.set('from', `${filters.from}T00:00:00Z`);
  if (filters.to) params.set('to', new Date(Date.parse(`${filters.to}T00:00:00Z`) + 86_400_000).toISOString());
  return params.toString();
}

const CSV_COLUMNS = [
  'id',
  'status',
  'target',
  'environment',
  'requester',
  'incident',
  'reason',
  'role',
  'activatedAt',
  'expiresAt',
  'endedAt',
  'endedBy',
  'endReason',
  'flags',
  'retroPrDueAt',
  'reviewDueAt',
];
const csvOf = (grants: GrantSummary[]) =>
  [
    csvLine(CSV_COLUMNS),
    ...grants.map((g) =>
      csvLine([
        g.id,
        g.status,
        g.target,
        g.environment,
        g.requester,
        g.incident,
        g.reason,
        g.role,
        g.activatedAt,
        g.expiresAt,
        g.endedAt,
        g.endedBy,
        g.endReason,
        g.flags.join(' '),
        g.retroPr.dueAt,
        g.review.dueAt,
      ]),
    ),
  ].join('\r\n') + '\r\n';

export function GrantsPage({ api }: PageProps) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  // The `after` cursor of each page shown so far: back pops one, next pushes the page's `next`.
  const [cursors, setCursors] = useState<string[]>([]);
  const [downloaded, setDownloaded] = useState<string>();
  const [downloadError, setDownloadError] = useState<Error>();
  const targets = useResource(() => api.get<{ targets: { name: string }[] }>('/v1/targets'), []);
  const filterQuery = query(applied);
  const after = cursors.at(-1);
  const page = useResource(
    () => api.get<GrantPage>(`/v1/grants?limit=${PAGE_SIZE}${filterQuery ? `&${filterQuery}` : ''}${after ? `&after=${after}` : ''}`),
    [filterQuery, after],
  );
  const set = (key: keyof Filters) => (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const apply = (filters: Filters) => {
    setApplied(filters);
    setCursors([]);
    setDownloaded(undefined);
  };
  const first = cursors.length * PAGE_SIZE + 1;
  const rows = page.data?.grants ?? [];

  return (
    <>
      <h1>Grants</h1>
      <p class="muted">Every grant, newest first (by grant id). Dates are whole days in UTC; the range is by activation time.</p>
      <form
        class="inline-form filters"
        aria-label="Grant filters"
        onSubmit={(event) => {
          event.preventDefault();
          const term = search.trim();
          // A grant id goes straight to its page; anything else is an incident id.
          if (GRANT_ID.test(term)) location.hash = `#/grants/${term.toUpperCase()}`;
          else apply({ ...draft, incident: term });
        }}
      >
        <label>
          Search (grant or incident id)
          <input type="search" name="search" placeholder="BG-2026-000042 or INC-4821" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <label>
          Target
          <select name="target" value={draft.target} onChange={set('target')}>
            <option value="">any</option>
            {(targets.data?.targets ?? []).map((t) => (
              <option value={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <label>
          Requester
          <input name="requester" value={draft.requester} onInput={set('requester')} />
        </label>
        <label>
          Status
          <select name="status" value={draft.status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="date" name="from" value={draft.from} onInput={set('from')} />
        </label>
        <label>
          To (UTC, inclusive)
          <input type="date" name="to" value={draft.to} onInput={set('to')} />
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setDraft(NO_FILTERS);
            setSearch('');
            apply(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </form>
      <Problem error={page.error} />
      <p class="muted" role="status" aria-live="polite">
        {page.data
          ? rows.length
            ? `Grants ${first}–${first + rows.length - 1}${page.data.next ? ', more on the next page' : ''}`
            : 'No grant matches.'
          : 'Loading…'}
      </p>
      <Table
        caption="Grants matching the filters"
        head={['Grant', 'Status', 'Activated', 'Target', 'Requester', 'Incident', 'Reason', 'Flags']}
        empty="No grant matches these filters."
        rows={rows.map((g) => [
          <a href={`#/grants/${g.id}`}>{g.id}</a>,
          <span class={`badge ${g.status}`}>{g.status}</span>,
          when(g.activatedAt),
          `${g.target} (${g.environment})`,
          g.requester,
          g.incident,
          g.reason,
          g.drill || g.flags.length ? <span class="flag">{[...(g.drill ? [`DRILL ${g.drill.name}`] : []), ...g.flags].join(', ')}</span> : '',
        ])}
      />
      <div class="actions">
        <button type="button" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page.data?.next} onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}>
          Next page
        </button>
        <button
          type="button"
          onClick={() => {
            setDownloadError(undefined);
            allPages(api, `/v1/grants?limit=1000${filterQuery ? `&${filterQuery}` : ''}`, (p: GrantPage) => p.grants).then((all) => {
              saveFile(new Blob([csvOf(all)], { type: 'text/csv' }), 'grants.csv');
              setDownloaded(`${all.length} grant(s) downloaded as CSV.`);
            }, setDownloadError);
          }}
        >
          Download every matching grant (CSV)
        </button>
        {downloaded && <span role="status">{downloaded}</span>}
        <Problem error={downloadError} />
      </div>
    </>
  );
}
