import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { constants, hostname, tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { type ApiClient } from './api-client';
import { credentialEnvironment, grantFile, type LocalGrant } from './local-state';
import { Spool, type FlushOutcome, type RecordedEvent } from './spool';

const FLUSH_EVERY_MS = 1000;

/** Who and where, for every recorded event. */
function origin() {
  return { user: userInfo().username, host: hostname() };
}

export type Delivery = ({ error: null } & FlushOutcome) | { error: string; sent: 0; setAside: 0; ended: null };

/** Sends the spool, never throwing: an unreachable broker only delays delivery. */
async function tryFlush(spool: Spool, client: ApiClient): Promise<Delivery> {
  try {
    return { error: null, ...(await spool.flush(client)) };
  } catch (error) {
    return { error: (error as Error).message, sent: 0, setAside: 0, ended: null };
  }
}

/** Tells the engineer, once per recorder, that the broker ended the grant and what happened to their records. */
function endNotice(delivery: Delivery): string | null {
  if (!delivery.ended) return null;
  const aside = delivery.setAside ? ` ${delivery.setAside} event(s) recorded after the end were kept in ${delivery.afterEndFile}, not sent.` : '';
  return `breakglass: ${delivery.ended}.${aside}\n`;
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `breakglass exec GRANT -- CMD…`: runs one command with the credential, records it, passes its exit code. */
export async function recordOneCommand(grant: LocalGrant, client: ApiClient, argv: string[]): Promise<{ exitCode: number; delivery: Delivery }> {
  const spool = new Spool(grant.id);
  const startedAt = new Date().toISOString();
  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...credentialEnvironment(grant) } });
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0)));
  });
  spool.append([
    { type: 'command', command: argv.map(shellQuote).join(' '), cwd: process.cwd(), ...origin(), startedAt, finishedAt: new Date().toISOString(), exitCode },
  ]);
  const delivery = await tryFlush(spool, client);
  const notice = endNotice(delivery);
  if (notice) process.stderr.write(notice);
  return { exitCode, delivery };
}

