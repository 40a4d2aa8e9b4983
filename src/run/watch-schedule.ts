/**
 * The schedule of `netcheck watch`: one run, then a wait, then the next, until the stop signal. Runs never
 * overlap, since the next one is only scheduled once the last has returned (its pods deleted): a run that takes
 * longer than the interval is followed by the next one at once, never by two at a time. Each wait is the interval
 * from the last run's start plus a random jitter, so that watchers started together (replicas of a chart, many
 * clusters' watchers against one API) do not keep probing in the same second.
 */

export interface ScheduleOptions {
  /** Time between the starts of two runs. */
  everyMs: number;
  /** Up to this fraction of `everyMs` is added to each wait, drawn anew every time (default 0.1). */
  jitter?: number;
  /** Ends the schedule: the run in progress is given the same signal (it stops and deletes its pods), no run follows. */
  signal: AbortSignal;
  /** One run; resolves once it is over and cleaned up. The schedule never calls it again before that. */
  run: (signal: AbortSignal) => Promise<void>;
  /** For tests: the clock, the random source and the wait. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const DEFAULT_JITTER = 0.1;

/** Runs `run` on the schedule until `signal` aborts; resolves once the last run has returned. */
export async function runOnSchedule(options: ScheduleOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const jitter = options.jitter ?? DEFAULT_JITTER;
  while (!options.signal.aborted) {
    const started = now();
    await options.run(options.signal);
    if (options.signal.aborted) break;
    const wait = nextWaitMs(options.everyMs, jitter, now() - started, random());
    await sleep(wait, options.signal);
  }
}

/** The wait after a run that took `elapsedMs`: the rest of the interval plus jitter, never negative. */
export function nextWaitMs(everyMs: number, jitter: number, elapsedMs: number, random: number): number {
  return Math.max(0, everyMs - elapsedMs) + Math.floor(random * jitter * everyMs);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: a stop is not an error here). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
