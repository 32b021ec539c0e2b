import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { getMetadataStorage, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import { isLoopback } from './loopback';
import { flattenValidationErrors } from './validation-problems';

const trimmedOrUndefined = ({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
const toInteger = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return /^\d+$/.test(value.trim()) ? Number(value) : value;
};
const PORT_RANGE = { message: 'must be an integer port number from 0 to 65535' };

const HTTP_URL = /^https?:\/\/[^\s/]+(\/\S*)?$/;
const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
const SMTP_URL = /^smtps?:\/\/\S+$/;
const HOST_AND_PORT = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

/**
 * The environment as docs/configuration.md lists it. Every variable is validated at boot; a bad value stops
 * the start with a message naming the variable.
 */
export class EnvironmentVariables {
  @IsOptional()
  @Transform(toInteger)
  @IsInt(PORT_RANGE)
  @Min(0, PORT_RANGE)
  @Max(65535, PORT_RANGE)
  PORT: number = 8080;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9.:-]+$/, { message: 'must be a host name or IP address' })
  HOST: string = '127.0.0.1';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  BREAKGLASS_DATA_DIR: string = './.breakglass';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(POSTGRES_URL, { message: 'must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Connections the broker keeps to its database (per instance). */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number' })
  @Min(2, { message: 'must be at least 2' })
  @Max(500, { message: 'must be at most 500' })
  DATABASE_POOL_SIZE: number = 20;

  /** Port of the embedded PostgreSQL server (only used when DATABASE_URL is unset). */
  @IsOptional()
  @Transform(toInteger)
  @IsInt(PORT_RANGE)
  @Min(1, PORT_RANGE)
  @Max(65535, PORT_RANGE)
  BREAKGLASS_EMBEDDED_PG_PORT: number = 54329;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  BREAKGLASS_POLICY: string = 'examples/policy.yaml';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  BREAKGLASS_PUBLIC_URL?: string;

  /**
   * The audit log's origin line in signed checkpoints, and its log key's name (docs/transparency.md):
   * default `<host of BREAKGLASS_PUBLIC_URL>/breakglass/audit`. C2SP key names have no spaces or `+`.
   */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(/^[\x21-\x2a\x2c-\x7e]{1,200}$/, { message: 'must be printable ASCII without spaces or "+", e.g. broker.example.com/breakglass/audit' })
  BREAKGLASS_LOG_ORIGIN?: string;

  /**
   * Memory for the Merkle tree's nodes, so proofs need no database read (docs/transparency.md):
   * 64 MB holds a million events' tree; beyond the budget the lowest levels are read from the database.
   */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number of megabytes' })
  @Min(0, { message: 'must be 0 (proofs read every node from the database) or more' })
  @Max(65536, { message: 'must be at most 65536' })
  BREAKGLASS_TREE_CACHE_MB: number = 256;

  /** The recording PostgreSQL proxy (docs/proxy.md): listen address, default HOST. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9.:-]+$/, { message: 'must be a host name or IP address' })
  BREAKGLASS_PG_PROXY_HOST?: string;

  @IsOptional()
  @Transform(toInteger)
  @IsInt(PORT_RANGE)
  @Min(0, PORT_RANGE)
  @Max(65535, PORT_RANGE)
  BREAKGLASS_PG_PROXY_PORT: number = 54330;

  /** `host:port` written into proxy credentials (default: the address the proxy listens on). */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HOST_AND_PORT, { message: 'must be host or host:port' })
  BREAKGLASS_PG_PROXY_PUBLIC?: string;

  /** How long a client may take to log in at the proxy before it is disconnected. */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number of milliseconds' })
  @Min(100, { message: 'must be at least 100' })
  @Max(600000, { message: 'must be at most 600000' })
  BREAKGLASS_PG_PROXY_LOGIN_TIMEOUT_MS: number = 10000;

  /** PEM files (or PEM text); with both set the proxy answers SSLRequest with TLS. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  BREAKGLASS_PG_PROXY_TLS_CERT?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  BREAKGLASS_PG_PROXY_TLS_KEY?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsIn(['dev', 'oidc'], { message: 'must be "dev" or "oidc"' })
  AUTH_MODE: 'dev' | 'oidc' = 'dev';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsIn(['0', '1'], { message: 'must be 0 or 1' })
  ALLOW_DEV_AUTH?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_ISSUER?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_AUDIENCE?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  OIDC_JWKS_URL?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_ROLES_CLAIM: string = 'groups';

  /** The dashboard's OIDC client (authorization code + PKCE, a public client); unset = paste a token. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_UI_CLIENT_ID?: string;

  /** The CLI's OIDC client for `breakglass login` (device authorization grant, RFC 8628; a public client). */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_CLI_CLIENT_ID?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  OIDC_EMAIL_CLAIM: string = 'email';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(SMTP_URL, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(/^(.*<)?[^\s@<>]+@[^\s@<>]+(>)?$/, { message: 'must be an email address, optionally as "Name <address>"' })
  SMTP_FROM?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HOST_AND_PORT, { message: 'must be host[:port], without a scheme' })
  PAGERDUTY_EVENTS_SERVER: string = 'events.pagerduty.com';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  PAGERDUTY_API_URL: string = 'https://api.pagerduty.com';

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  PAGERDUTY_API_TOKEN?: string;

  /** Base of the Slack Web API (slack channels); a stand-in's in tests. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  SLACK_API_URL: string = 'https://slack.com/api/';

  /** PEM file of extra CAs trusted for the Events API (a private CA, or a test receiver). */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  PAGERDUTY_CA_FILE?: string;

  /** First retry delay of a failed notification; doubles per attempt (capped at 10 minutes). */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number of milliseconds' })
  @Min(10, { message: 'must be at least 10' })
  @Max(600000, { message: 'must be at most 600000' })
  BREAKGLASS_RETRY_BASE_MS: number = 2000;

  /** Break-glass requests (POST /v1/grants) per caller per minute, per instance; 0 = no limit. */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number of requests per minute' })
  @Min(0, { message: 'must be 0 (no limit) or more' })
  BREAKGLASS_RATE_LIMIT_GRANTS: number = 30;

  /** Inbound webhook deliveries per source address per minute, per instance; 0 = no limit. */
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'must be a whole number of requests per minute' })
  @Min(0, { message: 'must be 0 (no limit) or more' })
  BREAKGLASS_RATE_LIMIT_WEBHOOKS: number = 600;

  /** Token for GitHub's REST API (retro-PR verification, docs/forge-evidence.md). */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  GITHUB_TOKEN?: string;

  /** GitHub's REST API base (GitHub Enterprise: https://HOST/api/v3); unset: https://api.github.com. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  GITHUB_API_URL?: string;

  /** Token for GitLab's REST API (read_api scope). */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  GITLAB_TOKEN?: string;

  /** The GitLab server (https://gitlab.example.com, with or without /api/v4); unset: https://gitlab.com. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'must be an http:// or https:// URL' })
  GITLAB_API_URL?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  GITHUB_WEBHOOK_SECRET?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  GITLAB_WEBHOOK_TOKEN?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  FLUX_WEBHOOK_SECRET?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  ARGOCD_WEBHOOK_TOKEN?: string;

  /** The signing secret of the PagerDuty Webhooks v3 subscription (P2.6); unset = the webhook answers 503. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  PAGERDUTY_WEBHOOK_SECRET?: string;

  /** Bearer token kube-apiserver's audit webhook sends (P2.3); unset = the webhook answers 503. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  KUBERNETES_AUDIT_TOKEN?: string;

  /** Master key (base64 of 32 bytes) sealing signing keys at rest; default: `master.key` in the data dir. */
  @Transform(trimmedOrUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be 32 random bytes in base64 (e.g. openssl rand -base64 32)' })
  BREAKGLASS_KEY?: string;

  @Transform(trimmedOrUndefined)
  @IsOptional()
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'], { message: 'must be one of error, warn, log, debug, verbose' })
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}

