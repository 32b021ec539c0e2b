import type { DrillOverview, DrillRunView } from '../api-types';
import { type Cli } from '../cli-context';

/** drill run NAME, drill list. */
export function registerDrillCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  const drill = program.command('drill').description('break-glass drills: scheduled proof that the emergency path works (docs/drills.md)');

  drill
    .command('run')
    .description('run a drill now (admin) and show every step; exits 2 when the drill failed')
    .argument('<name>', 'the drill, as named in the policy')
    .action(async (name: string) => {
      const run = await client().post<DrillRunView>(`v1/drills/${encodeURIComponent(name)}/run`, {});
      console.log(asJson() ? JSON.stringify(run) : runReport(run));
      process.exitCode = run.status === 'passed' ? 0 : 2;
    });

  drill
    .command('list')
    .description("the policy's drills with their next run, each target's last drill, and recent runs (security, compliance, admin)")
    .option('--drill <name>', 'only the runs of this drill')
    .option('--limit <n>', 'runs to show', '20')
    .action(async (options: { drill?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: options.limit, ...(options.drill ? { drill: options.drill } : {}) });
      const overview = await client().get<DrillOverview>(`v1/drills?${query}`);
      console.log(asJson() ? JSON.stringify(overview) : overviewReport(overview));
    });
}

function runReport(run: DrillRunView): string {
  const verdict =
    run.status === 'passed'
      ? `Drill ${run.drill} run ${run.id} passed`
      : `Drill ${run.drill} run ${run.id} ${run.status === 'failed' ? `FAILED at ${run.failedStep}${run.failedTarget && run.failedTarget !== '*' ? ` on ${run.failedTarget}` : ''}: ${run.error}` : 'is running'}`;
  const steps = run.steps.map(
    (step) =>
      `  ${step.outcome === 'passed' ? 'ok  ' : 'FAIL'} ${step.target.padEnd(16)} ${step.step.padEnd(13)} ${String(step.ms).padStart(6)} ms${step.error ? `  ${step.error}` : ''}`,
  );
  const grants = run.grants.length ? [`Grants: ${run.grants.join(', ')} (each has its evidence bundle: breakglass evidence export GRANT)`] : [];
  return [verdict, ...steps, ...grants].join('\n');
}

function overviewReport(overview: DrillOverview): string {
  const drills = overview.drills.length
    ? overview.drills.map((d) => `  ${d.name.padEnd(16)} ${d.schedule.padEnd(16)} (${d.timeZone})  next ${d.nextRunAt}  targets: ${d.targets.join(', ')}`)
    : ['  (the policy has no drills)'];
  const targets = overview.targets.map(
    (t) =>
      `  ${t.target.padEnd(16)} last ${t.last ? `${t.last.status} ${t.last.finishedAt ?? t.last.startedAt} (${t.last.drill} #${t.last.id})` : 'never'}; last passed ${t.lastPassed ? `${t.lastPassed.finishedAt} (#${t.lastPassed.id})` : 'never'}`,
  );
  const runs = overview.runs.map(
    (r) =>
      `  #${String(r.id).padEnd(5)} ${r.drill.padEnd(16)} ${r.trigger.padEnd(9)} ${r.startedAt}  ${r.status}${r.failedStep ? ` at ${r.failedStep}: ${r.error}` : ''}`,
  );
  return [
    'Drills:',
    ...drills,
    '',
    'Targets:',
    ...(targets.length ? targets : ['  (no drill has run yet)']),
    '',
    'Runs:',
    ...(runs.length ? runs : ['  (none)']),
  ].join('\n');
}
