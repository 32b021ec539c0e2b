import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { openApiDocument } from './api-contract/openapi-document';
import { AppModule } from './app.module';
import { loadConfig } from './config/env';
import { loadPolicyFile } from './config/policy.loader';

// `npm run api:contract`: writes docs/openapi.json from the controllers and regenerates the types the
// dashboard and the CLI use (src/api-contract/openapi.ts) with openapi-typescript. Nest's preview
// mode builds the module graph without instantiating providers, so no database is needed.
// test/api-contract.e2e-spec.ts fails when either file is stale.

const root = path.resolve(__dirname, '../..');

async function writeApiContract(): Promise<void> {
  const environment = { AUTH_MODE: 'dev', DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused' };
  const config = loadConfig(environment, root);
  const policy = loadPolicyFile(config.policyPath, environment);
  const app = await NestFactory.create(AppModule.forRoot({ config, policy, dataSource: {} as DataSource, brokerAdminUrl: '' }), {
    preview: true,
    logger: false,
  });
  const documentFile = path.join(root, 'docs/openapi.json');
  writeFileSync(documentFile, `${JSON.stringify(openApiDocument(app), null, 2)}\n`);
  await app.close();
  const typesFile = path.join(root, 'src/api-contract/openapi.ts');
  execFileSync(path.join(root, 'node_modules/.bin/openapi-typescript'), [documentFile, '--output', typesFile], { stdio: 'inherit' });
  console.log(`wrote ${path.relative(root, documentFile)} and ${path.relative(root, typesFile)}`);
}

void writeApiContract();
