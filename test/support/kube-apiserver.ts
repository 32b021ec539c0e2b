import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { testCertificate } from './test-certificate';

/**
 * A local HTTPS stand-in for kube-apiserver with an OIDC (JWT) authenticator, as configured in
 * docs/kubernetes.md: it fetches the issuer's discovery document and JWKS (over http here; a real
 * cluster requires https), accepts only the algorithms kube-apiserver allows (RS/ES/PS; EdDSA never),
 * checks iss, aud and exp, maps the username as `prefix + sub`, groups from `groups` and the extra
 * `breakglass.io/grant` from `grant`, and answers discovery and the pods of `default` with a PodList.
 * kube-apiserver's real authenticator cannot run here (no cluster); this speaks its wire format.
 */
export const KUBE_ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

export interface AuthenticatedRequest {
  username: string;
  groups: string[];
  extra: Record<string, string[]>;
  method: string;
  path: string;
}

export class KubeApiServerStandIn {
  readonly authenticated: AuthenticatedRequest[] = [];
  readonly refused: { path: string; reason: string }[] = [];
  /** The broker's issuer URL; set once the broker is up. */
  issuer = '';
  private server?: Server;

  constructor(private readonly options: { audience: string; usernamePrefix: string; pods: string[] }) {}

  /** Starts on a free port; answers its URL and the CA (base64 PEM) for the kubeconfig. */
  async start(): Promise<{ url: string; certificateAuthorityData: string }> {
    const { cert, key } = testCertificate();
    this.server = createServer(
      { cert, key },
      (req, res) => void this.handle(req, res).catch((error: Error) => status(res, 500, 'InternalError', error.message)),
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return { url: `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`, certificateAuthorityData: cert.toString('base64') };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kube');
    const identity = await this.authenticate(req.headers.authorization);
    if ('reason' in identity) {
      this.refused.push({ path: url.pathname, reason: identity.reason });
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    this.authenticated.push({ ...identity, method: req.method ?? 'GET', path: url.pathname });
    const body = this.answer(url.pathname);
    if (!body) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async authenticate(authorization: string | undefined): Promise<Omit<AuthenticatedRequest, 'method' | 'path'> | { reason: string }> {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return { reason: 'no bearer token' };
    try {
      const discovery = (await (await fetch(`${this.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
      if (discovery.issuer !== this.issuer) return { reason: `discovery issuer ${discovery.issuer} is not ${this.issuer}` };
      const jwks = (await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet;
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: this.issuer,
        audience: this.options.audience,
        algorithms: KUBE_ALLOWED_ALGORITHMS,
      });
      const grant: Record<string, string[]> = typeof payload.grant === 'string' ? { 'breakglass.io/grant': [payload.grant] } : {};
      return {
        username: `${this.options.usernamePrefix}${payload.sub}`,
        groups: Array.isArray(payload.groups) ? (payload.groups as string[]) : [],
        extra: grant,
      };
    } catch (error) {
      return { reason: (error as Error).message };
    }
  }

  private answer(pathname: string): unknown {
    switch (pathname) {
      case '/api':
        return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
      case '/apis':
        return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
      case '/api/v1':
        return {
          kind: 'APIResourceList',
          groupVersion: 'v1',
          resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] }],
        };
      case '/api/v1/namespaces/default/pods':
        return {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: this.options.pods.map((name) => ({
            kind: 'Pod',
            apiVersion: 'v1',
            metadata: { name, namespace: 'default', creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
            spec: {},
            status: { phase: 'Running' },
          })),
        };
      default:
        return undefined;
    }
  }
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
