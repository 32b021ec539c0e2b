import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GrantError } from '../access/grant.errors';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { LoadedPolicy } from '../config/config.providers';
import { findTarget, type DrillPolicy, type TargetPolicy } from '../config/policy';
import { KeyStore } from '../credentials/key-store.service';
import { verifyEvidence } from '../evidence/bundle-verifier';
import { Evidence } from '../evidence/evidence.service';
import type { GrantCreated } from '../grants/grant-views';
import { Grants } from '../grants/grants.service';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { Notifications } from '../notifications/notifications.service';
import { PagerDutyOnCall } from '../pagerduty/on-call';
import { Sessions } from '../sessions/sessions.service';
import { CredentialProofs, DRILL_STATEMENT, type ProofDetail } from './credential-proofs';
import { DrillsRepository, type DrillOutcome, type DrillRunRecord, type DrillStep } from './drills.repository';

/** Reads the drill's own evidence bundle, as security would. */
const DRILL_EVIDENCE_READER: Principal = { subject: 'system:drill', email: null, roles: ['security'] };
/** Asked of PagerDuty to prove it answers: no such user exists, so "not on call" is the healthy answer. */
const DRILL_ON_CALL_EMAIL = 'breakglass-drill@breakglass.invalid';
const POLL_MS = 100;
const CLEANUP_TIMEOUT_MS = 10_000;

