import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type Request, type Response } from 'express';
import { devSignInAvailable } from '../auth/dev-tokens.controller';
import type { AppConfig } from '../config/env';

/** What the dashboard needs to know before anyone signs in (no secrets). */
export interface DashboardConfig {
  authMode: 'dev' | 'oidc';
  /** AUTH_MODE=oidc: the authorization-code + PKCE client; null when no UI client is configured. */
  oidc: { issuer: string; clientId: string; audience: string } | null;
  /** AUTH_MODE=dev on a loopback-only service: the "sign in as" helper (POST /v1/dev/tokens). */
  devSignIn: boolean;
}

/**
 * Serves the dashboard (built by `npm run build` into dist/ui) at /ui, with its bootstrap config at
 * /ui/config.json. A strict Content-Security-Policy keeps every request on this origin (and the
 * IdP's, for the OIDC token exchange).
 */
export function mountDashboard(app: NestExpressApplication, config: AppConfig): void {
  const root = dashboardRoot();
  const oidc =
    config.auth.mode === 'oidc' && config.env.OIDC_UI_CLIENT_ID
      ? { issuer: config.auth.issuer, clientId: config.env.OIDC_UI_CLIENT_ID, audience: config.auth.audience }
      : null;
  const dashboardConfig: DashboardConfig = { authMode: config.auth.mode, oidc, devSignIn: devSignInAvailable(config) };
  const connectSources = ["'self'", ...(oidc ? [new URL(oidc.issuer).origin] : [])].join(' ');
  const policy = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectSources}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`;
  const router = express.Router({ strict: true });
  router.use('/ui', (_req: Request, res: Response, next: () => void) => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  router.get('/ui', (_req: Request, res: Response) => res.redirect(301, '/ui/'));
  // Someone opening the broker's address in a browser lands on the dashboard, not on a JSON 404.
  router.get('/', (_req: Request, res: Response) => res.redirect(302, '/ui/'));
  router.get('/ui/config.json', (_req: Request, res: Response) => {
    res.json(dashboardConfig);
  });
  if (existsSync(path.join(root, 'index.html'))) router.use('/ui/', express.static(root, { index: 'index.html' }));
  else router.get('/ui/', (_req: Request, res: Response) => res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build`.'));
  app.use(router);
}

/** dist/ui next to the compiled service; under the tests (sources through swc) the build's copy. */
function dashboardRoot(): string {
  return __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/ui') : path.resolve(__dirname, '../../ui');
}
