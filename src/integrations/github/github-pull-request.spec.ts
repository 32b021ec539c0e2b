import { gitHubPullRequestEvent, type GitHubPullRequestPayload } from './github-pull-request';

const SHA = 'ab'.repeat(20);
const payload = (action: string, pr: Partial<NonNullable<GitHubPullRequestPayload['pull_request']>> = {}): GitHubPullRequestPayload => ({
  action,
  pull_request: {
    number: 88,
    html_url: 'https://github.com/acme/infra/pull/88',
    title: 'Scale payments (BG-2026-000042)',
    body: null,
    state: 'open',
    head: { ref: 'fix/bg-2026-000042' },
    updated_at: '2026-12-02T08:00:00Z',
    ...pr,
  },
  repository: { full_name: 'acme/infra' },
  sender: { login: 'oncall-1' },
});

describe(gitHubPullRequestEvent.name, () => {
  it('answers a ping, and ignores events and actions that link nothing', () => {
    expect(gitHubPullRequestEvent('ping', {}, 'd')).toEqual({ ok: true });
    expect(gitHubPullRequestEvent('push', payload('opened'), 'd')).toEqual({ ignored: true, event: 'push', action: 'opened' });
    expect(gitHubPullRequestEvent('pull_request', payload('labeled'), 'd')).toEqual({ ignored: true, event: 'pull_request', action: 'labeled' });
  });

  it.each([
    ['opened', {}, 'open', null],
    ['closed', { state: 'closed' as const }, 'closed', null],
    ['closed', { state: 'closed' as const, merged: true, merge_commit_sha: SHA.toUpperCase() }, 'merged', SHA],
    ['closed', { state: 'closed' as const, merged: true, merge_commit_sha: 'not-a-sha' }, 'merged', null],
  ])('%s %j → %s, merge commit %s', (action, pr, state, mergeCommitSha) => {
    const mapped = gitHubPullRequestEvent('pull_request', payload(action, pr), 'delivery-1');
    expect('eventName' in mapped ? { name: mapped.eventName, ...mapped.event } : mapped).toMatchObject({
      name: `pull_request.${action}`,
      provider: 'github',
      repo: 'acme/infra',
      number: 88,
      state,
      mergeCommitSha,
      actor: 'github:oncall-1',
      deliveryId: 'delivery-1',
      texts: ['Scale payments (BG-2026-000042)', null, 'fix/bg-2026-000042'],
    });
  });

  it('refuses a pull_request event without its pull request or repository', () => {
    expect(() => gitHubPullRequestEvent('pull_request', { action: 'opened', repository: { full_name: 'acme/infra' } }, 'd')).toThrow(
      /malformed|without pull_request/,
    );
  });
});
