import { DueWorkLoop } from './due-work-loop';

describe(DueWorkLoop.name, () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A loop whose work takes 50 ms, woken once while the first run is under way; the runs it made. */
  async function runsAfterWakeDuringWork(fail: boolean): Promise<number> {
    let runs = 0;
    const loop = new DueWorkLoop(
      'test',
      {
        processDue: async () => {
          runs++;
          await pause(50);
          if (fail) throw new Error('database unavailable');
        },
        millisUntilNext: async () => null,
      },
      5_000,
    );
    loop.start();
    await pause(10);
    loop.wake(); // the first run is still working
    await pause(300);
    await loop.stop();
    return runs;
  }

  it('runs again at once when woken while working (the wake may be for something the run missed)', async () => {
    expect(await runsAfterWakeDuringWork(false)).toBe(2);
  });

  it('after a failed run waits its sleep, woken or not (no tight retry while the database is down)', async () => {
    expect(await runsAfterWakeDuringWork(true)).toBe(1);
  });

  it('with coalesceMs, wakes close together share one run, that long after the first', async () => {
    const runsAt: number[] = [];
    const loop = new DueWorkLoop('test', { processDue: async () => void runsAt.push(Date.now()), millisUntilNext: async () => null }, 5_000, 100);
    loop.start();
    await pause(20); // the first run at start is done; the loop sleeps
    const firstWake = Date.now();
    for (let i = 0; i < 5; i++) {
      loop.wake();
      await pause(10);
    }
    await pause(600); // room for a loaded machine's late timers; the loop's own sleep is 5 s
    await loop.stop();
    expect(runsAt).toHaveLength(2);
    expect(runsAt[1] - firstWake).toBeGreaterThanOrEqual(95);
    expect(runsAt[1] - firstWake).toBeLessThan(1_000);
  });
});
