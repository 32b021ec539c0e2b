import { grantEnded, requireLocalGrant, sessionClient, type Cli } from '../cli-context';
import { loadGrant, type LocalGrant } from '../local-state';
import { flushSpool, recordOneCommand, recordShell, type Delivery } from '../recorder';
import { Spool } from '../spool';

/** exec, shell, flush: the session recorder. */
export function registerSessionCommands(cli: Cli): void {
  const { program, asJson } = cli;

  /** A grant that has ended is refused before anything runs, saying who ended it and why. */
  const usableGrant = async (grantId: string): Promise<LocalGrant> => {
    const grant = requireLocalGrant(grantId);
    const ended = await grantEnded(cli, grant);
    if (ended) throw new Error(ended);
    return grant;
  };

  program
    .command('exec <grant> <command...>')
    .description('run one command with the grant credential, recorded in the session log (use -- before the command)')
    .action(async (grantId: string, command: string[]) => {
      const grant = await usableGrant(grantId);
      const { exitCode, delivery } = await recordOneCommand(grant, sessionClient(grant), command);
      if (delivery.error)
        process.stderr.write(`breakglass: recorded locally; not sent yet (${delivery.error}). It will be sent by the next command or \`breakglass flush\`.\n`);
      process.exitCode = exitCode;
    });

  program
    .command('shell <grant>')
    .description('a bash shell with the grant credential, every command line recorded in the session log')
    .action(async (grantId: string) => {
      const grant = await usableGrant(grantId);
      process.stderr.write(`breakglass: recorded shell for ${grant.id} on ${grant.target}; every command is sent to the session log. Exit to end.\n`);
      const { exitCode, recorded, delivery } = await recordShell(grant, sessionClient(grant));
      process.stderr.write(
        `breakglass: ${recorded} command(s) recorded${delivery.error ? `; not all sent yet (${delivery.error}) — run \`breakglass flush\`` : delivery.ended ? '' : ' and sent'}.\n`,
      );
      process.exitCode = exitCode;
    });

  program
    .command('flush [grant]')
    .description('send recorded events still waiting in the local spool')
    .action(async (grantId?: string) => {
      const grants = grantId ? [grantId.toUpperCase()] : Spool.grantsWithSpools();
      const results: (Delivery & { grant: string })[] = [];
      for (const id of grants) {
        const local = loadGrant(id);
        if (!local) results.push({ grant: id, error: 'no local record of this grant (request it from this machine)', sent: 0, setAside: 0, ended: null });
        else results.push(await flushSpool(sessionClient(local), id));
      }
      if (asJson()) console.log(JSON.stringify(results));
      else for (const r of results) console.log(flushSummary(r));
      // Only an unreachable broker is a failure: events set aside after the end are handled, not pending.
      process.exitCode = results.some((r) => r.error) ? 3 : 0;
    });
}

function flushSummary(result: Delivery & { grant: string }): string {
  if (result.error !== null) return `${result.grant}: not sent (${result.error})`;
  const aside = result.setAside ? `; ${result.setAside} recorded after the grant ended kept in ${result.afterEndFile}, not sent (${result.ended})` : '';
  return `${result.grant}: ${result.sent} event(s) sent${aside}`;
}
