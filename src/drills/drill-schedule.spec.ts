import { latestFireAtOrBefore, missedFireTime, nextFireAfter } from './drill-schedule';

describe('drill schedules (UTC)', () => {
  const now = new Date('2026-12-02T10:00:03.500Z');

  it('finds the latest fire time at or before now, for second and weekly schedules alike', () => {
    expect(latestFireAtOrBefore('*/2 * * * * *', now, new Date('2026-01-01'))).toEqual(new Date('2026-12-02T10:00:02.000Z'));
    // 2026-11-30 is a Monday
    expect(latestFireAtOrBefore('0 9 * * 1', now, new Date('2026-01-01'))).toEqual(new Date('2026-11-30T09:00:00.000Z'));
    expect(latestFireAtOrBefore('0 */5 * * * *', now, new Date('2026-12-02T09:00:00Z'))).toEqual(new Date('2026-12-02T10:00:00.000Z'));
  });

  it('answers null when no fire time falls after notBefore (a drill registered since)', () => {
    expect(latestFireAtOrBefore('0 9 * * 1', now, new Date('2026-12-01'))).toBeNull();
    expect(latestFireAtOrBefore('0 */5 * * * *', now, new Date('2026-12-02T10:00:00.001Z'))).toBeNull();
    expect(latestFireAtOrBefore('0 */5 * * * *', now, new Date('2026-12-02T10:00:00.000Z'))).toEqual(new Date('2026-12-02T10:00:00.000Z'));
  });

  it('gives the next fire time strictly after a moment', () => {
    expect(nextFireAfter('0 9 * * 1', new Date('2026-11-30T09:00:00.000Z'))).toEqual(new Date('2026-12-07T09:00:00.000Z'));
  });

  it('catches up fire times up to when the cron job started, never one the job will tick', () => {
    const registeredAt = new Date('2026-12-02T10:00:00.300Z');
    // A slow start: the job started at :01.500; now is :03.500, so :02 is the job's tick, not a catch-up.
    expect(missedFireTime('*/2 * * * * *', { registeredAt, lastScheduledFor: null, jobStartedAt: new Date('2026-12-02T10:00:01.500Z') })).toBeNull();
    // A fire time between registration and the job's start was missed and is caught up.
    expect(missedFireTime('*/2 * * * * *', { registeredAt, lastScheduledFor: null, jobStartedAt: new Date('2026-12-02T10:00:02.200Z') })).toEqual(
      new Date('2026-12-02T10:00:02.000Z'),
    );
    // A fire time already run on schedule is not run again.
    const lastScheduledFor = new Date('2026-12-02T10:00:02.000Z');
    expect(missedFireTime('*/2 * * * * *', { registeredAt, lastScheduledFor, jobStartedAt: new Date('2026-12-02T10:00:03.900Z') })).toBeNull();
  });
});
