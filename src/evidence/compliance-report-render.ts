import { formatDuration } from '../config/duration';
import type { ComplianceReportView } from './evidence.views';

// The compliance report as people read it: Markdown for a ticket or a wiki, HTML for a browser that
// prints it to PDF. Both render the JSON report field by field, so their numbers are the JSON's.

type Report = ComplianceReportView;
type Cell = string | number | null;

const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);
const duration = (seconds: number | null) => (seconds === null ? 'n/a' : formatDuration(seconds));
/** 2026-12-02T16:50:22.123Z → 2026-12-02 16:50 UTC: one zone across the report, said once per value. */
const utc = (iso: string | null) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '');
const spread = (d: { p50: number | null; p90: number | null; max: number | null }) => `p50 ${duration(d.p50)}, p90 ${duration(d.p90)}, max ${duration(d.max)}`;
const KIND: Record<string, string> = { retro_pr: 'retro PR', review: 'review' };
const chain = (r: Report) =>
  r.auditChain.valid
    ? `valid (${r.auditChain.count} events, head ${r.auditChain.headHash})`
    : `BROKEN at seq ${r.auditChain.firstInvalidSeq} (${r.auditChain.count} events read)`;
const outcomes = (o: Report['reviews']) => `On time ${o.onTime}, late ${o.late}, overdue ${o.overdue}, waived ${o.waived}, not yet due ${o.pending}`;

/** The tables both forms show, as header + rows of plain cells. */
function tables(r: Report): { title: string; head: string[]; rows: Cell[][] }[] {
  return [
    {
      title: `Break-glass grants: ${r.grants.total}`,
      head: ['grant', 'activated', 'target', 'requester', 'incident', 'status', 'retro PR', 'time to PR', 'review', 'flags'],
      rows: r.perGrant.map((g) => [
        g.id,
        utc(g.activatedAt),
        `${g.target} (${g.environment})`,
        g.requester,
        g.incident,
        g.status,
        g.retroPr ?? '',
        g.timeToPrSeconds === null ? '' : duration(g.timeToPrSeconds),
        g.review ?? '',
        g.flags.join(', '),
      ]),
    },
    {
      title: 'Grants per target',
      head: ['target', 'environment', 'grants', 'flagged'],
      rows: r.grants.byTarget.map((g) => [g.target, g.environment, g.count, g.flagged]),
    },
    { title: `Denied requests: ${r.denials.total}`, head: ['reason', 'count'], rows: r.denials.byReason.map((d) => [d.code, d.count]) },
    {
      title: 'SLA breaches',
      head: ['grant', 'clock', 'due', 'resolved', 'state', 'overdue by'],
      rows: r.breaches.map((b) => [b.grant, KIND[b.kind], utc(b.dueAt), utc(b.resolvedAt), b.state, duration(b.breachSeconds)]),
    },
    {
      title: `Violations found in review: ${r.violations.length}`,
      head: ['grant', 'reviewer', 'at', 'notes'],
      rows: r.violations.map((v) => [v.grant, v.reviewer, utc(v.at), v.notes]),
    },
    { title: 'Waived clocks', head: ['grant', 'clock', 'by', 'at', 'reason'], rows: r.waived.map((w) => [w.grant, KIND[w.kind], w.by, utc(w.at), w.reason]) },
    {
      title: `Retro PRs verified at the forge: ${r.retroPr.forge.compliant} of ${r.retroPr.forge.verified} met every requirement`,
      head: ['control', 'verified', 'compliant', 'rate'],
      rows: r.retroPr.forge.byControl.map((c) => [c.control, c.verified, c.compliant, pct(c.compliantRate)]),
    },
    {
      title: 'Retro PRs that missed a requirement',
      head: ['grant', 'PR', 'verified', 'missing'],
      rows: r.retroPr.forge.pullRequests
        .filter((p) => !p.compliant)
        .map((p) => [p.grant, p.pr, utc(p.at), p.missing.map((m) => `${m.requirement}: ${m.detail}`).join('; ')]),
    },
    {
      title: 'GitOps: emergency changes reconciled from Git',
      head: ['grant', 'PR', 'commit', 'reconciled', 'from break-glass'],
      rows: r.gitops.reconciled.map((g) => [g.grant, `${g.repo}#${g.number}`, g.commit.slice(0, 12), utc(g.reconciledAt), duration(g.secondsFromBreakGlass)]),
    },
    {
      title: `Drift: ${r.gitops.driftAttributed.length} attributed to grants, ${r.gitops.driftUnattributed.length} unattributed`,
      head: ['seq', 'at', 'source', 'object', 'targets'],
      rows: r.gitops.driftUnattributed.map((d) => [d.seq, utc(d.at), d.source, JSON.stringify(d.object), JSON.stringify(d.targets)]),
    },
    {
      title: `Break-glass drills: ${r.drills.total} (passed ${r.drills.passed}, failed ${r.drills.failed})`,
      head: ['run', 'drill', 'trigger', 'started', 'targets', 'result', 'grants'],
      rows: r.drills.runs.map((d) => [
        d.id,
        d.drill,
        d.trigger,
        utc(d.startedAt),
        d.targets.join(', '),
        d.status === 'failed' ? `failed at ${d.failedStep}: ${d.error}` : d.status,
        d.grants.join(', '),
      ]),
    },
    {
      title: 'Last passed drill per target',
      head: ['target', 'last passed', 'drill'],
      rows: r.drills.lastPassedByTarget.map((t) => [t.target, t.lastPassedAt ? utc(t.lastPassedAt) : 'never', t.drill ? `${t.drill} #${t.run}` : '']),
    },
    { title: 'Audit events per control', head: ['control', 'events'], rows: Object.entries(r.controls) },
  ];
}

