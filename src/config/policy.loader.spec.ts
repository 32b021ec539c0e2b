import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { testCertificate } from '../../test/support/test-certificate';
import { parseDurationSeconds, formatDuration } from './duration';
import { loadPolicyFile, parsePolicy, PolicyError } from './policy.loader';

const EXAMPLE = path.resolve(__dirname, '../../examples/policy.yaml');

const minimalTarget = `
targets:
  - name: prod-cluster
    environment: production
    credential: { type: jwt, audience: kubernetes }
`;

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parsePolicy(yaml, '/etc/bg/policy.yaml', env, 'sha');
  } catch (error) {
    if (error instanceof PolicyError) return error.problems;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('policy loader', () => {
  it('loads the example policy with nothing configured, hashing the file as read', () => {
    const policy = loadPolicyFile(EXAMPLE, {});
    expect(policy.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(policy.targets.map((t) => t.name)).toEqual(['payments-db', 'prod-cluster']);
    expect(policy.targets[0].credential).toEqual({
      type: 'postgres',
      adminUrl: 'embedded',
      database: 'payments',
      grantRoles: ['payments_rw'],
      access: 'proxy',
      recording: 'strict',
      recordParameters: false,
    });
    expect(policy.roles.compliance).toEqual(['compliance']);
  });

  it('merges defaults into targets: a target key wins, nested rules merge key by key', () => {
    const policy = parsePolicy(
      `
defaults:
  maxDuration: 30m
  retroPr: { window: 12h, satisfiedBy: merged }
  escalation:
    - { after: 0s, notify: [ops] }
    - { after: -2h, notify: [requester] }
channels:
  ops: { type: log }
targets:
  - name: a
    environment: production
    credential: { type: jwt, audience: k8s }
    maxDuration: 2h
    retroPr: { window: 6h }
  - name: b
    environment: staging
    credential: { type: jwt, audience: k8s }
    escalation: []
`,
      'p.yaml',
      {},
      'sha',
    );
    const [a, b] = policy.targets;
    expect(a).toMatchObject({ maxDurationSeconds: 7200, maxTotalDurationSeconds: 14400, retroPr: { windowSeconds: 21600, satisfiedBy: 'merged' } });
    expect(a.escalation).toEqual([
      { afterSeconds: -7200, notify: ['requester'] },
      { afterSeconds: 0, notify: ['ops'] },
    ]);
    expect(b).toMatchObject({ maxDurationSeconds: 1800, reasonMinLength: 20, review: { windowSeconds: 259200 }, escalation: [] });
  });

  it('interpolates ${VAR} and ${VAR:-fallback}, and names file, line and variable when one is missing', () => {
    const yaml = `channels:
  pd: { type: pagerduty, routingKey: '\${PD_KEY}' }
  hook: { type: webhook, url: '\${HOOK_URL:-http://127.0.0.1:9/x}' }
${minimalTarget}`;
    const policy = parsePolicy(yaml, 'p.yaml', { PD_KEY: 'abc123' }, 'sha');
    expect(policy.channels).toEqual({
      pd: { type: 'pagerduty', routingKey: 'abc123', severity: 'critical' },
      hook: { type: 'webhook', url: 'http://127.0.0.1:9/x' },
    });

    expect(problemsOf(yaml)).toEqual([
      { location: expect.stringMatching(/policy\.yaml:2:\d+$/), field: '(interpolation)', message: 'environment variable PD_KEY is not set' },
    ]);
  });

  it('reads the proxy settings of postgres targets and refuses them elsewhere', () => {
    const policy = parsePolicy(
      `
targets:
  - { name: db, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw] }, recording: best-effort, recordParameters: true }
  - { name: legacy, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw] }, access: direct }
`,
      'p.yaml',
      {},
      'sha',
    );
    expect(policy.targets.map((t) => t.credential)).toMatchObject([
      { access: 'proxy', recording: 'best-effort', recordParameters: true },
      { access: 'direct', recording: 'strict', recordParameters: false },
    ]);
    expect(
      problemsOf(`
targets:
  - { name: a, environment: prod, credential: { type: jwt, audience: k8s }, recording: strict }
  - { name: b, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw] }, access: sideways }
  - { name: c, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw] }, access: direct, recordParameters: true }
`).map((p) => `${p.field}: ${p.message}`),
    ).toEqual([
      'targets[1].access: must be "proxy" or "direct"',
      'targets[0].recording: applies to postgres targets only',
      'targets[2].recordParameters: applies to access: proxy only (a direct login is not recorded by the broker)',
    ]);
  });

  it('reads jwt algorithms and Kubernetes clusters, and names every problem with them', () => {
    const ca = testCertificate().cert.toString('base64');
    const policy = parsePolicy(
      `
targets:
  - { name: k8s, environment: prod, credential: { type: jwt, audience: kubernetes }, kubernetes: { cluster: prod, server: 'https://k8s.example.com:6443/', certificateAuthorityData: '${ca}' } }
  - { name: k8s-view, environment: prod, credential: { type: jwt, audience: kubernetes, algorithm: ES256 }, kubernetes: { cluster: prod, server: 'https://k8s.example.com:6443' } }
  - { name: tool, environment: prod, credential: { type: jwt, audience: tool, algorithm: EdDSA } }
`,
      'p.yaml',
      {},
      'sha',
    );
    expect(policy.targets.map((t) => [t.credential.type === 'jwt' && t.credential.algorithm, t.kubernetes])).toEqual([
      ['RS256', { cluster: 'prod', server: 'https://k8s.example.com:6443', certificateAuthorityData: ca, usernamePrefix: 'breakglass:' }],
      ['ES256', { cluster: 'prod', server: 'https://k8s.example.com:6443', certificateAuthorityData: null, usernamePrefix: 'breakglass:' }],
      ['EdDSA', null],
    ]);
    expect(
      problemsOf(`
targets:
  - { name: a, environment: prod, credential: { type: jwt, audience: k8s, algorithm: HS256 } }
  - { name: b, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw], algorithm: RS256 } }
  - { name: c, environment: prod, credential: { type: postgres, adminUrl: embedded, grantRoles: [rw] }, kubernetes: { cluster: prod, server: 'https://k' } }
  - { name: d, environment: prod, credential: { type: jwt, audience: k8s }, kubernetes: { cluster: Prod, server: 'http://k8s:6443' } }
  - { name: e, environment: prod, credential: { type: jwt, audience: k8s }, kubernetes: { cluster: prod, server: 'https://k', certificateAuthorityData: 'bm90IGEgY2VydA==', usernamePrefix: 'system:' } }
  - { name: f, environment: prod, credential: { type: jwt, audience: k8s }, kubernetes: { cluster: prod, server: 'https://k' } }
  - { name: g, environment: prod, credential: { type: jwt, audience: k8s }, kubernetes: { cluster: prod, server: 'https://other', usernamePrefix: 'bg-' } }
`).map((p) => `${p.field}: ${p.message}`),
    ).toEqual([
      'targets[0].credential.algorithm: must be RS256, ES256 or EdDSA',
      'targets[3].kubernetes.cluster: must be lower-case letters, digits and dashes (at most 63)',
      "targets[3].kubernetes.server: must be the https:// URL of the cluster's API server",
      'targets[1].credential.algorithm: does not apply to a postgres credential',
      "targets[2].kubernetes: applies to jwt targets only (the cluster trusts the target's tokens)",
      'targets[4].kubernetes.usernamePrefix: must not start with "system:" (reserved by Kubernetes)',
      "targets[4].kubernetes.certificateAuthorityData: must be base64 of a PEM certificate (as in a kubeconfig's certificate-authority-data)",
      'targets[6].kubernetes.server: differs from target f\'s for cluster prod ("https://k")',
      'targets[6].kubernetes.usernamePrefix: differs from target f\'s for cluster prod ("breakglass:")',
    ]);
  });

  it('lists every problem at once, each with its location', () => {
    const problems = problemsOf(`
roles:
  wizard: [magic]
defaults:
  maxDuration: forever
  maxDurration: 1h
notify:
  security: [nowhere]
channels:
  mail: { type: email }
targets:
  - name: Payments DB
    environment: production
    credential: { type: postgres, adminUrl: 'mysql://x' }
    incident: { pattern: '([' }
  - name: prod
    environment: production
    credential: { type: jwt }
    notifyOnUse: [ghost]
    controls: ['not a control']
`);
    const summary = problems.map((p) => `${p.location.replace(/^.*policy\.yaml:/, '')} ${p.field}: ${p.message}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^5:\d+ defaults\.maxDuration: must be a duration/),
        expect.stringMatching(/^6:\d+ defaults\.maxDurration: is not a known key/),
        expect.stringMatching(/^12:\d+ targets\[0\]\.name: must be lower-case/),
        expect.stringMatching(/^20:\d+ targets\[1\]\.controls: each control must look like FRAMEWORK:ID/),
        expect.stringMatching(/^3:\d+ roles\.wizard: "wizard" is not a broker role/),
        expect.stringMatching(/^10:\d+ channels\.mail\.to: is required for an email channel/),
        expect.stringMatching(/^14:\d+ targets\[0\]\.credential\.adminUrl: must be a postgres:\/\/ URL or "embedded"/),
        expect.stringMatching(/^14:\d+ targets\[0\]\.credential\.grantRoles: must list at least one role to grant/),
        expect.stringMatching(/^18:\d+ targets\[1\]\.credential\.audience: is required for a jwt credential/),
      ]),
    );
    expect(problems).toHaveLength(10);
  });

  it('checks cross-references and credential rules once the shape is valid', () => {
    const problems = problemsOf(`
notify:
  security: [nowhere]
targets:
  - name: db
    environment: production
    credential: { type: postgres, adminUrl: embedded, grantRoles: [app_rw], audience: k8s }
    incident: { pattern: '([' }
    maxDuration: 8h
  - name: db
    environment: production
    credential: { type: jwt, audience: k8s }
    notifyOnUse: [ghost, requester]
`);
    expect(problems.map((p) => `${p.field}: ${p.message}`)).toEqual(
      expect.arrayContaining([
        'notify.security[0]: channel "nowhere" is not defined under channels',
        'targets[1].name: target name "db" is used twice',
        'targets[1].notifyOnUse[0]: channel "ghost" is not defined under channels',
        expect.stringMatching(/^targets\[0\]\.incident\.pattern: is not a valid regular expression/),
        'targets[0].maxDuration: maxDuration (8h) exceeds maxTotalDuration (4h)',
        'targets[0].credential.audience: does not apply to a postgres credential',
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('reads the transparency settings: checkpoint interval, anchors with their defaults, alert delay', () => {
    const defaults = parsePolicy(minimalTarget, 'p.yaml', {}, 'sha').audit;
    expect(defaults).toEqual({ checkpointIntervalSeconds: 60, anchors: [], anchorAlertAfterSeconds: 900 });
    const audit = parsePolicy(
      `${minimalTarget}
audit:
  checkpoint: { interval: 5s }
  anchorAlertAfter: 2m
  anchors:
    - { type: git, repo: /srv/anchors.git }
    - { name: witness, type: webhook, url: 'https://witness.example/cp', secret: s3cret }
`,
      'p.yaml',
      {},
      'sha',
    ).audit;
    expect(audit).toEqual({
      checkpointIntervalSeconds: 5,
      anchorAlertAfterSeconds: 120,
      anchors: [
        { name: expect.stringMatching(/^git-[0-9a-f]{12}$/), type: 'git', repo: '/srv/anchors.git', branch: 'breakglass-checkpoints', path: 'checkpoints' },
        { name: 'witness', type: 'webhook', url: 'https://witness.example/cp', secret: 's3cret' },
      ],
    });
    // The derived name depends on where the anchor points, not on its place in the list.
    const again = parsePolicy(
      `${minimalTarget}\naudit:\n  anchors: [ { type: webhook, url: 'https://x.example' }, { type: git, repo: /srv/anchors.git } ]\n`,
      'p.yaml',
      {},
      'sha',
    );
    expect(again.audit.anchors[1].name).toBe(audit.anchors[0].name);
  });

  it('refuses bad transparency settings, each with its place', () => {
    const described = (yaml: string) => problemsOf(`${minimalTarget}\naudit:\n${yaml}`).map((p) => `${p.field}: ${p.message}`);
    expect(described('  checkpoint: { interval: soon }\n  anchorAlertAfter: -1m\n')).toEqual([
      'audit.checkpoint.interval: must be a duration like 90s, 30m, 1h30m, 24h or 7d',
      'audit.anchorAlertAfter: must be a duration like 90s, 30m, 1h30m, 24h or 7d',
    ]);
    const anchors = described("  anchors:\n    - { type: git }\n    - { type: git, repo: /x, branch: '../main', path: /abs }\n    - { type: s3 }\n").join('\n');
    expect(anchors).toContain('audit.anchors[0].repo: is required for a git anchor');
    expect(anchors).toContain('audit.anchors[1].branch: must be a branch name');
    expect(anchors).toContain('audit.anchors[1].path: must be a relative directory');
    expect(anchors).toContain('audit.anchors[2].type: must be "git" or "webhook"');
    expect(described("  anchors:\n    - { name: a, type: webhook, url: 'https://a' }\n    - { name: a, type: webhook, url: 'https://b' }\n")).toEqual([
      'audit.anchors[1].name: anchor name "a" is used twice',
    ]);
  });

  it('reads retroPr.require (defaults merged into targets, satisfiedBy merged) and names each bad value', () => {
    const policy = parsePolicy(
      `
defaults:
  retroPr: { require: { approvals: 2, checks: [policy-gate] } }
targets:
  - { name: a, environment: production, credential: { type: jwt, audience: a } }
  - { name: b, environment: production, credential: { type: jwt, audience: b }, retroPr: { require: { signedCommits: true, protectedBranch: true } } }
`,
      'p.yaml',
      {},
      'sha',
    );
    expect(policy.targets.map((t) => t.retroPr)).toEqual([
      {
        windowSeconds: 86400,
        satisfiedBy: 'merged',
        repo: null,
        require: { approvals: 2, signedCommits: false, protectedBranch: false, checks: ['policy-gate'] },
      },
      { windowSeconds: 86400, satisfiedBy: 'merged', repo: null, require: { approvals: 0, signedCommits: true, protectedBranch: true, checks: [] } },
    ]);
    expect(parsePolicy(minimalTarget, 'p.yaml', {}, 'sha').targets[0].retroPr).toMatchObject({ satisfiedBy: 'opened', require: null });
    const described = (retroPr: string) =>
      problemsOf(`targets:\n  - { name: a, environment: production, credential: { type: jwt, audience: a }, retroPr: ${retroPr} }\n`).map(
        (p) => `${p.field}: ${p.message}`,
      );
    expect(described('{ require: { approvals: 1.5, signedCommits: maybe, checks: [""], protectBranch: true } }')).toEqual([
      'targets[0].retroPr.require.protectBranch: is not a known key',
      'targets[0].retroPr.require.approvals: must be a whole number of approvals',
      'targets[0].retroPr.require.signedCommits: must be a boolean value',
      'targets[0].retroPr.require.checks: must list check names (none empty)',
    ]);
    expect(described('{ satisfiedBy: opened, require: { approvals: 1 } }')).toEqual([
      'targets[0].retroPr.satisfiedBy: must be "merged" (or left out) when retroPr.require is set: requirements are checked on the merged PR',
    ]);
  });

  it('reads drills with their defaults, and names each problem with one: bad cron, unknown target or channel, twice the same name', () => {
    const drills = (yaml: string) => parsePolicy(`${minimalTarget}\nchannels: { drills: { type: log } }\ndrills:\n${yaml}`, '/p.yaml', {}, 'sha').drills;
    expect(drills("  - { name: weekly, targets: [prod-cluster], schedule: '0 9 * * 1' }\n")).toEqual([
      { name: 'weekly', targets: ['prod-cluster'], schedule: '0 9 * * 1', notify: null, timeoutSeconds: 120 },
    ]);
    expect(drills("  - { name: fast, targets: [prod-cluster], schedule: '*/2 * * * * *', notify: [drills], timeout: 30s }\n")[0]).toMatchObject({
      notify: ['drills'],
      timeoutSeconds: 30,
    });
    const described = (yaml: string) => problemsOf(`${minimalTarget}\ndrills:\n${yaml}`).map((p) => `${p.location} ${p.field}: ${p.message}`);
    const problems = described(
      [
        "  - { name: weekly, targets: [prod-clustr], schedule: '0 9 * * 1' }",
        "  - { name: weekly, targets: [prod-cluster], schedule: '61 * * * *', notify: [nowhere] }",
        "  - { name: Bad_Name, targets: [], schedule: 'every monday', timeout: soon }",
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([
      '/etc/bg/policy.yaml:8:31 drills[0].targets[0]: target "prod-clustr" is not defined under targets (prod-cluster)',
      '/etc/bg/policy.yaml:9:13 drills[1].name: drill name "weekly" is used twice',
      "/etc/bg/policy.yaml:9:56 drills[1].schedule: is not a cron expression (Field value (61) is out of range): 5 fields from minute (e.g. '0 9 * * 1', Mondays 09:00 UTC) or 6 from second",
      '/etc/bg/policy.yaml:9:79 drills[1].notify[0]: channel "nowhere" is not defined under channels',
      '/etc/bg/policy.yaml:10:13 drills[2].name: must be lower-case letters, digits and dashes (at most 63)',
      '/etc/bg/policy.yaml:10:32 drills[2].targets: must list at least one target',
      '/etc/bg/policy.yaml:10:71 drills[2].timeout: must be a duration like 90s, 30m, 1h30m, 24h or 7d',
    ]);
  });

  it('reads PagerDuty incident checks and onIncidentResolved, merging defaults into targets, and refuses bad values', () => {
    const policy = parsePolicy(
      `defaults:\n  incident: { pagerduty: { require: open } }\n  onIncidentResolved: 'shorten:15m'\n${minimalTarget}  - name: strict\n    environment: production\n    credential: { type: jwt, audience: k }\n    incident: { pagerduty: { requesterMustBeResponder: true } }\n    onIncidentResolved: revoke\n`,
      '/p.yaml',
      {},
      'sha',
    );
    expect(policy.targets.map((t) => [t.name, t.incidentPagerDuty, t.onIncidentResolved, t.incidentPattern])).toEqual([
      ['prod-cluster', { requesterMustBeResponder: false }, { action: 'shorten', seconds: 900 }, '^(INC|PD)-?[A-Z0-9]+$'],
      ['strict', { requesterMustBeResponder: true }, { action: 'revoke' }, '^(INC|PD)-?[A-Z0-9]+$'],
    ]);
    expect(parsePolicy(minimalTarget, '/p.yaml', {}, 'sha').targets[0]).toMatchObject({ incidentPagerDuty: null, onIncidentResolved: { action: 'notify' } });
    const described = problemsOf(`defaults:\n  incident: { pagerduty: { require: closed } }\n  onIncidentResolved: 'shorten:soon'\n${minimalTarget}`).map(
      (p) => `${p.field}: ${p.message}`,
    );
    expect(described).toEqual([
      'defaults.incident.pagerduty.require: must be "open" (triggered or acknowledged)',
      'defaults.onIncidentResolved: must be notify, revoke or shorten:<duration> (e.g. shorten:15m)',
    ]);
  });

  it('reads Slack and Teams channels, naming what each lacks', () => {
    const channels = (yaml: string) => parsePolicy(`${minimalTarget}channels:\n${yaml}`, '/p.yaml', { SLACK_BOT_TOKEN: 'xoxb-1' }, 'sha').channels;
    expect(
      channels(
        "  chat: { type: slack, token: '${SLACK_BOT_TOKEN}', channel: '#sec-alerts' }\n  teams: { type: teams, url: 'https://prod.example/workflows/1' }\n",
      ),
    ).toEqual({
      chat: { type: 'slack', token: 'xoxb-1', channel: '#sec-alerts' },
      teams: { type: 'teams', url: 'https://prod.example/workflows/1' },
    });
    const described = problemsOf(
      `${minimalTarget}channels:\n  a: { type: slack, channel: 'sec alerts' }\n  b: { type: teams }\n  c: { type: slack, token: t }\n`,
    ).map((p) => `${p.field}: ${p.message}`);
    expect(described).toEqual([
      'channels.a.token: is required for a slack channel: the bot token',
      'channels.a.channel: is required for a slack channel: #name or a conversation id such as C0123456789',
      'channels.b.url: is required for a webhook or teams channel: an http:// or https:// URL',
      'channels.c.channel: is required for a slack channel: #name or a conversation id such as C0123456789',
    ]);
  });

  it("keeps the example policy's commented drill valid once uncommented", () => {
    const uncommented = readFileSync(EXAMPLE, 'utf8').replace(/^# ( *(drills:|- name: weekly|targets:|schedule:|notify:))/gm, '$1');
    expect(uncommented).toMatch(/^drills:$/m);
    expect(parsePolicy(uncommented, EXAMPLE, {}, 'sha').drills).toEqual([
      { name: 'weekly', targets: ['payments-db', 'prod-cluster'], schedule: '0 9 * * 1', notify: ['audit-log'], timeoutSeconds: 120 },
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('targets:\n  - name: [unclosed\n');
    expect(problems[0]).toMatchObject({ field: '(yaml)', location: expect.stringMatching(/:\d+:\d+$/) });
  });

  it('reports an unreadable file', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml', {})).toThrow(/cannot be read/);
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['24h', 86400],
    ['7d', 604800],
    ['-4h', -14400],
    ['0s', 0],
    ['1h30m', 5400],
    ['1d2h3m4s', 93784],
    ['-1h30m', -5400],
  ])('parses %s as %d seconds', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(['1.5h', '10', 'h', '1w', '', '30m1h', '1h1h', '-'])('rejects %j', (text) => {
    expect(() => parseDurationSeconds(text)).toThrow(/not a duration/);
  });

  it('formats seconds largest unit first, as a person reads them', () => {
    expect([5400, 86400, -14400, 90, 0, 18000, 93784].map(formatDuration)).toEqual(['1h30m', '1d', '-4h', '1m30s', '0s', '5h', '1d2h3m4s']);
  });
});
