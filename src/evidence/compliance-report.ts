import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.service';
import { ComplianceReportRepository, type Period } from './compliance-report.repository';
import type { ComplianceReportView } from './evidence.views';

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const summary = (sorted: number[]) => ({ p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted.at(-1) ?? null });
const seconds = (from: Date, to: Date) => Math.round((to.getTime() - from.getTime()) / 1000);
/** On-time rate over clocks whose outcome is known or overdue (not waived, not still within time). */
const rate = (onTime: number, judged: number) => (judged ? Math.round((onTime / judged) * 1000) / 1000 : null);

/** `GET /v1/reports/compliance` (docs/api.md): what an auditor asks about a period, with the chain verdict. */
@Injectable()
export class ComplianceReport {
  constructor(
    private readonly repository: ComplianceReportRepository,
    private readonly auditLog: AuditLog,
  ) {}

  async build(period: Period): Promise<ComplianceReportView> {
    const [grants, denials, clocks, violations, controls, reconciled, drift, chain] = await Promise.all([
      this.repository.grantsByTarget(period),
      this.repository.denialsByReason(period),
      this.repository.clocks(period),
      this.repository.violations(period),
      this.repository.controlCounts(period),
      this.repository.reconciledChanges(period),
      this.repository.drift(period),
      this.auditLog.verify(),
    ]);
    const now = new Date();
    const retro = clocks.filter((c) => c.kind === 'retro_pr');
    const reviews = clocks.filter((c) => c.kind === 'review');
    const outcome = (list: typeof clocks) => {
      const onTime = list.filter((c) => c.state === 'satisfied').length;
      const late = list.filter((c) => c.state === 'satisfied_late').length;
      const overdue = list.filter((c) => c.overdue).length;
      const waived = list.filter((c) => c.state === 'waived').length;
      const pending = list.filter((c) => c.state === 'running' && !c.overdue).length;
      return { total: list.length, onTime, late, overdue, waived, pending, onTimeRate: rate(onTime, onTime + late + overdue) };
    };
    const timeToPr = retro
      .filter((c) => (c.state === 'satisfied' || c.state === 'satisfied_late') && c.resolvedAt)
      .map((c) => seconds(c.startedAt, c.resolvedAt!))
      .sort((a, b) => a - b);
    return {
      period,
      generatedAt: now.toISOString(),
      grants: { total: grants.reduce((sum, g) => sum + g.count, 0), byTarget: grants },
      denials: { total: denials.reduce((sum, d) => sum + d.count, 0), byReason: denials },
      retroPr: { ...outcome(retro), timeToPrSeconds: summary(timeToPr) },
      breaches: clocks
        .filter((c) => c.breachedAt)
        .map((c) => ({
          grant: c.grant,
          kind: c.kind,
          dueAt: c.dueAt.toISOString(),
          resolvedAt: c.resolvedAt?.toISOString() ?? null,
          state: c.state,
          breachSeconds: seconds(c.dueAt, c.resolvedAt ?? now),
        })),
      reviews: outcome(reviews),
      violations: violations.map((v) => ({ ...v, at: v.at.toISOString() })),
      waived: clocks
        .filter((c) => c.state === 'waived')
        .map((c) => ({ grant: c.grant, kind: c.kind, by: c.resolvedBy, reason: c.resolution, at: c.resolvedAt?.toISOString() ?? null })),
      gitops: {
        reconciled: reconciled.map((r) => ({
          grant: r.grant,
          repo: r.repo,
          number: r.number,
          commit: r.commit,
          reconciledAt: r.reconciledAt.toISOString(),
          secondsFromBreakGlass: r.seconds,
        })),
        timeToReconciledSeconds: summary(reconciled.map((r) => r.seconds).sort((a, b) => a - b)),
        driftAttributed: drift
          .filter((d) => d.action === 'drift.attributed')
          .map((d) => ({ seq: d.seq, at: d.at.toISOString(), grant: d.grant, source: d.source, object: d.object, resources: d.resources })),
        driftUnattributed: drift
          .filter((d) => d.action === 'drift.unattributed')
          .map((d) => ({ seq: d.seq, at: d.at.toISOString(), source: d.source, object: d.object, resources: d.resources, targets: d.targets })),
      },
      controls: Object.fromEntries(controls.map((c) => [c.control, c.count])),
      auditChain: chain,
    };
  }
}

export type ComplianceReportData = ComplianceReportView;