export type AuthSettings = { mode: 'dev' } | { mode: 'oidc'; issuer: string; audience: string; jwksUrl: string; rolesClaim: string; emailClaim: string };

/** The validated, resolved configuration the service runs with. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  embeddedPostgresPort: number;
  policyPath: string;
  publicUrl: string;
  /** The audit log's checkpoint origin and log key name. */
  logOrigin: string;
  auth: AuthSettings;
  production: boolean;
  logLevel: EnvironmentVariables['LOG_LEVEL'];
  /** The recording PostgreSQL proxy: where it listens, what credentials say, its TLS key pair. */
  pgProxy: { host: string; port: number; publicAddress: string | null; tls: { cert: string; key: string } | null };
  env: EnvironmentVariables;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Validates the environment; throws one ConfigurationError listing every problem. */
/** Every variable the broker reads (docs/configuration.md); others in the environment are not its business. */
export function knownVariables(): Set<string> {
  return new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((metadata) => metadata.propertyName),
  );
}

export function loadConfig(environment: NodeJS.ProcessEnv, cwd = process.cwd()): AppConfig {
  const declared = knownVariables();
  const defined = Object.fromEntries(Object.entries(environment).filter(([name, value]) => declared.has(name) && value !== undefined));
  const env = plainToInstance(EnvironmentVariables, defined);
  const problems = flattenValidationErrors(validateSync(env, { stopAtFirstError: true })).map(
    ({ field, problems: fieldProblems }) => `${field}: ${fieldProblems.join('; ')} (got ${JSON.stringify(environment[field])})`,
  );
  // Defaults are restored where a variable was set to an empty string.
  const defaults = new EnvironmentVariables();
  for (const [name, value] of Object.entries(defaults)) {
    if ((env as unknown as Record<string, unknown>)[name] === undefined) (env as unknown as Record<string, unknown>)[name] = value;
  }

  const production = env.NODE_ENV === 'production';
  if (env.AUTH_MODE === 'dev' && production && env.ALLOW_DEV_AUTH !== '1') {
    problems.push('AUTH_MODE: "dev" is refused when NODE_ENV=production; use AUTH_MODE=oidc, or set ALLOW_DEV_AUTH=1 to accept dev tokens anyway');
  }
  if (env.AUTH_MODE === 'oidc') {
    for (const name of ['OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_JWKS_URL'] as const) {
      if (!env[name]) problems.push(`${name}: is required when AUTH_MODE=oidc`);
    }
  }
  if (env.SMTP_URL && !env.SMTP_FROM) problems.push('SMTP_FROM: is required when SMTP_URL is set');
  const proxyTls = pemPair(env.BREAKGLASS_PG_PROXY_TLS_CERT, env.BREAKGLASS_PG_PROXY_TLS_KEY, cwd, problems);
  const proxyHost = env.BREAKGLASS_PG_PROXY_HOST ?? env.HOST;
  if (!proxyTls && !isLoopback(proxyHost)) {
    problems.push(
      `BREAKGLASS_PG_PROXY_HOST: the PostgreSQL proxy would listen on ${proxyHost} without TLS, sending credentials and statements in clear; ` +
        'set BREAKGLASS_PG_PROXY_TLS_CERT and BREAKGLASS_PG_PROXY_TLS_KEY, or listen on a loopback address',
    );
  }
  if (problems.length) throw new ConfigurationError(problems);

  const auth: AuthSettings =
    env.AUTH_MODE === 'oidc'
      ? {
          mode: 'oidc',
          issuer: env.OIDC_ISSUER!,
          audience: env.OIDC_AUDIENCE!,
          jwksUrl: env.OIDC_JWKS_URL!,
          rolesClaim: env.OIDC_ROLES_CLAIM,
          emailClaim: env.OIDC_EMAIL_CLAIM,
        }
      : { mode: 'dev' };
  const publicUrl = (env.BREAKGLASS_PUBLIC_URL ?? httpOrigin(env.HOST, env.PORT)).replace(/\/+$/, '');
  return {
    port: env.PORT,
    host: env.HOST,
    dataDir: path.resolve(cwd, env.BREAKGLASS_DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    embeddedPostgresPort: env.BREAKGLASS_EMBEDDED_PG_PORT,
    policyPath: path.resolve(cwd, env.BREAKGLASS_POLICY),
    publicUrl,
    logOrigin: env.BREAKGLASS_LOG_ORIGIN ?? `${new URL(publicUrl).host}/breakglass/audit`,
    auth,
    production,
    logLevel: env.LOG_LEVEL,
    pgProxy: { host: proxyHost, port: env.BREAKGLASS_PG_PROXY_PORT, publicAddress: env.BREAKGLASS_PG_PROXY_PUBLIC ?? null, tls: proxyTls },
    env,
  };
}

/** Both or neither; each a PEM file path or PEM text. */
function pemPair(cert: string | undefined, key: string | undefined, cwd: string, problems: string[]): { cert: string; key: string } | null {
  if (!cert && !key) return null;
  if (!cert || !key) {
    problems.push(
      `${cert ? 'BREAKGLASS_PG_PROXY_TLS_KEY' : 'BREAKGLASS_PG_PROXY_TLS_CERT'}: is required with ${cert ? 'BREAKGLASS_PG_PROXY_TLS_CERT' : 'BREAKGLASS_PG_PROXY_TLS_KEY'}`,
    );
    return null;
  }
  const read = (name: string, value: string, marker: RegExp) => {
    const text = value.startsWith('-----BEGIN') ? value : readIfExists(path.resolve(cwd, value));
    if (text === undefined) problems.push(`${name}: no such file ${value}`);
    else if (!marker.test(text)) problems.push(`${name}: ${value} is not a PEM file`);
    return text ?? '';
  };
  const pair = {
    cert: read('BREAKGLASS_PG_PROXY_TLS_CERT', cert, /-----BEGIN CERTIFICATE-----/),
    key: read('BREAKGLASS_PG_PROXY_TLS_KEY', key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
  return pair;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `http://host:port`, with an IPv6 host in brackets. */
export function httpOrigin(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
