/**
 * `netcheck watch SCENARIO --every 5m [--listen :9464]`: `run` on a schedule (src/run/watch-schedule.ts), each run
 * exactly `run`'s (runScenario: the same pods, budget, cleanup and verdicts), the last one's metrics and report
 * served over HTTP (src/cli/watch-server.ts). SIGTERM/SIGINT stop the schedule, delete the running probe pods and
 * exit 0: a watch stopped by its Deployment is not a failure.
 */
import type { Argv } from 'yargs';
import { ExitCode, NetcheckError, UsageError } from '../../model/errors.js';
import { newRunId } from '../../probe/pod-spec.js';
import { runErrorReason, runMetrics, type FailureStreaks } from '../../report/watch-metrics.js';
import { runOnSchedule } from '../../run/watch-schedule.js';
import { selectScenario } from '../../scenario/select.js';
import { defineCommand, formatError } from '../command.js';
import { listenForStop } from '../stop-signals.js';
import { COMMANDS, SCENARIO_POSITIONAL } from './catalog.js';
import { buildFocusOptions, buildProbeOptions, cleanupCommandFor, duration, probeSettings, type RunArgs } from './run.js';

export interface WatchArgs extends Omit<RunArgs, 'output' | 'append' | 'failuresOnly' | 'showKnown'> {
  every: string;
  listen: string;
}

export async function executeWatch(argv: WatchArgs): Promise<ExitCode> {
  const everyMs = duration('every', argv.every);
  const [{ parseListen, startWatchServer, WatchMetrics }, { loadScenario }] = await Promise.all([import('../watch-server.js'), import('../../scenario/load.js')]);
  const listen = parseListen(argv.listen);
  if (argv.inPod === true || argv.node !== undefined) {
    // An ephemeral container cannot be removed from a pod: one per run would pile up in production pods for good.
    throw new UsageError(`${argv.inPod === true ? '--in-pod' : '--node'}: not with watch (every run would add an ephemeral container to the workload's pod, and the API cannot remove one)`, {
      hint: 'watch probes from pods carrying the workloads\' labels; use `netcheck probe --in-pod` for one look from the real pod',
    });
  }
  const probing = probeSettings(argv);
  const scenario = selectScenario(await loadScenario(argv.scenario), { ...(argv.from ? { from: argv.from } : {}), ...(argv.to ? { to: argv.to } : {}) });

  const [{ connectCluster }, { runScenario }] = await Promise.all([import('../../cluster/client.js'), import('../../run/run-scenario.js')]);
  const client = await connectCluster({
    ...(argv.kubeconfig !== undefined ? { kubeconfig: argv.kubeconfig } : {}),
    ...(argv.context !== undefined ? { context: argv.context } : {}),
  });
  const log = (line: string): void => void process.stderr.write(`netcheck watch: ${line}\n`);
  // As in `run`: every signal after the first is absorbed, the running pods must be deleted whatever arrives.
  const stop = listenForStop({
    onStop: (why) => log(`${why}: stopping the schedule and deleting the running probe pods…`),
    onRepeat: (signal) => log(`${signal} again: still deleting the running probe pods`),
  });
  const metrics = new WatchMetrics();
  let server: Awaited<ReturnType<typeof startWatchServer>>;
  try {
    server = await startWatchServer(listen, metrics);
  } catch (error) {
    stop.dispose();
    throw error;
  }
  const { address, port } = server.address;
  log(`${scenario.name} every ${argv.every}; serving http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics, /healthz, /report, /report.md`);

  let streaks: FailureStreaks = new Map();
  /** A run's pods could not all be deleted: the last line must not say none is left. */
  let cleanupFailed = false;
  const runOnce = async (signal: AbortSignal): Promise<void> => {
    const runId = newRunId();
    // Printed before any pod exists, as `run` does: a watch killed with -9 leaves the way to delete its pods.
    log(`run ${runId} (if it is killed, delete its pods with: ${cleanupCommandFor(runId, argv)})`);
    const started = performance.now();
    const createdAt = new Map<string, number>();
    const podStarts: Array<{ role: 'probe' | 'listener'; seconds: number }> = [];
    try {
      const run = await runScenario(scenario, {
        client,
        runId,
        signal,
        ...probing.options,
        onProgress: (event) => {
          if (event.role === 'runner') return;
          if (event.state === 'created') createdAt.set(event.id, performance.now());
          const created = createdAt.get(event.id);
          if (event.state === 'running' && created !== undefined) {
            podStarts.push({ role: event.role, seconds: (performance.now() - created) / 1000 });
            createdAt.delete(event.id);
          }
        },
        onCleanupFailed: (message) => {
          cleanupFailed = true;
          log(`warning: ${message}`);
        },
      });
      // A run cut short by the stop judged nothing: it is neither a result nor an error.
      if (signal.aborted) return;
      const measured = runMetrics(run.result, run.failures, streaks);
      streaks = measured.streaks;
      metrics.record({ result: run.result, metrics: measured, durationSeconds: (performance.now() - started) / 1000, finishedAt: Date.now(), podStarts });
      server.setLastRun(run.result);
      const { total, passed, byClassification } = run.result.summary;
      const failing = Object.entries(byClassification).filter(([c, n]) => c !== 'pass' && n > 0).map(([c, n]) => `${c} ${n}`);
      log(`run ${runId}: ${passed}/${total} cells hold${failing.length > 0 ? ` (${failing.join(', ')})` : ''} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const f of run.failures) process.stderr.write(formatError(f));
    } catch (error) {
      if (signal.aborted) return;
      // A bug in one run must not end the watch: it is counted and shown, and the schedule goes on.
      metrics.recordError(error instanceof NetcheckError ? (runErrorReason(error) ?? 'internal') : 'internal');
      log(`run ${runId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };

  try {
    await runOnSchedule({ everyMs, signal: stop.signal, run: runOnce });
  } finally {
    await server.close();
    stop.dispose();
  }
  log(`stopped by ${stop.stoppedBy ?? 'request'}; ${cleanupFailed ? 'some probe pods could not be deleted (see the warnings above; `netcheck cleanup` removes them)' : 'no probe pod of this watch is left'}`);
  return ExitCode.Pass;
}

export const watchCommand = defineCommand<WatchArgs>({
  command: COMMANDS.watch.command,
  describe: COMMANDS.watch.describe,
  builder: (yargs: Argv) =>
    buildProbeOptions(buildFocusOptions(yargs.positional('scenario', SCENARIO_POSITIONAL)))
      // A watch logs one line per run; a redrawn task list has no place in a pod's log.
      .hide('progress')
      .option('every', { type: 'string', nargs: 1, default: '5m', describe: 'time between the starts of two runs (up to 10% jitter is added); runs never overlap' })
      .option('listen', { type: 'string', nargs: 1, default: ':9464', describe: 'HOST:PORT serving /metrics, /healthz, /report (JSON) and /report.md (:9464 = every address)' })
      .example('$0 watch financial-ml --every 5m', 'in a Deployment (deploy/helm/netcheck): Prometheus scrapes :9464/metrics; alert rules in deploy/watch/')
      .epilogue('Runs until SIGTERM or SIGINT, which stop the schedule, delete the running probe pods and exit 0. Each run is `netcheck run`\'s.'),
  run: executeWatch,
});
