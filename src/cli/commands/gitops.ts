import type { GrantView, PauseRecord, TargetList } from '../api-types';
import { type Cli } from '../cli-context';
import { reconcilerCommands } from '../reconciler-commands';

/** gitops pause|resume: the pause helper. */
export function registerGitopsCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  const gitops = program.command('gitops').description('the pause helper: keep the GitOps reconciler from reverting an emergency fix');
  for (const change of ['pause', 'resume'] as const) {
    gitops
      .command(`${change} <grant>`)
      .description(
        change === 'pause'
          ? "print the commands that suspend reconciliation of the grant target's scope, and record it"
          : 'print the commands that resume reconciliation, and record it',
      )
      .option('--no-record', 'only print the commands')
      .action(async (grantId: string, options: { record: boolean }) => {
        const grant = await client().get<GrantView>(`v1/grants/${encodeURIComponent(grantId)}`);
        const { targets } = await client().get<TargetList>('v1/targets');
        const scope = targets.find((t) => t.name === grant.target)?.gitops;
        if (!scope || (!scope.kustomizations.length && !scope.apps.length)) {
          throw new Error(`target ${grant.target} lists no Flux kustomizations or Argo CD apps in its policy gitops scope`);
        }
        const commands = reconcilerCommands(scope, change);
        const recorded = options.record
          ? await client().post<PauseRecord>(`v1/grants/${encodeURIComponent(grantId)}/gitops/${change === 'pause' ? 'paused' : 'resumed'}`, {})
          : null;
        if (asJson()) return console.log(JSON.stringify({ commands, recorded }));
        console.log(`# ${change === 'pause' ? 'Suspend' : 'Resume'} reconciliation of ${grant.target}'s GitOps scope (${grantId}):`);
        for (const command of commands) console.log(command);
        if (recorded) console.log(`# recorded in the audit log as gitops.${change === 'pause' ? 'paused' : 'resumed'}`);
      });
  }
}