const paragraphs = (r: Report, strong: (text: string) => string, code: (text: string) => string) => ({
  header: [
    `Period: ${utc(r.period.from)} to ${utc(r.period.to)} (grants activated in the period). Generated ${utc(r.generatedAt)}.`,
    `Audit chain: ${strong(r.auditChain.valid ? 'valid' : `BROKEN at seq ${r.auditChain.firstInvalidSeq}`)} (${r.auditChain.count} events, head ${code(r.auditChain.headHash)}).`,
  ],
  retroPr: [
    `${outcomes(r.retroPr)}: on-time rate ${strong(pct(r.retroPr.onTimeRate))}.`,
    `Time to PR: ${spread(r.retroPr.timeToPrSeconds)}.`,
    `Verified at the forge against retroPr.require: ${r.retroPr.forge.verified}, of which ${strong(pct(r.retroPr.forge.compliantRate))} met every requirement.`,
  ],
  reviews: [`${outcomes(r.reviews)}: on-time rate ${strong(pct(r.reviews.onTimeRate))}.`],
  gitops: [
    `${r.gitops.reconciled.length} grant(s) reached change.reconciled. Time from break-glass to reconciled: ${spread(r.gitops.timeToReconciledSeconds)}.`,
  ],
});

export function reportMarkdown(r: Report): string {
  const cell = (value: Cell) =>
    String(value ?? '')
      .replace(/\|/g, '\\|')
      .replace(/\n/g, ' ');
  const table = ({ title, head, rows }: { title: string; head: string[]; rows: Cell[][] }) => [
    `## ${title}`,
    rows.length
      ? [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n')
      : '_none_',
    '',
  ];
  const text = paragraphs(
    r,
    (t) => `**${t}**`,
    (t) => `\`${t}\``,
  );
  const [grants, ...rest] = tables(r);
  return [
    '# breakglass compliance report',
    '',
    ...text.header.flatMap((line) => [line, '']),
    '## Retroactive pull requests',
    ...text.retroPr,
    '',
    '## Session reviews',
    ...text.reviews,
    '',
    '## GitOps',
    ...text.gitops,
    '',
    ...[grants, ...rest].flatMap(table),
  ].join('\n');
}

const escapeHtml = (value: Cell) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface Series {
  name: string;
  values: (number | null)[];
}

/**
 * A column chart as inline SVG (no script, no external request): one group of columns per category,
 * one column per series, its value written above it. `format` renders a value; `max` is the top of the axis.
 */
function columnChart(title: string, categories: string[], series: Series[], max: number, format: (value: number) => string): string {
  const width = 720;
  const height = 240;
  const [left, bottom, top] = [16, 48, 28];
  const plot = height - bottom - top;
  const group = (width - left * 2) / Math.max(categories.length, 1);
  const column = Math.min(48, (group * 0.75) / series.length);
  const columns = categories.flatMap((category, i) =>
    series.map((s, j) => {
      const value = s.values[i];
      const x = left + i * group + (group - column * series.length) / 2 + j * column;
      if (value === null) return `<text class="value" x="${x + column / 2}" y="${top + plot - 4}">n/a</text>`;
      const h = max > 0 ? (value / max) * plot : 0;
      return `<rect class="series-${j}" x="${x}" y="${top + plot - h}" width="${column - 2}" height="${h}"><title>${escapeHtml(`${category}, ${s.name}: ${format(value)}`)}</title></rect><text class="value" x="${x + column / 2}" y="${top + plot - h - 4}">${escapeHtml(format(value))}</text>`;
    }),
  );
  const labels = categories.map(
    (category, i) => `<text class="label" x="${left + i * group + group / 2}" y="${height - bottom + 18}">${escapeHtml(category)}</text>`,
  );
  const legend =
    series.length > 1
      ? series.map(
          (s, j) =>
            `<rect class="series-${j}" x="${left + j * 180}" y="4" width="12" height="12"/><text x="${left + j * 180 + 18}" y="15">${escapeHtml(s.name)}</text>`,
        )
      : [];
  return [
    `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<line class="axis" x1="${left}" y1="${top + plot}" x2="${width - left}" y2="${top + plot}"/>`,
    ...legend,
    ...columns,
    ...labels,
    `</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`,
  ].join('');
}

function charts(r: Report): string[] {
  const weeks = [...new Set([...r.retroPr.byWeek, ...r.reviews.byWeek].map((w) => w.weekStart))].sort();
  const rateOf = (list: Report['reviews']['byWeek']) => weeks.map((week) => list.find((w) => w.weekStart === week)?.onTimeRate ?? null);
  const most = (values: number[]) => Math.max(1, ...values);
  return [
    columnChart(
      'On-time rate per week (weeks from Monday, UTC)',
      weeks.map((week) => `week of ${week.slice(0, 10)}`),
      [
        { name: 'retroactive PR', values: rateOf(r.retroPr.byWeek) },
        { name: 'security review', values: rateOf(r.reviews.byWeek) },
      ],
      1,
      (value) => pct(value),
    ),
    columnChart(
      'Time from break-glass to the retroactive PR',
      r.retroPr.timeToPrBuckets.map((b) => b.label),
      [{ name: 'PRs', values: r.retroPr.timeToPrBuckets.map((b) => b.count) }],
      most(r.retroPr.timeToPrBuckets.map((b) => b.count)),
      String,
    ),
    columnChart(
      'Grants per target',
      r.grants.byTarget.map((g) => `${g.target} (${g.environment})`),
      [{ name: 'grants', values: r.grants.byTarget.map((g) => g.count) }],
      most(r.grants.byTarget.map((g) => g.count)),
      String,
    ),
  ];
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; } th, td { border: 1px solid #d0d7de; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } tbody tr:nth-child(even) { background: #fafbfc; }
.summary { display: flex; gap: 1rem; flex-wrap: wrap; padding: 0; list-style: none; }
.summary li { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .8rem; min-width: 10rem; }
.summary strong { display: block; font-size: 1.4rem; }
.broken { color: #b42318; font-weight: bold; } .valid { color: #1a7f37; font-weight: bold; }
figure { margin: 1rem 0; } figcaption { font-size: 12px; color: #57606a; }
svg { width: 100%; height: auto; font: 11px system-ui, sans-serif; } svg .axis { stroke: #57606a; }
svg .value, svg .label { text-anchor: middle; } svg .series-0 { fill: #0969da; } svg .series-1 { fill: #bf8700; }
.none { color: #57606a; font-style: italic; } code { font-size: 12px; word-break: break-all; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } figure, tr { break-inside: avoid; } thead { display: table-header-group; } }
`;

/** `GET /v1/reports/compliance?format=html`: one self-contained page that prints well. */
export function reportHtml(r: Report): string {
  const text = paragraphs(
    r,
    (t) => `<strong>${escapeHtml(t)}</strong>`,
    (t) => `<code>${escapeHtml(t)}</code>`,
  );
  const table = ({ title, head, rows }: { title: string; head: string[]; rows: Cell[][] }) =>
    `<section><h2>${escapeHtml(title)}</h2>${
      rows.length
        ? `<table><thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
            .map((row) => `<tr>${row.map((value) => `<td>${escapeHtml(value)}</td>`).join('')}</tr>`)
            .join('')}</tbody></table>`
        : '<p class="none">None.</p>'
    }</section>`;
  const card = (label: string, value: string, detail: string) =>
    `<li><span>${escapeHtml(label)}</span><strong>${escapeHtml(value)}</strong><span>${escapeHtml(detail)}</span></li>`;
  const period = `${utc(r.period.from)} to ${utc(r.period.to)}`;
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>breakglass compliance report, ${escapeHtml(period)}</title><style>${STYLE}</style></head><body>`,
    '<h1>breakglass compliance report</h1>',
    `<p>${escapeHtml(text.header[0])}</p>`,
    `<p>Audit chain: <span class="${r.auditChain.valid ? 'valid' : 'broken'}">${escapeHtml(chain(r))}</span></p>`,
    '<ul class="summary" aria-label="Figures of the period">',
    card('Grants', String(r.grants.total), `${r.grants.byTarget.reduce((sum, g) => sum + g.flagged, 0)} flagged`),
    card('Denied requests', String(r.denials.total), ''),
    card('Retroactive PR on time', pct(r.retroPr.onTimeRate), `${r.retroPr.onTime} of ${r.retroPr.onTime + r.retroPr.late + r.retroPr.overdue} judged`),
    card('Reviews on time', pct(r.reviews.onTimeRate), `${r.reviews.onTime} of ${r.reviews.onTime + r.reviews.late + r.reviews.overdue} judged`),
    card('Violations', String(r.violations.length), ''),
    '</ul>',
    '<section><h2>Retroactive pull requests</h2>',
    ...text.retroPr.map((line) => `<p>${line}</p>`),
    '</section><section><h2>Session reviews</h2>',
    ...text.reviews.map((line) => `<p>${line}</p>`),
    '</section><section><h2>Charts</h2>',
    ...charts(r),
    '</section><section><h2>GitOps</h2>',
    ...text.gitops.map((line) => `<p>${line}</p>`),
    '</section>',
    ...tables(r).map(table),
    '</body></html>',
    '',
  ].join('\n');
}
