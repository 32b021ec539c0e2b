import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDuration } from '../../src/config/duration';

/** The current time, re-rendering every second (countdowns). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export interface Resource<T> {
  data?: T;
  error?: Error;
  reload(): void;
}

/** Loads `load()` now, whenever `deps` change and, with `everyMs`, again on that interval. */
export function useResource<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error }>({});
  const [round, setRound] = useState(0);
  const shown = useRef<string>();
  useEffect(() => {
    let live = true;
    // Another thing to show (another grant id): drop what was shown, so an error is not shown
    // beside the previous thing's data. A reload of the same thing keeps it while loading.
    const key = JSON.stringify(deps);
    if (shown.current !== undefined && shown.current !== key) setState({});
    shown.current = key;
    const run = () =>
      load().then(
        (data) => live && setState({ data }),
        (error: Error) => live && setState((s) => ({ ...s, error })),
      );
    void run();
    const timer = everyMs ? setInterval(run, everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

export function timeLeft(until: string | null | undefined, now: number): string {
  if (!until) return '—';
  const seconds = Math.round((Date.parse(until) - now) / 1000);
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  const parts =
    s >= 3600
      ? `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
      : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return seconds < 0 ? `${sign}${parts} (past)` : parts;
}

// One time zone across every page, switchable in the header: UTC (the default, what the audit log,
// the text transcript and the reports use) or the browser's own zone. Kept for the tab's session.
export type Zone = 'UTC' | 'local';
const ZONE_KEY = 'breakglass.timeZone';
const ZONE_CHANGED = 'breakglass:zone';
let zone: Zone = sessionStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'UTC';

export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The zone in force, re-rendering the caller when it is switched. */
export function useZone(): [Zone, (next: Zone) => void] {
  const [current, setCurrent] = useState(zone);
  useEffect(() => {
    const changed = () => setCurrent(zone);
    addEventListener(ZONE_CHANGED, changed);
    return () => removeEventListener(ZONE_CHANGED, changed);
  }, []);
  const switchTo = (next: Zone) => {
    zone = next;
    sessionStorage.setItem(ZONE_KEY, next);
    dispatchEvent(new Event(ZONE_CHANGED));
  };
  return [current, switchTo];
}

function parts(iso: string): Record<string, string> {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone === 'UTC' ? 'UTC' : undefined,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return Object.fromEntries(format.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
}

/** `2026-12-02 16:50:22 UTC` in the zone in force, the zone always named. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const p = parts(iso);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** The time of day only (`16:50:22`), for a table whose header names the zone (zoneLabel). */
export function clockTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const p = parts(iso);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** What the zone in force is called for a header: "UTC" or "America/New_York". */
export const zoneLabel = (): string => (zone === 'UTC' ? 'UTC' : browserZone());

/** 840 ms → "0.8 s"; from a minute on as policy durations read (83 000 ms → "1m23s"). */
export function elapsed(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return formatDuration(Math.round(ms / 1000));
}
