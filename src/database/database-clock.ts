import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';

const RESYNC_MS = 60_000;

/**
 * The database clock (the source of truth for times) without a round trip: the offset between
 * it and this process's clock is measured at start and every minute, at the midpoint of a query.
 */
@Injectable()
export class DatabaseClock implements OnApplicationBootstrap, OnModuleDestroy {
  private offsetMs = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync().catch(() => undefined), RESYNC_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Now by the database clock, to the millisecond. */
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  private async sync(): Promise<void> {
    const before = Date.now();
    const [row] = await this.dataSource.query(`SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms`);
    const after = Date.now();
    this.offsetMs = Math.round(Number(row.ms) - (before + after) / 2);
  }
}
