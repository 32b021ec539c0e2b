import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../auth/decorators';
import { pendingMigrations } from '../database/data-source';
import { Metrics } from './metrics.service';
import { ReadinessChecks } from './readiness';

@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: Metrics,
    private readonly readiness: ReadinessChecks,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: the database answers, every migration is applied, the PostgreSQL proxy listens. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, string> = {};
    try {
      await this.dataSource.query('SELECT 1');
      checks.database = 'ok';
      const pending = await pendingMigrations(this.dataSource);
      checks.migrations = pending.length ? `pending: ${pending.join(', ')}` : 'ok';
    } catch (error) {
      checks.database = `unreachable: ${(error as Error).message}`;
    }
    Object.assign(checks, this.readiness.results());
    // "degraded: …" (the audit sequencer behind) still serves: requests work, reads of the log wait.
    const ready = Object.values(checks).every((value) => value === 'ok' || value.startsWith('degraded'));
    const degraded = Object.values(checks).some((value) => value.startsWith('degraded'));
    res.status(ready ? 200 : 503);
    return { status: ready ? (degraded ? 'degraded' : 'ready') : 'not_ready', checks };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metricsText() {
    return this.metrics.registry.metrics();
  }
}
