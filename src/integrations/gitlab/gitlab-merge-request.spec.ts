import { gitLabMergeRequestEvent, type GitLabMergeRequestPayload } from './gitlab-merge-request';

const SHA = 'cd'.repeat(20);
const payload = (attributes: Partial<NonNullable<GitLabMergeRequestPayload['object_attributes']>> = {}): GitLabMergeRequestPayload => ({
  object_kind: 'merge_request',
  user: { username: 'oncall-2' },
  project: { path_with_namespace: 'acme/infra' },
  object_attributes: {
    iid: 7,
    title: 'Fix for BG-2026-000042',
    description: 'retro',
    source_branch: 'bg-fix',
    state: 'opened',
    action: 'open',
    url: 'https://gitlab.example.com/acme/infra/-/merge_requests/7',
    ...attributes,
  },
});

describe(gitLabMergeRequestEvent.name, () => {
  it('ignores other hooks', () => {
    expect(gitLabMergeRequestEvent({ object_kind: 'push' }, 'd')).toEqual({ ignored: true, event: 'push' });
  });

  it.each([
    [{}, 'merge_request.open', 'open', null],
    [{ state: 'closed' as const, action: 'close' }, 'merge_request.close', 'closed', null],
    [{ state: 'locked' as const, action: undefined }, 'merge_request.locked', 'closed', null],
    [{ state: 'merged' as const, action: 'merge', merge_commit_sha: SHA }, 'merge_request.merge', 'merged', SHA],
  ])('%j → %s (%s)', (attributes, name, state, mergeCommitSha) => {
    const mapped = gitLabMergeRequestEvent(payload(attributes), 'uuid-1');
    expect('eventName' in mapped ? { name: mapped.eventName, ...mapped.event } : mapped).toMatchObject({
      name,
      provider: 'gitlab',
      repo: 'acme/infra',
      number: 7,
      state,
      mergeCommitSha,
      actor: 'gitlab:oncall-2',
      texts: ['Fix for BG-2026-000042', 'retro', 'bg-fix'],
    });
  });

  it('refuses a merge_request event without attributes or project', () => {
    expect(() => gitLabMergeRequestEvent({ object_kind: 'merge_request' }, 'd')).toThrow(/without object_attributes or project/);
  });
});
