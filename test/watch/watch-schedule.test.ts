/**
 * src/run/watch-schedule.ts: runs follow one another (never two at once), at the interval plus jitter, and a stop
 * reaches the run in progress and ends the schedule. The clock and the wait are the test's, so nothing depends on
 * how loaded the machine is.
 */
import { describe, expect, it } from 'vitest';
import { abortableSleep, nextWaitMs, runOnSchedule } from '../../src/run/watch-schedule.js';

describe('nextWaitMs', () => {
  it('waits the rest of the interval plus up to jitter × interval', () => {
    expect(nextWaitMs(300_000, 0.1, 20_000, 0)).toBe(280_000);
    expect(nextWaitMs(300_000, 0.1, 20_000, 0.5)).toBe(295_000);
    expect(nextWaitMs(300_000, 0.1, 20_000, 0.999)).toBe(309_970);
  });

  it('a run longer than the interval is followed at once (plus jitter), never overlapped', () => {
    expect(nextWaitMs(10_000, 0.1, 25_000, 0)).toBe(0);
    expect(nextWaitMs(10_000, 0.1, 25_000, 0.5)).toBe(500);
  });
});

describe('runOnSchedule', () => {
  it('never starts a run before the last one returned, waits as nextWaitMs says, and stops on the signal', async () => {
    const controller = new AbortController();
    let clock = 0;
    let running = 0;
    let maxRunning = 0;
    const waits: number[] = [];
    const runs: number[] = [];
    await runOnSchedule({
      everyMs: 1000,
      jitter: 0.1,
      signal: controller.signal,
      now: () => clock,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      run: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs.push(clock);
        // Runs of 300 ms, then one of 2500 ms (longer than the interval).
        await new Promise((resolve) => setImmediate(resolve));
        clock += runs.length === 2 ? 2500 : 300;
        running -= 1;
        if (runs.length === 4) controller.abort(new Error('SIGTERM'));
      },
    });
    expect(maxRunning).toBe(1);
    expect(runs).toEqual([0, 1050, 3600, 4650]);
    expect(waits).toEqual([750, 50, 750]);
  });

  it('a stop during the wait ends it at once, and the run in progress gets the same signal', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const started = Date.now();
    await runOnSchedule({
      everyMs: 3_600_000,
      signal: controller.signal,
      run: async (signal) => {
        seen.push(signal);
        setImmediate(() => controller.abort(new Error('SIGINT')));
      },
    });
    expect(seen).toEqual([controller.signal]);
    // Not the hour's wait: the schedule returned because of the stop.
    expect(Date.now() - started).toBeLessThan(3_600_000);
  });

  it('abortableSleep resolves (never rejects) when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(abortableSleep(3_600_000, controller.signal)).resolves.toBeUndefined();
  });
});
