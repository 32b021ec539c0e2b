import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { hmacSha256Signature } from '../common/signatures';
import type { AnchorPolicy } from '../config/policy';

// Publishing one checkpoint to one anchor (docs/transparency.md, "Anchors"). Each publisher is
// idempotent: a retry after a delivery whose answer was lost does not publish twice.

export interface PublishedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  note: string;
}

const run = promisify(execFile);
const GIT_TIMEOUT_MS = 60_000;
const WEBHOOK_TIMEOUT_MS = 10_000;

/** A failure the anchor reported, with what it said. */
export class AnchorFailure extends Error {}

/**
 * Commits `<path>/<treeSize>.checkpoint` to the anchor's branch with the `git` CLI and pushes it: one
 * commit per checkpoint. The work tree (under the data dir) is reset to the remote branch before each
 * checkpoint, so a push that was rejected or never answered is simply redone; a checkpoint already on
 * the branch with the same text counts as delivered, one with different text is refused (a fork).
 */
export async function publishToGit(anchor: Extract<AnchorPolicy, { type: 'git' }>, checkpoint: PublishedCheckpoint, workRoot: string): Promise<string> {
  const dir = path.join(workRoot, anchor.name);
  const git = async (...args: string[]) =>
    (
      await run('git', ['-C', dir, '-c', 'user.name=breakglass', '-c', 'user.email=breakglass@localhost', '-c', 'commit.gpgsign=false', ...args], {
        timeout: GIT_TIMEOUT_MS,
        // The service user's environment: its SSH keys and credential helpers reach the remote; never a prompt.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      })
    ).stdout;
  if (!existsSync(path.join(dir, '.git'))) {
    mkdirSync(dir, { recursive: true });
    await git('init', '-q');
    await git('remote', 'add', 'origin', anchor.repo);
  } else {
    await git('remote', 'set-url', 'origin', anchor.repo);
  }
  const file = `${anchor.path}/${checkpoint.treeSize}.checkpoint`;
  const remoteHasBranch = (await git('ls-remote', '--heads', 'origin', `refs/heads/${anchor.branch}`)).trim() !== '';
  if (remoteHasBranch) {
    await git('fetch', '-q', 'origin', `+refs/heads/${anchor.branch}:refs/remotes/origin/${anchor.branch}`);
    await git('checkout', '-q', '-f', '-B', anchor.branch, `refs/remotes/origin/${anchor.branch}`);
    await git('clean', '-q', '-fdx');
    const anchored = await git('show', `refs/remotes/origin/${anchor.branch}:${file}`).catch(() => null);
    if (anchored === checkpoint.note) return `already on ${anchor.branch}`;
    if (anchored !== null)
      throw new AnchorFailure(`${anchor.branch} already holds a different checkpoint ${checkpoint.treeSize}: the log was forked or the anchor edited`);
  } else {
    // A branch of its own, starting empty.
    await git('symbolic-ref', 'HEAD', `refs/heads/${anchor.branch}`);
    await git('update-ref', '-d', `refs/heads/${anchor.branch}`).catch(() => undefined);
    await git('read-tree', '--empty');
    await git('clean', '-q', '-fdx');
  }
  mkdirSync(path.join(dir, anchor.path), { recursive: true });
  writeFileSync(path.join(dir, file), checkpoint.note);
  await git('add', '--', file);
  await git('commit', '-q', '-m', `breakglass checkpoint ${checkpoint.treeSize} of ${checkpoint.origin}`, '-m', checkpoint.note);
  await git('push', '-q', 'origin', `HEAD:refs/heads/${anchor.branch}`);
  return `committed ${file} to ${anchor.branch}`;
}

/** POSTs the checkpoint as JSON, signed like notification webhooks (`X-Breakglass-Signature`). */
export async function publishToWebhook(anchor: Extract<AnchorPolicy, { type: 'webhook' }>, checkpoint: PublishedCheckpoint): Promise<string> {
  const body = JSON.stringify({
    type: 'breakglass.checkpoint',
    origin: checkpoint.origin,
    treeSize: checkpoint.treeSize,
    rootHash: checkpoint.rootHash.toString('hex'),
    note: checkpoint.note,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-breakglass-delivery': `checkpoint-${checkpoint.treeSize}` };
  if (anchor.secret) headers['x-breakglass-signature'] = hmacSha256Signature(anchor.secret, body);
  const response = await fetch(anchor.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
  if (!response.ok) throw new AnchorFailure(`webhook answered HTTP ${response.status}`);
  return `HTTP ${response.status}`;
}
