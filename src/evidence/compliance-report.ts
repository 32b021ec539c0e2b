import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.service';
import { LoadedPolicy } from '../config/config.providers';
import { formatDuration } from '../config/duration';
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

type ClockRow = Awaited<ReturnType<ComplianceReportRepository['clocks']>>[number];

/** Counts of one set of clocks: judged = on time + late + overdue (waived and not-yet-due are not). */
function judge(list: ClockRow[]) {
  const onTime = list.filter((c) => c.state === 'satisfied').length;
  const late = list.filter((c) => c.state === 'satisfied_late').length;
  const overdue = list.filter((c) => c.overdue).length;
  return { onTime, late, overdue, onTimeRate: rate(onTime, onTime + late + overdue) };
}

/** Monday 00:00 UTC of the week `at` falls in. */
function weekStart(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString();
}

function byWeek(list: ClockRow[]) {
  const weeks = new Map<string, ClockRow[]>();
  for (const clock of list) {
    const week = weekStart(clock.startedAt);
    weeks.set(week, [...(weeks.get(week) ?? []), clock]);
  }
  return [...weeks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([week, clocks]) => ({ weekStart: week, ...judge(clocks) }));
}

/** Spans people think in when asking "how soon did the PR come?". */
const TIME_TO_PR_BUCKETS = [15 * 60, 3600, 4 * 3600, 86400, 3 * 86400];

function buckets(sorted: number[]) {
  const bounds = [...TIME_TO_PR_BUCKETS, null];
  return bounds.map((below, i) => {
    const above = i ? TIME_TO_PR_BUCKETS[i - 1] : 0;
    const label = below === null ? `≥ ${formatDuration(above)}` : i === 0 ? `< ${formatDuration(below)}` : `${formatDuration(above)}–${formatDuration(below)}`;
    return { label, belowSeconds: below, count: sorted.filter((s) => s >= above && (below === null || s < below)).length };
  });
}

type VerifiedRow = Awaited<ReturnType<ComplianceReportRepository['verifiedPullRequests']>>[number];

/** The share of retro PRs that met every retroPr.require requirement, overall and per control. */
function forgeOutcomes(rows: VerifiedRow[]) {
  const perControl = new Map<string, { verified: number; compliant: number }>();
  for (const row of rows) {
    for (const control of row.controls) {
      const counts = perControl.get(control) ?? { verified: 0, compliant: 0 };
      counts.verified++;
      if (row.compliant) counts.compliant++;
      perControl.set(control, counts);
    }
  }
  const compliant = rows.filter((row) => row.compliant).length;
  return {
    verified: rows.length,
    compliant,
    compliantRate: rate(compliant, rows.length),
    byControl: [...perControl]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([control, counts]) => ({ control, ...counts, compliantRate: rate(counts.compliant, counts.verified) })),
    pullRequests: rows.map((row) => ({
      seq: row.seq,
      at: row.at.toISOString(),
      grant: row.grant,
      pr: `${row.repo}#${row.number}`,
      compliant: row.compliant,
      missing: row.missing ?? [],
    })),
  };
}

/** `GET /v1/reports/compliance` (docs/api.md): what an auditor asks about a period, with the chain verdict. */
@Injectable()
export class ComplianceReport {
  constructor(
    private readonly repository: ComplianceReportRepository,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
  ) {}

  async build(period: Period): Promise<ComplianceReportView> {
    await this.auditLog.settled(); // the report counts audit events: everything committed so far
    const [grants, perGrant, denials, clocks, violations, controls, reconciled, drift, drillRuns, lastPassed, verifiedPrs, chain] = await Promise.all([
      this.repository.grantsByTarget(period),
      this.repository.grants(period),
      this.repository.denialsByReason(period),
      this.repository.clocks(period),
      this.repository.violations(period),
      this.repository.controlCounts(period),
      this.repository.reconciledChanges(period),
      this.repository.drift(period),
      this.repository.drillRuns(period),
      this.repository.lastPassedDrills(period),
      this.repository.verifiedPullRequests(period),
      this.auditLog.verify(),
    ]);
    const passedByTarget = new Map(lastPassed.map((row) => [row.target, row]));
    const now = new Date();
    const retro = clocks.filter((c) => c.kind === 'retro_pr');
    const reviews = clocks.filter((c) => c.kind === 'review');
    const outcome = (list: ClockRow[]) => {
      const { onTime, late, overdue, onTimeRate } = judge(list);
      const waived = list.filter((c) => c.state === 'waived').length;
      const pending = list.filter((c) => (c.state === 'running' || c.state === 'pr_noncompliant') && !c.overdue).length;
      return { total: list.length, onTime, late, overdue, waived, pending, onTimeRate, byWeek: byWeek(list) };
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
      perGrant: perGrant.map((g) => ({ ...g, activatedAt: g.activatedAt.toISOString() })),
      retroPr: { ...outcome(retro), timeToPrSeconds: summary(timeToPr), timeToPrBuckets: buckets(timeToPr), forge: forgeOutcomes(verifiedPrs) },
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
      drills: {
        total: drillRuns.length,
        passed: drillRuns.filter((run) => run.status === 'passed').length,
        failed: drillRuns.filter((run) => run.status === 'failed').length,
        runs: drillRuns.map((run) => ({ ...run, startedAt: run.startedAt.toISOString(), finishedAt: run.finishedAt?.toISOString() ?? null })),
        lastPassedByTarget: this.policy.targets.map(({ name }) => {
          const last = passedByTarget.get(name);
          return { target: name, drill: last?.drill ?? null, run: last?.run ?? null, lastPassedAt: last?.finishedAt.toISOString() ?? null };
        }),
      },
      controls: Object.fromEntries(controls.map((c) => [c.control, c.count])),
      auditChain: chain,
    };
  }
}
