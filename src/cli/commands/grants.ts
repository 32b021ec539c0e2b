import { Option } from 'commander';
import type { ClockPage, ClockView, GrantCreated, GrantDetail, GrantExtended, GrantPage, GrantView, LinkAnswer, TargetList } from '../api-types';
import { parseDuration, type Cli } from '../cli-context';
import { describeCredential, describeGrant, describeNewGrant, grantTable, table, timeLeft } from '../grant-output';
import { loadGrant, saveGrant, type LocalGrant } from '../local-state';

/** request, targets, status, extend, link-pr, waive, revoke: breaking the glass and what follows. */
export function registerGrantCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  program
    .command('request')
    .description('break the glass: ask for time-boxed access to a target')
    .requiredOption('--target <name>', 'target from the policy (breakglass targets)')
    .requiredOption('--incident <id>', 'incident id, e.g. INC-4821')
    .requiredOption('--reason <text>', 'why you need access now')
    .option('--duration <duration>', "how long, e.g. 30m or 1h30m (default: the target's defaultDuration)", parseDuration)
    .option('--role <role>', 'narrow the credential to one role the target offers')
    .action(async (options: { target: string; incident: string; reason: string; duration?: number; role?: string }) => {
      const grant = await client().post<GrantCreated>('v1/grants', {
        target: options.target,
        incident: options.incident,
        reason: options.reason,
        ...(options.duration ? { durationSeconds: options.duration } : {}),
        ...(options.role ? { role: options.role } : {}),
      });
      // Kept locally (0600) so `shell`/`exec` can use the credential and the session token.
      saveGrant({
        id: grant.id,
        broker: program.opts<{ url: string }>().url,
        target: grant.target,
        expiresAt: grant.expiresAt,
        sessionToken: grant.sessionToken,
        credential: grant.credential,
      });
      console.log(asJson() ? JSON.stringify(grant) : describeNewGrant(grant));
    });

  program
    .command('targets')
    .description('targets you can break the glass on, with their limits')
    .action(async () => {
      const { targets } = await client().get<TargetList>('v1/targets');
      if (asJson()) return console.log(JSON.stringify(targets));
      const rows = targets.map((t) => [
        t.name,
        t.environment,
        t.credentialType,
        t.defaultDuration,
        t.maxDuration,
        t.roles.join(',') || '-',
        t.incidentExample ?? t.incidentPattern,
      ]);
      console.log(table(['TARGET', 'ENVIRONMENT', 'CREDENTIAL', 'DEFAULT', 'MAX', 'ROLES', 'INCIDENT'], rows));
    });

  program
    .command('status [grant]')
    .description('one grant in detail, or your active grants')
    .action(async (grantId?: string) => {
      if (grantId) {
        const grant = await client().get<GrantDetail>(`v1/grants/${encodeURIComponent(grantId)}`);
        return console.log(asJson() ? JSON.stringify(grant) : describeGrant(grant));
      }
      const { grants } = await client().get<GrantPage>('v1/grants?status=active');
      console.log(asJson() ? JSON.stringify(grants) : grantTable(grants));
    });

  program
    .command('extend <grant>')
    .description('more time on an active grant (requester only), with a fresh reason')
    .requiredOption('--duration <duration>', 'how much more, e.g. 15m', parseDuration)
    .requiredOption('--reason <text>', 'why more time is needed')
    .action(async (grantId: string, options: { duration: number; reason: string }) => {
      const grant = await client().post<GrantExtended>(`v1/grants/${encodeURIComponent(grantId)}/extend`, {
        durationSeconds: options.duration,
        reason: options.reason,
      });
      // The local record follows, so `exec`, `shell` and the kubectl plugin use the new expiry and token.
      const local = loadGrant(grant.id);
      if (local)
        saveGrant({
          ...local,
          expiresAt: grant.expiresAt,
          ...(grant.newCredential ? { credential: { ...local.credential, ...grant.newCredential } as LocalGrant['credential'] } : {}),
        });
      if (asJson()) return console.log(JSON.stringify(grant));
      console.log(`${grant.id} now ends at ${grant.expiresAt} (${timeLeft(grant.expiresAt)} left).`);
      if (grant.newCredential) console.log(['New credential — shown once:', ...describeCredential(grant.newCredential, grant.id)].join('\n'));
    });

  program
    .command('link-pr <grant> <url>')
    .description('link the retroactive PR (or MR) of a grant by hand, e.g. when the forge webhook is not set up; stops its SLA clock')
    .action(async (grantId: string, url: string) => {
      const { linked } = await client().post<LinkAnswer>(`v1/grants/${encodeURIComponent(grantId)}/pull-requests`, { url });
      if (asJson()) return console.log(JSON.stringify(linked));
      for (const link of linked) {
        const clock = link.clock ? `; retro-PR clock ${link.clock.replace('_', ' ')}` : '';
        const elsewhere = link.repoMatches ? '' : ' (not the repository the target expects: flagged for security)';
        console.log(`${link.grant}: linked ${link.repo}#${link.number} (${link.state})${elsewhere}${clock}.`);
      }
    });

  program
    .command('waive <grant>')
    .description("waive a grant's running or breached SLA clock, with the reason compliance accepts it (compliance role)")
    .requiredOption('--reason <text>', 'why the clock does not apply (at least 10 characters)')
    .addOption(new Option('--clock <kind>', 'which clock').choices(['retro_pr', 'review']).default('retro_pr'))
    .action(async (grantId: string, options: { reason: string; clock: 'retro_pr' | 'review' }) => {
      // Clocks are waived by id; the CLI finds the grant's clock of that kind, so nobody copies a UUID.
      const { clocks } = await client().get<ClockPage>(`v1/sla?grant=${encodeURIComponent(grantId)}&kind=${options.clock}`);
      const clock = clocks[0];
      if (!clock) throw new Error(`${grantId} has no ${options.clock} clock (check the grant id with breakglass status)`);
      const waived = await client().post<ClockView>(`v1/sla/${clock.id}/waive`, { reason: options.reason });
      console.log(asJson() ? JSON.stringify(waived) : `${grantId}: ${options.clock} clock waived by ${waived.resolvedBy} (${waived.resolution}).`);
    });

  program
    .command('revoke <grant>')
    .description('end a grant now: its credential stops working at once')
    .requiredOption('--reason <text>', 'why')
    .action(async (grantId: string, options: { reason: string }) => {
      const grant = await client().post<GrantView>(`v1/grants/${encodeURIComponent(grantId)}/revoke`, {
        reason: options.reason,
      });
      console.log(asJson() ? JSON.stringify(grant) : `${grant.id} ${grant.status} at ${grant.endedAt}.`);
    });
}
