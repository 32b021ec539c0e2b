import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestIdOf } from '../common/request-context';
import type { Metrics } from './metrics.service';

const logger = new Logger('http');
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** One structured log line and the HTTP metrics for every request, when its answer is sent. */
export function observeRequests(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // The matched route pattern (e.g. /v1/grants/:id), so ids do not explode label cardinality.
      const route = req.route?.path ? `${req.baseUrl ?? ''}${req.route.path}` : 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      // Probes and scrapes come every few seconds: logged only at LOG_LEVEL=debug.
      const log = QUIET_PATHS.has(req.path) ? logger.debug.bind(logger) : logger.log.bind(logger);
      log({
        msg: 'request',
        requestId: requestIdOf(req),
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000 * 10) / 10,
      });
    });
    next();
  };
}
