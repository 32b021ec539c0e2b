import { CronTime } from 'cron';

// Cron arithmetic for drills, in UTC. The `cron` package (what @nestjs/schedule runs jobs with)
// answers "next fire time after t"; a drill also needs "the latest fire time at or before now",
// to name the run a tick (or a catch-up after downtime) claims.

export const DRILL_TIME_ZONE = 'UTC';

export function nextFireAfter(schedule: string, after: Date): Date {
  return new CronTime(schedule, DRILL_TIME_ZONE).getNextDateFrom(after).toJSDate();
}

/**
 * The latest fire time in [notBefore, now], or null when there is none. Looks back over doubling
 * windows, so a per-second schedule and a weekly one both take a handful of steps.
 */
export function latestFireAtOrBefore(schedule: string, now: Date, notBefore: Date): Date | null {
  const time = new CronTime(schedule, DRILL_TIME_ZONE);
  const next = (after: number) => time.getNextDateFrom(new Date(after)).toJSDate().getTime();
  // getNextDateFrom answers strictly after its argument: start 1 ms early to include notBefore itself.
  const lowest = notBefore.getTime() - 1;
  for (let windowMs = 2000; ; windowMs *= 2) {
    const from = Math.max(now.getTime() - windowMs, lowest);
    let fire = next(from);
    if (fire <= now.getTime()) {
      for (let later = next(fire); later <= now.getTime(); later = next(later)) fire = later;
      return new Date(fire);
    }
    if (from === lowest) return null;
  }
}

/**
 * The fire time a starting instance catches up, or null: the latest since the drill was registered
 * with its schedule (or since its last scheduled run), up to the moment this instance's cron job
 * started. Later fire times are the job's to tick; counting them here let a slow start claim one
 * as `catch_up` ahead of its tick.
 */
export function missedFireTime(schedule: string, known: { registeredAt: Date; lastScheduledFor: Date | null; jobStartedAt: Date }): Date | null {
  const since = new Date(Math.max(known.registeredAt.getTime(), (known.lastScheduledFor?.getTime() ?? 0) + 1));
  return latestFireAtOrBefore(schedule, known.jobStartedAt, since);
}