export function reportMarkdown(r: ComplianceReportData): string {
  const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);
  const table = (header: string[], rows: (string | number | null)[][]) =>
    rows.length
      ? [
          `| ${header.join(' | ')} |`,
          `| ${header.map(() => '---').join(' | ')} |`,
          ...rows.map(
            (row) =>
              `| ${row
                .map((cell) =>
                  String(cell ?? '')
                    .replace(/\|/g, '\\|')
                    .replace(/\n/g, ' '),
                )
                .join(' | ')} |`,
          ),
        ].join('\n')
      : '_none_';
  return [
    `# breakglass compliance report`,
    '',
    `Period: ${r.period.from} to ${r.period.to} (grants activated in the period). Generated ${r.generatedAt}.`,
    '',
    `Audit chain: **${r.auditChain.valid ? 'valid' : `BROKEN at seq ${r.auditChain.firstInvalidSeq}`}** (${r.auditChain.count} events, head \`${r.auditChain.headHash}\`).`,
    '',
    `## Break-glass grants: ${r.grants.total}`,
    table(
      ['target', 'environment', 'grants', 'flagged'],
      r.grants.byTarget.map((g) => [g.target, g.environment, g.count, g.flagged]),
    ),
    '',
    `## Denied requests: ${r.denials.total}`,
    table(
      ['reason', 'count'],
      r.denials.byReason.map((d) => [d.code, d.count]),
    ),
    '',
    '## Retroactive pull requests',
    `On time ${r.retroPr.onTime}, late ${r.retroPr.late}, overdue ${r.retroPr.overdue}, waived ${r.retroPr.waived}, not yet due ${r.retroPr.pending}: on-time rate **${pct(r.retroPr.onTimeRate)}**.`,
    `Time to PR: p50 ${r.retroPr.timeToPrSeconds.p50 ?? 'n/a'} s, p90 ${r.retroPr.timeToPrSeconds.p90 ?? 'n/a'} s, max ${r.retroPr.timeToPrSeconds.max ?? 'n/a'} s.`,
    '',
    '## SLA breaches',
    table(
      ['grant', 'clock', 'due', 'resolved', 'state', 'breach (s)'],
      r.breaches.map((b) => [b.grant, b.kind, b.dueAt, b.resolvedAt, b.state, b.breachSeconds]),
    ),
    '',
    '## Session reviews',
    `On time ${r.reviews.onTime}, late ${r.reviews.late}, overdue ${r.reviews.overdue}, waived ${r.reviews.waived}: on-time rate **${pct(r.reviews.onTimeRate)}**.`,
    '',
    `## Violations found in review: ${r.violations.length}`,
    table(
      ['grant', 'reviewer', 'at', 'notes'],
      r.violations.map((v) => [v.grant, v.reviewer, v.at, v.notes]),
    ),
    '',
    '## Waived clocks',
    table(
      ['grant', 'clock', 'by', 'at', 'reason'],
      r.waived.map((w) => [w.grant, w.kind, w.by, w.at, w.reason]),
    ),
    '',
    '## GitOps: emergency changes reconciled from Git',
    `${r.gitops.reconciled.length} grant(s) reached change.reconciled (merged retro PR applied by the reconciler). Time from break-glass to reconciled: p50 ${r.gitops.timeToReconciledSeconds.p50 ?? 'n/a'} s, p90 ${r.gitops.timeToReconciledSeconds.p90 ?? 'n/a'} s, max ${r.gitops.timeToReconciledSeconds.max ?? 'n/a'} s.`,
    table(
      ['grant', 'PR', 'commit', 'reconciled', 'from break-glass (s)'],
      r.gitops.reconciled.map((g) => [g.grant, `${g.repo}#${g.number}`, g.commit.slice(0, 12), g.reconciledAt, g.secondsFromBreakGlass]),
    ),
    '',
    `## Drift: ${r.gitops.driftAttributed.length} attributed to grants, ${r.gitops.driftUnattributed.length} unattributed`,
    table(
      ['seq', 'at', 'source', 'object', 'targets'],
      r.gitops.driftUnattributed.map((d) => [d.seq, d.at, d.source, JSON.stringify(d.object), JSON.stringify(d.targets)]),
    ),
    '',
    '## Audit events per control',
    table(
      ['control', 'events'],
      Object.entries(r.controls).map(([control, count]) => [control, count]),
    ),
    '',
  ].join('\n');
}
