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
});
