import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { JSONWebKeySet } from 'jose';
import { DevIssuer, isBrokerRole } from '../auth/dev-issuer';
import { parseDurationSeconds } from '../config/duration';
import { loadConfig } from '../config/env';
import type { BrokerRole } from '../config/policy.schema';
import { verifyEvidence } from '../evidence/bundle-verifier';
import { createLogger, openDatabase, startService } from '../service';
import { reportStartupFailure } from '../startup-failure';
import { ApiClient, ApiError } from './api-client';
import { parseExpectedHead, verifyAuditChainRemotely } from './audit-verify';
import { describeCredential, describeGrant, describeNewGrant, grantTable, timeLeft } from './grant-output';
import {
  defaultKubeconfigPath,
  detectExecApiVersion,
  EXEC_API_VERSIONS,
  execCredential,
  kubeconfigEntries,
  mergedKubeconfig,
  requestedExecApiVersion,
  standaloneKubeconfig,
  type ExecApiVersion,
} from './kubeconfig';
import { cliHome, loadGrant, saveGrant, type LocalGrant } from './local-state';
import { reconcilerCommands, type GitopsScopeView } from './reconciler-commands';
import { flushSpools, recordOneCommand, recordShell } from './recorder';
import { Spool } from './spool';

// `breakglass`: the service itself (serve, migrate) and a client of its v1 API. BREAKGLASS_URL and
// BREAKGLASS_TOKEN select the server and the caller. Human output by default, --json for scripts.

const program = new Command()
  .name('breakglass')
  .description('Emergency access broker: break the glass, with more audit evidence than a normal change')
  .showHelpAfterError()
  .addOption(new Option('--url <url>', 'broker base URL').env('BREAKGLASS_URL').default('http://127.0.0.1:8080'))
  .addOption(new Option('--token <token>', 'bearer token of the caller').env('BREAKGLASS_TOKEN'))
  .option('--json', 'machine-readable output');

function client(): ApiClient {
  const { url, token } = program.opts<{ url: string; token?: string }>();
  return new ApiClient({ baseUrl: url, token });
}

function asJson(): boolean {
  return Boolean(program.opts<{ json?: boolean }>().json);
}

