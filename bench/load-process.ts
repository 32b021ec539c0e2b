import { fork } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

// Load generators run in a process of their own (as recorders, kube-apiserver or users do), so the
// broker's event loop is measured alone. The parent sends a plan; the child answers one result.
// Ingest loads also report `ingest-start` / `ingest-done`, between which the broker's event-loop
// utilisation is taken (near 1: its one JavaScript thread is the limit).

/** In the child: runs the plan it is sent, answers the result, exits (1 on failure). */
export function servePlan<Plan, Result>(run: (plan: Plan) => Promise<Result>): void {
  process.once('message', (plan: Plan) => {
    run(plan).then(
      (result) => process.send!(result as object, undefined, {}, () => process.exit(0)),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

/** In the parent: forks `script` (a compiled sibling in dist/bench), sends the plan, awaits the result. */
export function runLoad<Result>(script: string, plan: object): Promise<{ result: Result; brokerLoopUtilisation: number }> {
  const load = fork(path.join(__dirname, script));
  let eluStart = performance.eventLoopUtilization();
  let brokerLoopUtilisation = NaN;
  return new Promise((resolve, reject) => {
    load.on('message', (message: { phase?: string }) => {
      if (message.phase === 'ingest-start') eluStart = performance.eventLoopUtilization();
      else if (message.phase === 'ingest-done') brokerLoopUtilisation = performance.eventLoopUtilization(eluStart).utilization;
      else resolve({ result: message as Result, brokerLoopUtilisation });
    });
    load.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
    load.send(plan);
  });
}

/** The figures every ingest benchmark reports: rates, the ratio to raw INSERT, the broker's loop. */
export function ingestFigures(events: number, timing: { ingestSeconds: number; rawSeconds: number }, brokerLoopUtilisation: number): Record<string, number> {
  const ingestRate = events / timing.ingestSeconds;
  const rawRate = events / timing.rawSeconds;
  return {
    ingestEventsPerSecond: Math.round(ingestRate),
    rawInsertEventsPerSecond: Math.round(rawRate),
    ratio: Math.round((ingestRate / rawRate) * 1000) / 1000,
    brokerLoopUtilisation: Math.round(brokerLoopUtilisation * 100) / 100,
  };
}

export const INGEST_TARGETS = { ingestEventsPerSecond: '>= 20000', ratio: '>= 0.5' };
