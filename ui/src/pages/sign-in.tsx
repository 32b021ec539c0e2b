import { useState } from 'preact/hooks';
import { devToken, startOidcSignIn, type DashboardConfig } from '../auth';
import { Problem } from '../components/layout';

const ROLES = ['engineer', 'security', 'compliance', 'admin'];

export function SignInPage({ config, onToken, error }: { config: DashboardConfig; onToken: (token: string) => void; error?: Error }) {
  const [pasted, setPasted] = useState('');
  const [subject, setSubject] = useState('');
  const [roles, setRoles] = useState<string[]>(['security']);
  const [email, setEmail] = useState('');
  const [problem, setProblem] = useState<Error | undefined>(error);
  const attempt = (work: () => Promise<void>) => work().catch(setProblem);

  return (
    <main class="sign-in">
      <h1>Sign in to breakglass</h1>
      <Problem error={problem} />
      {config.oidc && (
        <section>
          <button type="button" onClick={() => attempt(() => startOidcSignIn(config.oidc!))}>
            Sign in with {new URL(config.oidc.issuer).host}
          </button>
        </section>
      )}
      {config.devSignIn && (
        <form
          aria-labelledby="sign-in-as"
          onSubmit={(event) => {
            event.preventDefault();
            void attempt(async () => onToken(await devToken(subject.trim(), roles, email.trim())));
          }}
        >
          <h2 id="sign-in-as">Sign in as (development server)</h2>
          <label>
            Subject
            <input name="subject" required value={subject} onInput={(e) => setSubject(e.currentTarget.value)} placeholder="sec-1" />
          </label>
          <fieldset>
            <legend>Roles</legend>
            {ROLES.map((role) => (
              <label class="inline">
                <input
                  type="checkbox"
                  name="roles"
                  value={role}
                  checked={roles.includes(role)}
                  onChange={(e) => setRoles(e.currentTarget.checked ? [...roles, role] : roles.filter((r) => r !== role))}
                />
                {role}
              </label>
            ))}
          </fieldset>
          <label>
            Email (optional)
            <input name="email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <button type="submit">Sign in as {subject || '…'}</button>
        </form>
      )}
      <form
        aria-labelledby="paste-token"
        onSubmit={(event) => {
          event.preventDefault();
          onToken(pasted.trim());
        }}
      >
        <h2 id="paste-token">{config.authMode === 'dev' ? 'Paste a dev token' : 'Paste a bearer token'}</h2>
        {config.authMode === 'dev' && (
          <p class="muted">
            Mint one with <code>breakglass dev-token --sub sec-1 --roles security</code>.
          </p>
        )}
        <label>
          Token
          <textarea name="token" required rows={4} value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">The token stays in this browser tab's session storage and is forgotten when the session ends.</p>
    </main>
  );
}
