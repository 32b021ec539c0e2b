import { useEffect, useRef, useState } from 'preact/hooks';

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

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