program
  .command('serve')
  .description('run the broker (same as npm start)')
  .action(async () => {
    const service = await startService(process.env).catch(reportStartupFailure);
    const shutdown = () => service.stop().finally(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

program
  .command('migrate')
  .description('apply pending database migrations, then exit')
  .action(async () => {
    const config = loadConfig(process.env);
    const database = await openDatabase(config, createLogger(config)).catch(reportStartupFailure);
    await database.close();
    console.log(asJson() ? JSON.stringify({ migrated: true }) : 'Database is up to date.');
  });

program
  .command('dev-token')
  .description('print a bearer token from the dev issuer in the data dir (AUTH_MODE=dev only)')
  .requiredOption('--sub <subject>', 'the caller, e.g. oncall-1')
  .requiredOption('--roles <roles>', 'comma-separated broker roles: engineer, security, compliance, admin', parseRoles)
  .option('--email <email>', 'email claim (used for on-call checks and requester notifications)')
  .option('--ttl <duration>', 'lifetime, e.g. 30m, 12h', parseDuration, 12 * 3600)
  .action(async (options: { sub: string; roles: BrokerRole[]; email?: string; ttl: number }) => {
    const config = loadConfig(process.env);
    const issuer = await DevIssuer.open(config.dataDir);
    const token = await issuer.mint({ subject: options.sub, roles: options.roles, email: options.email, ttlSeconds: options.ttl });
    console.log(asJson() ? JSON.stringify({ token, subject: options.sub, roles: options.roles, expiresInSeconds: options.ttl }) : token);
  });

program
  .command('request')
  .description('break the glass: ask for time-boxed access to a target')
  .requiredOption('--target <name>', 'target from the policy (breakglass targets)')
  .requiredOption('--incident <id>', 'incident id, e.g. INC-4821')
  .requiredOption('--reason <text>', 'why you need access now')
  .requiredOption('--duration <duration>', 'how long, e.g. 30m', parseDuration)
  .option('--role <role>', 'narrow the credential to one role the target offers')
  .action(async (options: { target: string; incident: string; reason: string; duration: number; role?: string }) => {
    const grant = await client().post<Parameters<typeof describeNewGrant>[0]>('v1/grants', {
      target: options.target,
      incident: options.incident,
      reason: options.reason,
      durationSeconds: options.duration,
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
  .command('exec <grant> <command...>')
  .description('run one command with the grant credential, recorded in the session log (use -- before the command)')
  .action(async (grantId: string, command: string[]) => {
    const grant = requireLocalGrant(grantId);
    const { exitCode, flushError } = await recordOneCommand(grant, sessionClient(grant), command);
    if (flushError)
      process.stderr.write(`breakglass: recorded locally; not sent yet (${flushError}). It will be sent by the next command or \`breakglass flush\`.\n`);
    process.exitCode = exitCode;
  });

program
  .command('shell <grant>')
  .description('a bash shell with the grant credential, every command line recorded in the session log')
  .action(async (grantId: string) => {
    const grant = requireLocalGrant(grantId);
    process.stderr.write(`breakglass: recorded shell for ${grant.id} on ${grant.target}; every command is sent to the session log. Exit to end.\n`);
    const { exitCode, recorded, flushError } = await recordShell(grant, sessionClient(grant));
    process.stderr.write(
      `breakglass: ${recorded} command(s) recorded${flushError ? `; not all sent yet (${flushError}) — run \`breakglass flush\`` : ' and sent'}.\n`,
    );
    process.exitCode = exitCode;
  });

program
  .command('flush [grant]')
  .description('send recorded events still waiting in the local spool')
  .action(async (grantId?: string) => {
    const grants = grantId ? [grantId] : Spool.grantsWithSpools();
    const results = [];
    for (const id of grants) {
      const local = loadGrant(id);
      if (!local) results.push({ grant: id, sent: 0, error: 'no local record of this grant (request it from this machine)' });
      else results.push(...(await flushSpools(sessionClient(local), [id])));
    }
    if (asJson()) console.log(JSON.stringify(results));
    else for (const r of results) console.log(r.error ? `${r.grant}: not sent (${r.error})` : `${r.grant}: ${r.sent} event(s) sent`);
    process.exitCode = results.some((r) => r.error) ? 3 : 0;
  });

program
  .command('targets')
  .description('targets you can break the glass on, with their limits')
  .action(async () => {
    const { targets } = await client().get<{ targets: { name: string; environment: string; credentialType: string; maxDuration: string }[] }>('v1/targets');
    if (asJson()) return console.log(JSON.stringify(targets));
    for (const t of targets) console.log(`${t.name.padEnd(24)} ${t.environment.padEnd(12)} ${t.credentialType.padEnd(9)} max ${t.maxDuration}`);
  });

program
  .command('status [grant]')
  .description('one grant in detail, or your active grants')
  .action(async (grantId?: string) => {
    if (grantId) {
      const grant = await client().get<Parameters<typeof describeGrant>[0]>(`v1/grants/${encodeURIComponent(grantId)}`);
      return console.log(asJson() ? JSON.stringify(grant) : describeGrant(grant));
    }
    const { grants } = await client().get<{ grants: Parameters<typeof grantTable>[0] }>('v1/grants?status=active');
    console.log(asJson() ? JSON.stringify(grants) : grantTable(grants));
  });

program
  .command('extend <grant>')
  .description('more time on an active grant (requester only), with a fresh reason')
  .requiredOption('--duration <duration>', 'how much more, e.g. 15m', parseDuration)
  .requiredOption('--reason <text>', 'why more time is needed')
  .action(async (grantId: string, options: { duration: number; reason: string }) => {
    const grant = await client().post<{ id: string; expiresAt: string; newCredential?: Parameters<typeof describeCredential>[0] }>(
      `v1/grants/${encodeURIComponent(grantId)}/extend`,
      { durationSeconds: options.duration, reason: options.reason },
    );
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
  .command('revoke <grant>')
  .description('end a grant now: its credential stops working at once')
  .requiredOption('--reason <text>', 'why')
  .action(async (grantId: string, options: { reason: string }) => {
    const grant = await client().post<{ id: string; status: string; endedAt: string }>(`v1/grants/${encodeURIComponent(grantId)}/revoke`, {
      reason: options.reason,
    });
    console.log(asJson() ? JSON.stringify(grant) : `${grant.id} ${grant.status} at ${grant.endedAt}.`);
  });

program
  .command('keys')
  .description('signing keys')
  .command('rotate')
  .description('start signing with a new key (admin); old keys stay published until their tokens expire')
  .action(async () => {
    const rotated = await client().post<{ kid: string; retired: string[]; keys: { alg: string; kid: string }[] }>('v1/keys/rotate', {});
    console.log(
      asJson()
        ? JSON.stringify(rotated)
        : `Signing with ${rotated.keys.map((key) => `${key.alg} ${key.kid}`).join(', ')}; retired ${rotated.retired.join(', ') || 'none'}.`,
    );
  });

program
  .command('kubeconfig <grant>')
  .description('a kubectl context for a grant on a Kubernetes target; kubectl gets the token from `breakglass credential kubernetes`')
  .addOption(new Option('--out <file>', 'write a kubeconfig holding only this context').conflicts('merge'))
  .option('--merge', 'add the context to $KUBECONFIG (its first file) or ~/.kube/config, keeping everything there, and switch to it')
  .addOption(
    new Option('--exec-api-version <version>', 'exec credential apiVersion (default: what the installed kubectl speaks)').choices([...EXEC_API_VERSIONS]),
  )
  .action((grantId: string, options: { out?: string; merge?: boolean; execApiVersion?: ExecApiVersion }) => {
    const entries = kubeconfigEntries(requireLocalGrant(grantId), options.execApiVersion ?? detectExecApiVersion());
    if (!options.out && !options.merge) return void process.stdout.write(standaloneKubeconfig(entries));
    const file = options.out ?? defaultKubeconfigPath();
    let previousContext: string | null = null;
    let text = standaloneKubeconfig(entries);
    if (options.merge) {
      ({ text, previousContext } = mergedKubeconfig(existsSync(file) ? readFileSync(file, 'utf8') : '', entries));
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    }
    writeFileSync(file, text, { mode: 0o600 });
    if (asJson()) return console.log(JSON.stringify({ file, context: entries.contextName, previousContext }));
    console.log(`Context ${entries.contextName} written to ${file}${options.merge ? ' and made current' : ''}.`);
    if (options.merge && previousContext && previousContext !== entries.contextName)
      console.log(`Switch back with: kubectl config use-context ${previousContext}`);
    if (options.out) console.log(`Use it with: kubectl --kubeconfig ${file} get pods`);
  });

program
  .command('credential')
  .description('credential helpers run by other tools')
  .command('kubernetes <grant>')
  .description("kubectl's exec credential plugin: prints an ExecCredential with the grant's token while the grant is active")
  .action(async (grantId: string) => {
    const apiVersion = requestedExecApiVersion(process.env.KUBERNETES_EXEC_INFO);
    const grant = requireLocalGrant(grantId);
    if (grant.credential.type !== 'jwt') throw new Error(`${grant.id} is a ${grant.credential.type} grant, not a token for a Kubernetes cluster`);
    const ended = await grantEnded(grant);
    if (ended)
      throw new Error(
        `${grant.id} on ${grant.target} ${ended}. Request a new grant: breakglass request --target ${grant.target} --incident … --reason … --duration …`,
      );
    process.stdout.write(`${JSON.stringify(execCredential(apiVersion, grant.credential.token, grant.expiresAt))}\n`);
  });

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
      const grant = await client().get<{ target: string }>(`v1/grants/${encodeURIComponent(grantId)}`);
      const { targets } = await client().get<{ targets: { name: string; gitops: GitopsScopeView | null }[] }>('v1/targets');
      const scope = targets.find((t) => t.name === grant.target)?.gitops;
      if (!scope || (!scope.kustomizations.length && !scope.apps.length)) {
        throw new Error(`target ${grant.target} lists no Flux kustomizations or Argo CD apps in its policy gitops scope`);
      }
      const commands = reconcilerCommands(scope, change);
      const recorded = options.record
        ? await client().post<Record<string, unknown>>(`v1/grants/${encodeURIComponent(grantId)}/gitops/${change === 'pause' ? 'paused' : 'resumed'}`, {})
        : null;
      if (asJson()) return console.log(JSON.stringify({ commands, recorded }));
      console.log(`# ${change === 'pause' ? 'Suspend' : 'Resume'} reconciliation of ${grant.target}'s GitOps scope (${grantId}):`);
      for (const command of commands) console.log(command);
      if (recorded) console.log(`# recorded in the audit log as gitops.${change === 'pause' ? 'paused' : 'resumed'}`);
    });
}

const evidence = program
  .command('evidence')
  .description('signed evidence bundles')
  .argument('[grant]', 'grant id to export')
  .option('--out <file>', 'write the bundle here (default: <grant>.evidence.json)')
  .action(async (grantId: string | undefined, options: { out?: string }) => {
    if (!grantId) return evidence.help();
    const signed = await client().get<{ bundle: Record<string, unknown>; jws: string }>(`v1/grants/${encodeURIComponent(grantId)}/evidence`);
    const out = options.out ?? `${grantId}.evidence.json`;
    writeFileSync(out, JSON.stringify(signed, null, 2));
    console.log(asJson() ? JSON.stringify({ file: out }) : `Evidence for ${grantId} written to ${out} (verify offline: breakglass evidence verify ${out}).`);
  });
evidence
  .command('verify <file>')
  .description('check a bundle offline: signature (JWKS), canonical payload, session chain, audit hashes')
  .option('--jwks <url-or-file>', 'the JWKS to trust (default: <broker>/.well-known/jwks.json)')
  .action(async (file: string, options: { jwks?: string }) => {
    const source = options.jwks ?? `${program.opts<{ url: string }>().url.replace(/\/+$/, '')}/.well-known/jwks.json`;
    const jwks = (
      /^https?:\/\//.test(source) ? await (await fetch(source, { signal: AbortSignal.timeout(30000) })).json() : JSON.parse(readFileSync(source, 'utf8'))
    ) as JSONWebKeySet;
    const verdict = await verifyEvidence(JSON.parse(readFileSync(file, 'utf8')), jwks);
    if (asJson()) console.log(JSON.stringify(verdict));
    else {
      console.log(
        `${verdict.valid ? 'VALID' : 'INVALID'}: signature ${verdict.signature}${verdict.kid ? ` (kid ${verdict.kid})` : ''}, payload ${verdict.payloadMatchesBundle ? 'matches' : 'does NOT match'} the bundle`,
      );
      console.log(`  session log: ${verdict.session.valid ? 'valid' : `broken at seq ${verdict.session.firstInvalidSeq}`} (${verdict.session.count} events)`);
      console.log(`  audit events: ${verdict.audit.valid ? 'valid' : `altered at seq ${verdict.audit.firstInvalidSeq}`} (${verdict.audit.count} events)`);
    }
    process.exitCode = verdict.valid ? 0 : 2;
  });

const audit = program.command('audit').description('the hash-chained audit log');
audit
  .command('verify')
  .description('download the audit log and recompute every hash locally (needs compliance or security)')
  .option('--expect-head <seq:hash...>', "a head seen earlier (export trailer lastSeq:lastHash, a SIEM's last event) the log must still pass through")
  .action(async (options: { expectHead?: string[] }) => {
    const expected = (options.expectHead ?? []).map(parseExpectedHead);
    const verdict = await verifyAuditChainRemotely(client(), expected);
    if (asJson()) console.log(JSON.stringify(verdict));
    else if (verdict.valid)
      console.log(
        `Audit chain valid: ${verdict.count} events, head ${verdict.headHash}${expected.length ? `, passing through ${expected.map((e) => `seq ${e.seq}`).join(', ')}` : ''}`,
      );
    else if (verdict.brokenAnchor?.actualHash === null)
      console.log(
        `Audit chain BROKEN: it ends at seq ${verdict.firstInvalidSeq! - 1}, before the expected head at seq ${verdict.brokenAnchor.seq}: events were removed from its end`,
      );
    else if (verdict.brokenAnchor)
      console.log(
        `Audit chain REWRITTEN: at seq ${verdict.brokenAnchor.seq} its hash is ${verdict.brokenAnchor.actualHash}, not the expected ${verdict.brokenAnchor.expectedHash} (changed at or after seq ${verdict.firstInvalidSeq})`,
      );
    else console.log(`Audit chain BROKEN at seq ${verdict.firstInvalidSeq} (${verdict.count} events read)`);
    process.exitCode = verdict.valid ? 0 : 2;
  });

function requireLocalGrant(id: string): LocalGrant {
  const grant = loadGrant(id);
  if (!grant) throw new Error(`no local record of ${id}: request it from this machine with \`breakglass request\` (records live in ${cliHome()})`);
  return grant;
}

/**
 * Why a local grant can no longer be used ("expired at …", "was revoked at …"), or null. The broker
 * decides when it answers; when it cannot be asked (down, no caller token) the local expiry does,
 * with a warning: the cluster's audit webhook still records every use (docs/kubernetes.md).
 */
async function grantEnded(grant: LocalGrant): Promise<string | null> {
  if (Date.parse(grant.expiresAt) <= Date.now()) return `expired at ${grant.expiresAt}`;
  const { token } = program.opts<{ token?: string }>();
  try {
    const current = await new ApiClient({ baseUrl: process.env.BREAKGLASS_URL ?? grant.broker, token }).get<{ status: string; endedAt: string | null }>(
      `v1/grants/${encodeURIComponent(grant.id)}`,
    );
    return current.status === 'active'
      ? null
      : `was ${current.status === 'revoked' ? 'revoked' : 'ended'}${current.endedAt ? ` at ${current.endedAt}` : ''} (status ${current.status})`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return `is unknown to the broker at ${process.env.BREAKGLASS_URL ?? grant.broker}`;
    process.stderr.write(
      `breakglass: could not confirm ${grant.id} with the broker (${(error as Error).message}); using the local expiry ${grant.expiresAt}\n`,
    );
    return null;
  }
}

/** Session events go to the broker the grant came from, with its session token. */
function sessionClient(grant: LocalGrant): ApiClient {
  return new ApiClient({ baseUrl: process.env.BREAKGLASS_URL ?? grant.broker, token: grant.sessionToken });
}

function parseRoles(value: string): BrokerRole[] {
  const roles = value
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const unknown = roles.filter((role) => !isBrokerRole(role));
  if (!roles.length || unknown.length)
    throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ') || '(none given)'}; use engineer, security, compliance, admin`);
  return roles as BrokerRole[];
}

function parseDuration(value: string): number {
  try {
    const seconds = parseDurationSeconds(value);
    if (seconds <= 0) throw new Error('must be positive');
    return seconds;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ApiError) {
    process.stderr.write(`breakglass: ${error.message}${error.status ? ` (HTTP ${error.status}, ${error.code})` : ''}\n`);
    process.exit(error.status === 0 ? 3 : 1);
  }
  process.stderr.write(`breakglass: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
