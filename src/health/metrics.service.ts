import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus registry of this process (one per app, so tests' apps do not share counters). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'breakglass_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'breakglass_http_request_duration_seconds',
    help: 'HTTP request duration, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly auditEvents = new Counter({
    name: 'breakglass_audit_events_total',
    help: 'Audit events appended to the hash chain, by action',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  readonly proxyConnections = new Gauge({
    name: 'breakglass_pg_proxy_connections',
    help: 'Client connections open at the PostgreSQL proxy (authenticated sessions)',
    registers: [this.registry],
  });

  readonly proxyStatements = new Counter({
    name: 'breakglass_pg_proxy_statements_recorded_total',
    help: 'Statements the PostgreSQL proxy recorded, by recording mode',
    labelNames: ['recording'] as const,
    registers: [this.registry],
  });

  readonly proxyRecordLatency = new Histogram({
    name: 'breakglass_pg_proxy_record_seconds',
    help: 'Time from a statement reaching the proxy to its record being committed',
    labelNames: ['recording'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly proxyLoginsRefused = new Counter({
    name: 'breakglass_pg_proxy_logins_refused_total',
    help: 'Proxy logins refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly proxyRecordsLost = new Counter({
    name: 'breakglass_pg_proxy_records_lost_total',
    help: 'Records the proxy could not write (best-effort: the statement ran; a gap record marks them)',
    registers: [this.registry],
  });

  readonly notificationAttempts = new Counter({
    name: 'breakglass_notification_attempts_total',
    help: 'Notification delivery attempts by this instance, by channel and outcome (delivered, failed, undeliverable)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  /**
   * A gauge read from the database when Prometheus scrapes (so every instance reports the shared
   * state): grants active, clocks breached, the notification backlog. Registered by the domain that
   * owns the figure. A database that cannot answer leaves the gauge empty for that scrape.
   */
  observe<Label extends string>(
    name: string,
    help: string,
    labelNames: readonly Label[],
    read: () => Promise<{ labels?: Partial<Record<Label, string>>; value: number }[]>,
  ): void {
    new Gauge<Label>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        const samples = await read().catch(() => []);
        for (const { labels, value } of samples) {
          if (labels) this.set(labels, value);
          else this.set(value);
        }
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'breakglass_' });
    // prom-client names three gauges `…_total`, a suffix Prometheus reserves for counters (promtool
    // warns); the same figures by type stay (breakglass_nodejs_active_handles{type=…} and so on).
    for (const gauge of ['active_handles', 'active_requests', 'active_resources']) this.registry.removeSingleMetric(`breakglass_nodejs_${gauge}_total`);
  }
}
