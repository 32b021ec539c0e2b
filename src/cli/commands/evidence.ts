import { readFileSync, writeFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { verifyEvidence, type BundleVerdict } from '../../evidence/bundle-verifier';
import { verifyExport } from '../../evidence/export-verifier';
import type { ApiClient } from '../api-client';
import type { SignedBundle } from '../api-types';
import { parseExpectedHead, verifyAgainstCheckpoint, verifyAuditChainRemotely } from '../audit-verify';
import { type Cli } from '../cli-context';

/** evidence verify, audit verify: checks an auditor runs. */
export function registerEvidenceCommands(cli: Cli): void {
  const { program, client, asJson } = cli;
  const evidence = program
    .command('evidence')
    .description('signed evidence bundles')
    .argument('[grant]', 'grant id to export')
    .option('--out <file>', 'write the bundle here (default: <grant>.evidence.json)')
    .action(async (grantId: string | undefined, options: { out?: string }) => {
      if (!grantId) return evidence.help();
      const signed = await client().get<SignedBundle>(`v1/grants/${encodeURIComponent(grantId)}/evidence`);
      const out = options.out ?? `${grantId}.evidence.json`;
      writeFileSync(out, JSON.stringify(signed, null, 2));
      console.log(asJson() ? JSON.stringify({ file: out }) : `Evidence for ${grantId} written to ${out} (verify offline: breakglass evidence verify ${out}).`);
    });
  evidence
    .command('verify <file>')
    .description('check a bundle offline: signature against the key history, canonical payload, session chain, audit hashes, checkpoint')
    .option('--jwks <url-or-file>', 'the keys to trust: the key history or a JWKS (default: <broker>/.well-known/breakglass-keys.json)')
    .option('--log-key <vkey-url-or-file>', 'the checkpoint verifier key to trust (default: <broker>/v1/audit/log-key)')
    .action(async (file: string, options: { jwks?: string; logKey?: string }) => {
      const broker = program.opts<{ url: string }>().url.replace(/\/+$/, '');
      const jwks = JSON.parse(await readTrustedKeys(options.jwks, broker)) as JSONWebKeySet;
      // Without a log key the checkpoint is reported unchecked, not failed: the broker may be out of reach.
      const logKey = options.logKey?.includes('+') ? options.logKey : await readSource(options.logKey ?? `${broker}/v1/audit/log-key`).catch(() => undefined);
      const verdict = await verifyEvidence(JSON.parse(readFileSync(file, 'utf8')), jwks, logKey?.trim());
      if (asJson()) console.log(JSON.stringify(verdict));
      else {
        console.log(
          `${verdict.valid ? 'VALID' : 'INVALID'}: signature ${verdict.signature}${verdict.kid ? ` (kid ${verdict.kid})` : ''}, payload ${verdict.payloadMatchesBundle ? 'matches' : 'does NOT match'} the bundle`,
        );
        console.log(`  signing key: ${SIGNING_KEY_WORDS[verdict.signingKey]}`);
        console.log(`  session log: ${verdict.session.valid ? 'valid' : `broken at seq ${verdict.session.firstInvalidSeq}`} (${verdict.session.count} events)`);
        console.log(`  audit events: ${verdict.audit.valid ? 'valid' : `altered at seq ${verdict.audit.firstInvalidSeq}`} (${verdict.audit.count} events)`);
        console.log(`  checkpoint: ${describeCheckpoint(verdict.checkpoint)}`);
      }
      process.exitCode = verdict.valid ? 0 : 2;
    });

  evidence
    .command('verify-export <file>')
    .description('check a JSONL period export offline: every hash, the links between events, the trailer, the checkpoint (exit 2 if anything fails)')
    .option('--log-key <vkey-url-or-file>', 'the checkpoint verifier key to trust (default: <broker>/v1/audit/log-key)')
    .action(async (file: string, options: { logKey?: string }) => {
      const broker = program.opts<{ url: string }>().url.replace(/\/+$/, '');
      const logKey = options.logKey?.includes('+') ? options.logKey : await readSource(options.logKey ?? `${broker}/v1/audit/log-key`).catch(() => undefined);
      const verdict = verifyExport(readFileSync(file, 'utf8'), logKey?.trim());
      if (asJson()) console.log(JSON.stringify(verdict));
      else {
        console.log(`${verdict.valid ? 'VALID' : `INVALID: ${verdict.problem}`} (${verdict.count} events in ${verdict.segments} run(s) of consecutive seqs)`);
        console.log(
          `  trailer: ${verdict.trailer}; checkpoint: ${verdict.checkpoint === 'unchecked' ? 'not checked (no log key: pass --log-key)' : verdict.checkpoint}`,
        );
      }
      process.exitCode = verdict.valid ? 0 : 2;
    });

  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('download the audit log and recompute every hash locally (needs compliance or security)')
    .option('--expect-head <seq:hash...>', "a head seen earlier (export trailer lastSeq:lastHash, a SIEM's last event) the log must still pass through")
    .option('--checkpoint <file>', 'a signed checkpoint saved earlier (GET /v1/audit/checkpoint, a Git anchor): the log must still extend it')
    .option('--log-key <vkey>', 'the checkpoint verifier key to trust (default: GET /v1/audit/log-key)')
    .action(async (options: { expectHead?: string[]; checkpoint?: string; logKey?: string }) => {
      if (options.checkpoint) return verifyCheckpointCommand(client(), readFileSync(options.checkpoint, 'utf8'), options.logKey, asJson());
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
}

async function verifyCheckpointCommand(client: ApiClient, note: string, logKey: string | undefined, json: boolean): Promise<void> {
  const verdict = await verifyAgainstCheckpoint(client, note, logKey);
  if (json) console.log(JSON.stringify(verdict));
  else if (verdict.valid)
    console.log(
      `Audit log consistent with checkpoint ${verdict.saved!.treeSize} (root ${verdict.saved!.rootHash}): ${verdict.chain.count} events recomputed, ` +
        `the latest checkpoint (${verdict.latest!.treeSize} events) extends it`,
    );
  else console.log(`Audit log NOT consistent with the saved checkpoint: ${verdict.problem}`);
  process.exitCode = verdict.valid ? 0 : 2;
}

/** A URL's answer or a file's text. */
const SIGNING_KEY_WORDS: Record<BundleVerdict['signingKey'], string> = {
  trusted: 'the embedded key is one of the keys you trust',
  untrusted: 'NOT among the keys you trust: use the key history (/.well-known/breakglass-keys.json), which keeps retired keys',
  mismatch: 'DIFFERS from the trusted key with the same kid',
  absent: 'not embedded (a bundle from before keys were embedded): checked by kid only',
};

/**
 * The keys an auditor trusts: a file or URL given with --jwks, else the broker's key history. An
 * auditor's laptop usually cannot reach the broker: then say exactly how to get the file once.
 */
async function readTrustedKeys(given: string | undefined, broker: string): Promise<string> {
  if (given) return readSource(given);
  const history = `${broker}/.well-known/breakglass-keys.json`;
  try {
    return await readSource(history);
  } catch (error) {
    throw new Error(
      `cannot fetch the broker's key history from ${history} (${(error as Error).message}). Download it once where the broker is reachable ` +
        `(curl -o breakglass-keys.json ${history}) and pass --jwks breakglass-keys.json`,
      { cause: error },
    );
  }
}

async function readSource(source: string): Promise<string> {
  if (!/^https?:\/\//.test(source)) return readFileSync(source, 'utf8');
  const response = await fetch(source, { signal: AbortSignal.timeout(30000) });
  if (!response.ok) throw new Error(`${source} answered ${response.status}`);
  return response.text();
}

function describeCheckpoint(checkpoint: BundleVerdict['checkpoint']): string {
  const pending = checkpoint.notYetCheckpointed ? `, ${checkpoint.notYetCheckpointed} event(s) newer than it (export again after the next checkpoint)` : '';
  if (checkpoint.status === 'valid') return `valid (tree size ${checkpoint.treeSize}), ${checkpoint.proven} audit event(s) proven included${pending}`;
  if (checkpoint.status === 'invalid') {
    return checkpoint.treeSize === null
      ? 'INVALID: not signed by the log key'
      : `INVALID: the inclusion proof of seq ${checkpoint.firstUnprovenSeq} does not hold`;
  }
  if (checkpoint.status === 'unchecked') return 'not checked (no log key: pass --log-key)';
  return 'none (the bundle was made before the first checkpoint)';
}