function osSignal(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

// (In this template, ${'${'} writes a literal "${" for bash.)
// bash hooks: the DEBUG trap notes the command line (from history, as typed), its start time and
// cwd; PROMPT_COMMAND writes one tab-separated line when it finishes. Text fields are base64 so
// tabs and newlines in commands survive. EXIT records the last command (`exit` has no prompt).
const RC_FILE = String.raw`
[ -f ~/.bashrc ] && . ~/.bashrc
HISTCONTROL=
HISTIGNORE=
set -o history
# Disarmed until the first prompt, so the rest of this file is not recorded.
__bg_armed=
__bg_running=
__bg_last_hist=
__bg_preexec() {
  [ -n "$__bg_armed" ] || return 0
  case "$BASH_COMMAND" in __bg_precmd*|__bg_left*) return 0 ;; esac
  __bg_armed=
  local line
  line=$(HISTTIMEFORMAT= builtin history 1)
  [[ $line =~ ^[[:space:]]*([0-9]+)[*]?[[:space:]]+(.*)$ ]] || return 0
  # Leaving with Ctrl-D fires this trap once more with no new history line: not a new command.
  [[ ${'${'}BASH_REMATCH[1]} == "$__bg_last_hist" ]] && return 0
  __bg_last_hist=${'${'}BASH_REMATCH[1]}
  __bg_cmd=${'${'}BASH_REMATCH[2]}
  __bg_start=$EPOCHREALTIME
  __bg_cwd=$PWD
  __bg_running=1
}
__bg_precmd() {
  local ec=$?
  if [ -n "$__bg_running" ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$__bg_start" "$EPOCHREALTIME" "$ec" \
      "$(printf %s "$__bg_cwd" | base64 -w0)" "$(printf %s "$__bg_cmd" | base64 -w0)" >> "$BREAKGLASS_RAW_LOG"
    __bg_running=
  fi
  __bg_follow
  __bg_armed=1
}
# The grant file changes when \`breakglass extend\` runs (even in this shell): follow its expiry and
# token before each prompt, in this shell (the prompt's own \$(…) runs in a subshell).
__bg_follow() {
  local json
  json=$(< "$BREAKGLASS_GRANT_FILE") 2>/dev/null || return 0
  [[ $json =~ \"expiresAt\":\ \"([^\"]+)\" ]] && BREAKGLASS_EXPIRES_EPOCH=$(date -d "${'${'}BASH_REMATCH[1]}" +%s 2>/dev/null || echo "$BREAKGLASS_EXPIRES_EPOCH")
  [[ $json =~ \"token\":\ \"([^\"]+)\" ]] && export BREAKGLASS_JWT=${'${'}BASH_REMATCH[1]}
}
__bg_left() {
  local s=$(( BREAKGLASS_EXPIRES_EPOCH - EPOCHSECONDS ))
  if (( s <= 0 )); then printf 'ended'; else printf '%dm%02ds' $((s / 60)) $((s % 60)); fi
}
trap '__bg_precmd' EXIT
PROMPT_COMMAND='__bg_precmd'
PS1='[breakglass $BREAKGLASS_GRANT $(__bg_left) left] \w \$ '
trap '__bg_preexec' DEBUG
`;

/** `breakglass shell GRANT`: the user's bash with every command line recorded. */
export async function recordShell(grant: LocalGrant, client: ApiClient): Promise<{ exitCode: number; recorded: number; delivery: Delivery }> {
  const spool = new Spool(grant.id);
  const work = mkdtempSync(path.join(tmpdir(), 'breakglass-shell-'));
  const rcFile = path.join(work, 'bashrc');
  const rawLog = path.join(work, 'commands.tsv');
  writeFileSync(rcFile, RC_FILE, { mode: 0o600 });
  writeFileSync(rawLog, '', { mode: 0o600 });
  const who = origin();
  spool.append([{ type: 'session_start', command: null, cwd: process.cwd(), ...who, startedAt: new Date().toISOString(), finishedAt: null, exitCode: null }]);

  let offset = 0;
  let partial = '';
  let recorded = 0;
  const collect = () => {
    const fd = openSync(rawLog, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (let read; (read = readSync(fd, buffer, 0, buffer.length, offset)) > 0; offset += read) partial += buffer.subarray(0, read).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    const events = lines.filter(Boolean).map((line) => toEvent(line, who));
    if (events.length) {
      spool.append(events);
      recorded += events.length;
    }
  };
  let flushing: Promise<unknown> = Promise.resolve();
  let toldOfEnd = false;
  const tellOfEnd = (delivery: Delivery) => {
    const notice = endNotice(delivery);
    if (notice && !toldOfEnd) process.stderr.write(`\n${notice}`);
    toldOfEnd ||= Boolean(notice);
  };
  const timer = setInterval(() => {
    collect();
    flushing = flushing.then(() => tryFlush(spool, client).then(tellOfEnd));
  }, FLUSH_EVERY_MS);

  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn('bash', ['--rcfile', rcFile, '-i'], {
      stdio: 'inherit',
      env: {
        ...process.env,
        ...credentialEnvironment(grant),
        BREAKGLASS_RAW_LOG: rawLog,
        BREAKGLASS_GRANT_FILE: grantFile(grant.id),
        BREAKGLASS_EXPIRES_EPOCH: String(Math.floor(Date.parse(grant.expiresAt) / 1000)),
      },
    });
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code ?? 1));
  });
  clearInterval(timer);
  collect();
  spool.append([{ type: 'session_end', command: null, cwd: null, ...who, startedAt: new Date().toISOString(), finishedAt: null, exitCode }]);
  await flushing;
  const delivery = await tryFlush(spool, client);
  tellOfEnd(delivery);
  rmSync(work, { recursive: true, force: true });
  return { exitCode, recorded, delivery };
}

function toEvent(line: string, who: { user: string; host: string }): Omit<RecordedEvent, 'seq'> {
  const [start, end, exitCode, cwd, command] = line.split('\t');
  const time = (epochRealTime: string) => new Date(Math.round(Number(epochRealTime) * 1000)).toISOString();
  const text = (base64: string) => Buffer.from(base64 ?? '', 'base64').toString('utf8');
  return { type: 'command', command: text(command), cwd: text(cwd), ...who, startedAt: time(start), finishedAt: time(end), exitCode: Number(exitCode) };
}

export async function flushSpool(client: ApiClient, grantId: string): Promise<Delivery & { grant: string }> {
  return { grant: grantId, ...(await tryFlush(new Spool(grantId), client)) };
}
