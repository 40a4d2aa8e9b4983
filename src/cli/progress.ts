/**
 * listr2 progress for `netcheck run` on stderr: one task per probe pod / listener / the runner
 * (created → running → done). Live on a TTY; plain lines (the `simple` renderer) otherwise.
 */
import { Listr, ListrLogger, ProcessOutput, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { RunProgress } from '../run/run-scenario.js';

type TaskWrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface Waiter {
  task?: TaskWrapper;
  settle?: (error?: Error) => void;
  /** Events that arrived before listr started the task. */
  early: RunProgress[];
  /** stop() came before listr started the task (with its reason, if any). */
  stopped?: { why?: string };
  finished?: boolean;
}

export interface ProgressReporter {
  onPlan: (items: Array<Omit<RunProgress, 'state' | 'detail'>>) => void;
  onProgress: (event: RunProgress) => void;
  /** Settle every task (also those that never reported) and wait for the renderer; `why` marks unfinished ones failed. */
  stop: (why?: string) => Promise<void>;
}

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const waiters = new Map<string, Waiter>();
  let running: Promise<unknown> = Promise.resolve();

  const apply = (w: Waiter, e: RunProgress): void => {
    const task = w.task;
    if (!task) {
      w.early.push(e);
      return;
    }
    const suffix = e.detail ? `: ${e.detail}` : '';
    switch (e.state) {
      case 'created':
      case 'running':
        task.title = `${e.title} — ${e.state}${suffix}`;
        return;
      case 'done':
        task.title = `${e.title} — done`;
        w.settle?.();
        return;
      case 'failed':
        task.title = e.title;
        w.settle?.(new Error(e.detail ?? 'failed'));
        return;
    }
  };

  return {
    onPlan(items) {
      const list = new Listr(
        items.map((item) => {
          const waiter: Waiter = { early: [] };
          waiters.set(item.id, waiter);
          return {
            title: `${item.title} — pending`,
            task: (_ctx: unknown, task: TaskWrapper) =>
              new Promise<void>((resolve, reject) => {
                waiter.task = task;
                waiter.settle = (error) => {
                  waiter.finished = true;
                  if (error) reject(error);
                  else resolve();
                };
                for (const e of waiter.early.splice(0)) apply(waiter, e);
                if (waiter.stopped && !waiter.finished) waiter.settle(waiter.stopped.why ? new Error(waiter.stopped.why) : undefined);
              }),
          };
        }),
        {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          renderer: 'default',
          fallbackRenderer: 'simple',
          fallbackRendererCondition: !stream.isTTY,
          rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) },
          fallbackRendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) },
        },
      );
      running = list.run().catch(() => undefined);
    },
    onProgress(event) {
      const w = waiters.get(event.id);
      if (w) apply(w, event);
    },
    async stop(why) {
      for (const w of waiters.values()) {
        if (w.finished) continue;
        if (w.settle) w.settle(why ? new Error(why) : undefined);
        else w.stopped = why ? { why } : {};
      }
      await running;
    },
  };
}
