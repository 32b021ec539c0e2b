import { latestFireAtOrBefore, nextFireAfter } from './drill-schedule';

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
});
