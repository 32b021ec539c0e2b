import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api';
import { completeOidcSignIn, forgetToken, loadConfig, storedToken, storeToken, type DashboardConfig, type Me } from './auth';
import { Problem } from './components/layout';
import type { PageProps } from './page-props';
import { AuditPage } from './pages/audit';
import { GrantPage } from './pages/grant';
import { GrantsPage } from './pages/grants';
import { LivePage } from './pages/live';
import { ReviewQueuePage } from './pages/reviews';
import { SignInPage } from './pages/sign-in';
import { SlaBoardPage } from './pages/sla';
import type { BrokerRole } from './types';
import { browserZone, useZone, type Zone } from './util';
import './styles.css';

// Hash routes: the service serves one index.html at /ui/, the page decides what to show.
const ROUTES: { path: RegExp; label?: string; roles?: BrokerRole[]; page: (props: PageProps, match: RegExpMatchArray) => preact.JSX.Element }[] = [
  { path: /^#?\/?(live)?$/, label: 'Live', page: (p) => <LivePage {...p} /> },
  { path: /^#\/grants$/, label: 'Grants', page: (p) => <GrantsPage {...p} /> },
  { path: /^#\/grants\/([A-Za-z0-9-]+)$/, page: (p, m) => <GrantPage {...p} id={m[1]} /> },
  { path: /^#\/sla$/, label: 'SLA board', roles: ['security', 'compliance'], page: (p) => <SlaBoardPage {...p} /> },
  { path: /^#\/reviews$/, label: 'Review queue', roles: ['security', 'compliance'], page: (p) => <ReviewQueuePage {...p} /> },
  { path: /^#\/audit$/, label: 'Audit', roles: ['security', 'compliance'], page: (p) => <AuditPage {...p} /> },
];
const HREFS: Record<string, string> = { Live: '#/live', Grants: '#/grants', 'SLA board': '#/sla', 'Review queue': '#/reviews', Audit: '#/audit' };

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function App() {
  const [config, setConfig] = useState<DashboardConfig>();
  const [token, setToken] = useState<string | null>(storedToken());
  const [me, setMe] = useState<Me>();
  const [error, setError] = useState<Error>();
  const hash = useHash();
  // Switching the zone re-renders every page from here: one zone across the page.
  const [zone, setZone] = useZone();
  const signOut = () => {
    forgetToken();
    setToken(null);
    setMe(undefined);
  };
  const api = useMemo(() => (token ? createApi(token, signOut) : null), [token]);

  useEffect(() => {
    loadConfig()
      .then(async (loaded) => {
        setConfig(loaded);
        const returned = loaded.oidc ? await completeOidcSignIn(loaded.oidc) : null;
        if (returned) signIn(returned);
      })
      .catch(setError);
  }, []);
  useEffect(() => {
    if (!api) return;
    api.get<Me>('/v1/me').then(setMe, (e: Error) => {
      setError(e);
      signOut();
    });
  }, [api]);

  const signIn = (value: string) => {
    storeToken(value);
    setError(undefined);
    setToken(value);
  };

  if (!config)
    return (
      <main>
        <Problem error={error} />
        <p aria-busy="true">Loading…</p>
      </main>
    );
  if (!api || !me) return <SignInPage config={config} onToken={signIn} error={error} />;
  const route = ROUTES.find((r) => r.path.test(hash || '#/live'))!;
  const match = (hash || '#/live').match(route?.path ?? /$^/);
  return (
    <>
      <header>
        <a class="brand" href="#/live">
          breakglass
        </a>
        <nav aria-label="Pages">
          {ROUTES.filter((r) => r.label && (!r.roles || r.roles.some((role) => me.roles.includes(role)))).map((r) => (
            <a href={HREFS[r.label!]} aria-current={r === route ? 'page' : undefined}>
              {r.label}
            </a>
          ))}
        </nav>
        <label class="zone">
          Times in{' '}
          <select name="zone" value={zone} onChange={(e) => setZone(e.currentTarget.value as Zone)}>
            <option value="UTC">UTC</option>
            <option value="local">{browserZone()} (this browser)</option>
          </select>
        </label>
        <span class="who">
          {me.subject} <span class="muted">({me.roles.join(', ')})</span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {route && match ? (
          route.page({ api, me }, match)
        ) : (
          <p>
            Page not found. <a href="#/live">Back to Live</a>
          </p>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