/** A step that did not finish: where the drill stopped, and why. */
class StepFailure extends Error {
  constructor(
    readonly step: string,
    readonly target: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Performs one claimed drill run: on each target the real break-glass path for `system:drill` —
 * policy, credential, the credential used, a recorded statement, revocation, the credential refused —
 * then the [DRILL] notices delivered and each grant's evidence bundle made and verified. Every step is
 * timed; the first failure (or the timeout) stops the drill, whose grants are then revoked so
 * nothing is left behind. The run's end and its audit event commit together.
 */
@Injectable()
export class DrillRunner {
  private readonly logger = new Logger('drills');

  constructor(
    private readonly grants: Grants,
    private readonly proofs: CredentialProofs,
    private readonly sessions: Sessions,
    private readonly evidence: Evidence,
    private readonly keys: KeyStore,
    private readonly onCall: PagerDutyOnCall,
    private readonly outbox: NotificationsRepository,
    private readonly notifications: Notifications,
    private readonly repository: DrillsRepository,
    private readonly auditLog: AuditLog,
    private readonly policy: LoadedPolicy,
    private readonly dataSource: DataSource,
  ) {}

  async run(drill: DrillPolicy, run: DrillRunRecord, stopping: () => boolean): Promise<DrillRunRecord> {
    const deadline = Date.now() + drill.timeoutSeconds * 1000;
    const steps: DrillStep[] = [];
    const issued: { target: TargetPolicy; grant: GrantCreated }[] = [];
    let failure: StepFailure | null = null;

    const step = async (target: string, name: string, work: (remainingMs: number) => Promise<ProofDetail>): Promise<ProofDetail> => {
      const startedAt = new Date();
      // Cleanup runs whatever happened before: stopping or past the timeout, with a bound of its own.
      const cleanup = name === 'cleanup';
      const remainingMs = cleanup ? CLEANUP_TIMEOUT_MS : deadline - Date.now();
      const record = (step: string, outcome: DrillStep['outcome'], detail: ProofDetail, error: string | null) =>
        steps.push({ target, step, outcome, startedAt: startedAt.toISOString(), ms: Date.now() - startedAt.getTime(), detail, error });
      try {
        if (!cleanup && stopping()) throw new Error('the service is stopping');
        if (remainingMs <= 0) throw new Error(`the drill's ${drill.timeoutSeconds}s timeout passed before this step`);
        const detail = await withTimeout(work(remainingMs), remainingMs, cleanup ? 'timed out' : `timed out (the drill's timeout is ${drill.timeoutSeconds}s)`);
        record(name, 'passed', detail, null);
        return detail;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // A step may name another as the one that failed (a refusal while issuing is the policy's).
        const failed = error instanceof StepFailure ? error.step : name;
        record(failed, 'failed', {}, message);
        throw new StepFailure(failed, target, message);
      }
    };

    try {
      for (const name of drill.targets) {
        const target = findTarget(this.policy, name);
        if (!target) throw new StepFailure('policy', name, `target ${name} is no longer in the policy`);
        await step(name, 'policy', () => this.policyCheck(target));
        let created: GrantCreated | undefined;
        await step(name, 'credential', async () => {
          try {
            created = await this.grants.requestForDrill(
              { run: run.id, name: drill.name, notify: drill.notify ?? target.notifyOnUse },
              {
                target: name,
                incident: `DRILL-${run.id}`,
                reason: `Break-glass drill ${drill.name}, run ${run.id}: a scheduled test that the emergency path works (policy, credential, recording, revocation, notifications, evidence)`,
                durationSeconds: Math.min(target.maxDurationSeconds, drill.timeoutSeconds),
              },
            );
          } catch (error) {
            // A refusal by the target's rules is the policy step's failure (audited as grant.denied).
            if (error instanceof GrantError) throw new StepFailure('policy', name, `refused by the policy (${error.code}): ${error.message}`);
            throw error;
          }
          return { grant: created.id, credential: created.credential.type, expiresAt: created.expiresAt };
        });
        const entry = { target, grant: created! };
        issued.push(entry);
        await step(name, 'login', (remainingMs) => this.proofs.works(target, entry.grant.id, entry.grant.credential, Math.min(remainingMs, 10_000)));
        await step(name, 'recorded', () => this.recorded(target, entry.grant, drill, run.id));
        await step(name, 'revoke', async () => {
          await this.grants.revokeForDrill(entry.grant.id, `drill ${drill.name}: proving that revocation works`);
          return { by: 'system:drill' };
        });
        await step(name, 'dead', (remainingMs) => this.proofs.dead(entry.grant.credential, Math.min(remainingMs, 10_000)));
      }
      const grantIds = issued.map((entry) => entry.grant.id);
      await step('*', 'notifications', () => this.delivered(grantIds, deadline, stopping));
      for (const entry of issued) await step(entry.target.name, 'evidence', () => this.bundle(entry.grant.id));
    } catch (error) {
      failure = error instanceof StepFailure ? error : new StepFailure('internal', '*', (error as Error).message);
      // Nothing stays behind: a grant the drill made is revoked whatever step failed. A grant whose
      // issuing outlived a timed-out credential step is found by its run; one that completes even
      // later expires by itself within the drill's timeout (its duration).
      const targetOf = new Map(issued.map((entry) => [entry.grant.id, entry.target.name]));
      for (const { id } of await this.repository.activeGrantsOf(run.id)) {
        await step(targetOf.get(id) ?? '*', 'cleanup', async () => {
          await this.grants.revokeForDrill(id, `drill ${drill.name} failed at ${failure!.step}: revoking its grant`);
          return { revoked: id };
        }).catch((cleanupError: Error) => this.logger.error(`drill ${drill.name} run ${run.id}: could not revoke ${id}: ${cleanupError.message}`));
      }
    }
    return this.finish(drill, run, {
      status: failure ? 'failed' : 'passed',
      steps,
      grants: issued.map((entry) => entry.grant.id),
      failedStep: failure?.step ?? null,
      failedTarget: failure?.target ?? null,
      error: failure?.message ?? null,
    });
  }

  /** Closes the run with its audit event (and, when it failed, security's notice), in one transaction. */
  async finish(drill: Pick<DrillPolicy, 'name'>, run: DrillRunRecord, outcome: DrillOutcome): Promise<DrillRunRecord> {
    return this.dataSource.transaction(async (tx) => {
      const finished = await this.repository.finish(tx, run.id, outcome);
      // Another instance closed it already (as abandoned): its outcome and audit event stand.
      if (!finished) return (await this.repository.find(run.id))!;
      const data = {
        drill: drill.name,
        run: run.id,
        trigger: run.trigger,
        scheduledFor: run.scheduledFor,
        targets: run.targets,
        grants: outcome.grants,
        durationMs: finished.finishedAt!.getTime() - finished.startedAt.getTime(),
        steps: outcome.steps,
        failedStep: outcome.failedStep,
        failedTarget: outcome.failedTarget,
        error: outcome.error,
      };
      if (outcome.status === 'failed') {
        await this.notifications.notifyAudience(tx, {
          kind: 'drill_failed',
          channels: this.policy.notify.security,
          key: `drill:${run.id}:failed`,
          headline: `[DRILL] drill ${drill.name} failed at step ${outcome.failedStep}${outcome.failedTarget && outcome.failedTarget !== '*' ? ` on ${outcome.failedTarget}` : ''}`,
          facts: {
            drill: drill.name,
            run: run.id,
            step: outcome.failedStep,
            target: outcome.failedTarget,
            error: outcome.error,
            grants: outcome.grants.join(', ') || null,
          },
          links: [{ path: '/ui/#/audit', text: 'Drills in the breakglass dashboard' }],
          pagerdutyDedupKey: `breakglass/drill/${drill.name}/${run.id}`,
        });
      }
      await this.auditLog.append(tx, {
        actor: 'system:drill',
        action: outcome.status === 'passed' ? 'drill.passed' : 'drill.failed',
        target: run.targets.length === 1 ? run.targets[0] : null,
        alsoConcerns: run.targets.length > 1 ? run.targets : undefined,
        data,
      });
      return finished;
    });
  }

  /** The request checks a person's request meets first; with on-call, PagerDuty must answer (not be unreachable). */
  private async policyCheck(target: TargetPolicy): Promise<ProofDetail> {
    if (!target.onCall) return { onCall: 'not_required' };
    const verdict = await this.onCall.check(DRILL_ON_CALL_EMAIL, target.onCall.pagerdutyScheduleIds);
    if (verdict.outcome === 'unavailable') throw new Error(`PagerDuty could not be asked who is on call: ${verdict.error}`);
    return { onCall: 'pagerduty_answered' };
  }

  /**
   * Proxy access records the statement itself (server-side, as for a person); a direct login or a
   * token is recorded the way the CLI records a command. Either way the record must be in the chain.
   */
  private async recorded(target: TargetPolicy, grant: GrantCreated, drill: DrillPolicy, run: number): Promise<ProofDetail> {
    if (target.credential.type === 'postgres' && target.credential.access === 'proxy') {
      for (;;) {
        const { events } = await this.sessions.everything(grant.id);
        const statement = events.find((event) => event.type === 'sql' && event.command === DRILL_STATEMENT);
        if (statement) return { seq: statement.seq, type: statement.type, hash: statement.hash, by: 'proxy' };
        // best-effort recording writes asynchronously; the step's timeout bounds the wait
        await sleep(POLL_MS);
      }
    }
    const at = new Date().toISOString();
    const database = 'database' in grant.credential ? grant.credential.database : null;
    const [event] = await this.sessions.record(grant.id, [
      {
        type: 'command',
        command: target.credential.type === 'jwt' ? `breakglass drill: token verified (JWKS, introspection)` : DRILL_STATEMENT,
        cwd: database,
        user: 'system:drill',
        host: hostname(),
        startedAt: at,
        finishedAt: at,
        exitCode: 0,
        detail: { drill: drill.name, run },
      },
    ]);
    return { seq: event.seq, type: event.type, hash: event.hash, by: 'drill' };
  }

  /** Every notice of the drill's grants delivered; a notice given up on fails at once, one still retrying when time runs out. */
  private async delivered(grantIds: string[], deadline: number, stopping: () => boolean): Promise<ProofDetail> {
    for (;;) {
      const rows = (await Promise.all(grantIds.map((id) => this.outbox.forGrant(id)))).flat();
      const given = rows.find((row) => row.status === 'failed' || row.status === 'undeliverable');
      if (given) throw new Error(`the ${given.notice} notice to ${given.channel} was not delivered: ${given.lastError ?? given.status}`);
      const waiting = rows.filter((row) => row.status !== 'delivered');
      if (!waiting.length) return { delivered: rows.length, channels: [...new Set(rows.map((row) => row.channel))].join(', ') || null };
      if (stopping() || Date.now() + POLL_MS >= deadline) {
        throw new Error(
          `${waiting.length} of ${rows.length} notices not delivered in time: ${waiting.map((row) => `${row.notice} to ${row.channel}${row.lastError ? ` (${row.lastError})` : ''}`).join('; ')}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** The grant's evidence bundle, signed and then checked as an auditor would check it offline. */
  private async bundle(grantId: string): Promise<ProofDetail> {
    const file = await this.evidence.bundleFor(DRILL_EVIDENCE_READER, grantId);
    const verdict = await verifyEvidence(file, await this.keys.jwks());
    if (!verdict.valid) throw new Error(`the evidence bundle of ${grantId} does not verify: ${JSON.stringify(verdict)}`);
    const sha256 = createHash('sha256').update(file.jws).digest('hex');
    return { bundleSha256: sha256, auditEvents: verdict.audit.count, sessionChain: verdict.session.valid ? 'valid' : 'invalid' };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
