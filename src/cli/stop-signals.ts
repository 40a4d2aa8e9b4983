/**
 * SIGINT/SIGTERM for a process that must finish its cleanup before it exits (a run's probe pods; the test
 * cluster kit's namespaces, mounts and processes use it too). The first signal asks for the stop; every later
 * one is absorbed and reported, never fatal: a second signal may only make the cleanup shorter, not abort it.
 *
 * Why one stop arrives as several signals, and what ends a process that does not expect it:
 * - a group signal (`kill -- -PGID`, a cancelled CI job, `timeout`, systemd stopping a unit) reaches the process
 *   directly and once more through every wrapper that relays it (npm, tsx), and it is often sent twice;
 * - `process.once` is not enough: once its listener has run, the next signal finds none and Node's default
 *   action ends the process (under tsx's CLI, its preflight calls process.exit when no listener is left);
 * - tsx's CLI relays every signal it receives to its child and SIGKILLs the child when the child has not
 *   confirmed it within 30 ms, twice (node_modules/tsx/dist/cli.mjs, relaySignals). The confirmation is sent
 *   from the child's event loop, so a cleanup must never block the loop for long (no big synchronous fs work),
 *   and the long-lived scripts run as `node --import tsx` (package.json), which has no relay process at all.
 * A reader that went away (a piped `tee` ended by the same Ctrl-C) must not end the cleanup either: once a stop
 * is requested, EPIPE on stdout/stderr is ignored.
 */

export type StopSignalName = 'SIGINT' | 'SIGTERM';

const STOP_SIGNALS: readonly StopSignalName[] = ['SIGINT', 'SIGTERM'];

export interface StopRequest {
  /** Aborted at the first stop; its reason is an Error whose message is the signal's name or request()'s reason. */
  readonly signal: AbortSignal;
  /** Resolves with that reason at the first stop. */
  readonly requested: Promise<string>;
  /** The signal that asked first; undefined before, or when request() asked. */
  readonly stoppedBy: StopSignalName | undefined;
  /** Asks for the stop without a signal (e.g. the parent process is gone); later calls do nothing. */
  request(reason: string): void;
  /**
   * Removes the listeners when no stop was asked for. After a stop they stay until the process exits (signal
   * listeners keep no process alive): a signal arriving between the end of the cleanup and the exit is absorbed too.
   */
  dispose(): void;
}

export interface StopOptions {
  /** The first stop (a signal's name, or request()'s reason). */
  onStop?: (reason: string) => void;
  /** A signal that came after the stop was asked for. */
  onRepeat?: (signal: StopSignalName) => void;
}

function ignoreBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

/** Listens for SIGINT/SIGTERM from now on; see the header for why every signal after the first is absorbed. */
export function listenForStop(options: StopOptions = {}): StopRequest {
  const controller = new AbortController();
  let stoppedBy: StopSignalName | undefined;
  let resolveRequested!: (reason: string) => void;
  const requested = new Promise<string>((resolve) => (resolveRequested = resolve));
  const request = (reason: string): void => {
    if (controller.signal.aborted) return;
    ignoreBrokenPipes();
    options.onStop?.(reason);
    controller.abort(new Error(reason));
    resolveRequested(reason);
  };
  const listeners = STOP_SIGNALS.map((name) => {
    const listener = (): void => {
      if (controller.signal.aborted) {
        options.onRepeat?.(name);
        return;
      }
      stoppedBy = name;
      request(name);
    };
    process.on(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: controller.signal,
    requested,
    get stoppedBy() {
      return stoppedBy;
    },
    request,
    dispose() {
      if (controller.signal.aborted) return;
      for (const [name, listener] of listeners) process.off(name, listener);
    },
  };
}
