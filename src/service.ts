import { hostname } from 'node:os';
import * as path from 'node:path';
import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import { openApiDocument } from './api-contract/openapi-document';
import { AppModule } from './app.module';
import { AuditLog } from './audit/audit-log.service';
import { CommonError } from './common/domain-error';
import { BrokerHttpAdapter } from './common/http-adapter';
import { jsonBody, storableQuery } from './common/json-body';
import { assignRequestId } from './common/request-context';
import { ServiceLogger } from './common/service-logger';
import { ServiceConfig } from './config/config.providers';
import { httpOrigin, loadConfig, type AppConfig } from './config/env';
import type { Policy } from './config/policy';
import { loadPolicyFile } from './config/policy.loader';
import { flattenValidationErrors } from './config/validation-problems';
import { createDataSource, ensureDatabase, migrate } from './database/data-source';
import { DatabaseUnreachable } from './database/database-errors';
import { EmbeddedPostgres } from './database/embedded-postgres';
import { observeRequests } from './health/http-observer';
import { Metrics } from './health/metrics.service';
import { kubernetesAuditBody } from './integrations/kubernetes/kubernetes-audit.controller';
import { mountDashboard } from './ui/dashboard';

const JSON_BODY_LIMIT = '1mb';
// A session batch may hold 500 events of up to 64 KiB of command each.
const SESSION_EVENTS_BODY_LIMIT = '40mb';

export interface RunningService {
  app: INestApplication;
  config: AppConfig;
  policy: Policy;
  dataSource: DataSource;
  /** The base URL the HTTP server listens on. */
  url: string;
  /** Closes the app and the database; `reason` goes into the shutdown log line (e.g. SIGTERM). */
  stop(reason?: string): Promise<void>;
}

export interface OpenedDatabase {
  dataSource: DataSource;
  /** Superuser of the embedded server, or DATABASE_URL: what `adminUrl: embedded` uses. */
  adminUrl: string;
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

export function createLogger(config: Pick<AppConfig, 'logLevel'>): ServiceLogger {
  return new ServiceLogger(config.logLevel);
}

/** `DATABASE_URL`, or the embedded server under `<data dir>/pg`; migrations applied either way. */
export async function openDatabase(config: AppConfig, logger: ServiceLogger): Promise<OpenedDatabase> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  let adminUrl = url;
  if (!url) {
    embedded = new EmbeddedPostgres({
      clusterDir: path.join(config.dataDir, 'pg'),
      port: config.embeddedPostgresPort,
      log: (line) => logger.debug(line, 'postgres'),
    });
    adminUrl = await embedded.start();
    url = await ensureDatabase(adminUrl);
    logger.log(`embedded PostgreSQL running on 127.0.0.1:${config.embeddedPostgresPort}`, 'database');
  }
  const dataSource = createDataSource(url, config.env.DATABASE_POOL_SIZE);
  try {
    await dataSource.initialize().catch((error: unknown) => {
      throw embedded ? error : new DatabaseUnreachable(url, error);
    });
    const applied = await migrate(dataSource);
    if (applied.length) logger.log({ msg: `applied ${applied.length} migration(s), up to ${applied.at(-1)}`, migrations: applied }, 'database');
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    adminUrl: adminUrl!,
    embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/** Boots the whole service: configuration, database, Nest app, `policy.loaded`, HTTP listener. */
export async function startService(environment: NodeJS.ProcessEnv): Promise<RunningService> {
  const config = loadConfig(environment);
  const policy = loadPolicyFile(config.policyPath, environment);
  const logger = createLogger(config);
  if (config.auth.mode === 'dev') {
    const loud = config.production ? logger.error.bind(logger) : logger.warn.bind(logger);
    loud(
      'AUTH_MODE=dev: bearer tokens are minted by a local dev issuer (breakglass dev-token). ' +
        (config.production ? 'This is a PRODUCTION process running with dev auth because ALLOW_DEV_AUTH=1.' : 'Use AUTH_MODE=oidc in production.'),
      'auth',
    );
  }
  const database = await openDatabase(config, logger);
  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot({ config, policy, dataSource: database.dataSource, brokerAdminUrl: database.adminUrl }),
      new BrokerHttpAdapter(),
      { logger, bodyParser: false, abortOnError: false },
    );
    configureHttp(app);
    await recordPolicyLoaded(app.get(AuditLog), database.dataSource, policy);
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close();
    await database.close();
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  const url = httpOrigin(config.host, address.port);
  logger.log(
    {
      msg: `breakglass listening on ${url} (${config.auth.mode} auth, ${database.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}, policy ${policy.path}: ${policy.targets.length} target(s), ${Object.keys(policy.channels).length} channel(s))`,
      url,
      auth: config.auth.mode,
      database: database.embedded ? 'embedded' : 'external',
      policy: policy.path,
      policySha256: policy.sha256,
    },
    'service',
  );
  let stopping: Promise<void> | undefined;
  return {
    app,
    config,
    policy,
    dataSource: database.dataSource,
    url,
    stop: (reason = 'stop requested') =>
      (stopping ??= (async () => {
        logger.log({ msg: `shutting down (${reason})`, reason }, 'service');
        await app!.close();
        await database.close();
        logger.log('stopped', 'service');
      })()),
  };
}

export function configureHttp(app: NestExpressApplication): void {
  const metrics = app.get(Metrics);
  app.disable('x-powered-by');
  mountDashboard(app, app.get(ServiceConfig));
  app.use(assignRequestId);
  app.use(observeRequests(metrics));
  // body-parser skips a body already parsed, so the larger limit must be registered first.
  app.use('/v1/grants/:id/events', jsonBody(SESSION_EVENTS_BODY_LIMIT));
  app.use('/v1/webhooks/kubernetes/audit', ...kubernetesAuditBody(app.get(ServiceConfig)));
  app.use(jsonBody(JSON_BODY_LIMIT));
  app.use(storableQuery());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const details = flattenValidationErrors(errors);
        return new CommonError('validation_failed', `Invalid request: ${details.map((d) => `${d.field}: ${d.problems.join('; ')}`).join('; ')}`, details);
      },
    }),
  );
  const document = openApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}

/** The first audit event of every boot: which policy (by SHA-256) is in force from now on. */
async function recordPolicyLoaded(auditLog: AuditLog, dataSource: DataSource, policy: Policy): Promise<void> {
  await dataSource.transaction((tx) =>
    auditLog.append(tx, {
      actor: 'system:broker',
      action: 'policy.loaded',
      data: {
        path: policy.path,
        sha256: policy.sha256,
        targets: policy.targets.map((target) => target.name),
        host: hostname(),
        pid: process.pid,
      },
    }),
  );
}
