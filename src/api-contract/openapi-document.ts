import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ErrorBody } from '../common/error.filter';

/**
 * The OpenAPI document of the HTTP API, from the controllers and their request and response DTOs.
 * Served at /openapi.json, checked in as docs/openapi.json, and turned into the TypeScript types the
 * dashboard and the CLI build against (src/api-contract/openapi.ts, `npm run api:contract`).
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('breakglass')
      .setDescription('Emergency-access broker: time-boxed credentials, recorded sessions, retroactive PR SLA, hash-chained audit log')
      .setVersion('1')
      .addBearerAuth()
      .addGlobalResponse({ status: 'default', description: 'An error: the one error shape of every endpoint', type: ErrorBody })
      .build(),
  );
}
