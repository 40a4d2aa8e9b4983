/**
 * The on-call figure of issue 21: how long ONE flow takes, `netcheck probe --from financial-ml/financial-predictor
 * --to seldon-scheduler.seldon-system:9005`, on the real cluster (financial-ml seeded, kube-router enforcing). The
 * BUILT CLI runs in the cluster's outside host, as on an on-call engineer's machine. Goal: ≤ 2 s wall from an
 * existing pod. Settings:
 *
 *   clone     today's default: a new pod carrying the workload's labels (pod start + the settle delay)
 *   in-pod    --in-pod: an ephemeral container in one of the Deployment's Ready pods
 *   from-pod  --from financial-ml/<that pod's name>: the same, the pod named
 *
 * Each setting runs RUNS times (ONCALL_PROBE_RUNS, default 5) and prints one JSON line: exit codes, median and max
 * wall seconds, where they go (medians, from the CLI's progress lines on stderr, stamped as they arrive: spawn →
 * the run id printed, i.e. node start, kubeconfig and nothing else; → the probe done; done → exit), the machine's
 * load average (this machine is shared), and how many ephemeral containers of the workload's pods the runs added
 * and how many were still running afterwards (must be 0). `npm run bench -- oncall-probe`.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { MAIN, MANIFESTS } from '../e2e/built-cli.js';
import { median, round, skippedWithoutCluster, startTimedCluster, warmComponentCache } from './real-cluster.js';

const BENCH = 'oncall-probe';
const RUNS = Number(process.env['ONCALL_PROBE_RUNS'] ?? 5);
const FLOW = ['--to', 'seldon-scheduler.seldon-system:9005'];

interface Timed {
  code: number | null;
  wall: number;
  stderr: string;
  /** Seconds from spawn to the run id line, and to the probe's ✔ line. */
  runId?: number;
  done?: number;
}

async function timed(cluster: RunningCluster, args: string[]): Promise<Timed> {
  // With progress (stderr is not a TTY: one plain line per step), to stamp the steps.
  const argv = cluster.outsideHostArgv(['node', MAIN, 'probe', ...args, ...FLOW, '--kubeconfig', cluster.kubeconfigPath, '--image', cluster.probeImage]);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let runId: number | undefined;
    let done: number | undefined;
    child.stderr.on('data', (d: Buffer) => {
      const at = (performance.now() - started) / 1000;
      const text = d.toString();
      stderr += text;
      if (runId === undefined && /netcheck run id /.test(text)) runId = at;
      if (done === undefined && /^✔ /m.test(text)) done = at;
    });
    child.on('close', (code) =>
      resolve({ code, wall: (performance.now() - started) / 1000, stderr, ...(runId !== undefined ? { runId } : {}), ...(done !== undefined ? { done } : {}) }),
    );
  });
}

/** Ephemeral containers of the predictor's pods: all of them, and those not terminated. */
async function ephemeral(client: ClusterClient): Promise<{ total: number; running: number }> {
  const pods = await client.listWorkloadPods('financial-ml', 'deployment', 'financial-predictor');
  const all = pods.flatMap((p) => p.ephemeralContainers ?? []);
  return { total: all.length, running: all.filter((c) => c.terminated === undefined).length };
}


async function measure(cluster: RunningCluster, client: ClusterClient, setting: string, args: string[]): Promise<void> {
  const before = await ephemeral(client);
  const walls: number[] = [];
  const toRunId: number[] = [];
  const toDone: number[] = [];
  const doneToExit: number[] = [];
  const codes: Array<number | null> = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await timed(cluster, args);
    process.stderr.write(`${BENCH} ${setting}#${i}: exit ${run.code} in ${run.wall.toFixed(2)} s (run id at ${run.runId?.toFixed(2)} s, probe done at ${run.done?.toFixed(2)} s)\n`);
    if (run.code !== 0) process.stderr.write(run.stderr);
    walls.push(run.wall);
    codes.push(run.code);
    if (run.runId !== undefined) toRunId.push(run.runId);
    if (run.done !== undefined) {
      toDone.push(run.done);
      doneToExit.push(run.wall - run.done);
    }
  }
  const after = await ephemeral(client);
  console.log(
    JSON.stringify({
      bench: BENCH,
      cluster: 'real',
      setting,
      runs: RUNS,
      exitCodes: codes,
      wallSeconds: round(median(walls)),
      wallMaxSeconds: round(Math.max(...walls)),
      goalSeconds: 2,
      toRunIdSeconds: round(median(toRunId)),
      toProbeDoneSeconds: round(median(toDone)),
      probeDoneToExitSeconds: round(median(doneToExit)),
      loadAverage1m: round(loadavg()[0] as number),
      ephemeralContainersAdded: after.total - before.total,
      ephemeralContainersStillRunning: after.running,
    }),
  );
}

if (!skippedWithoutCluster(BENCH)) {
  await warmComponentCache(BENCH);
  const { cluster, seconds } = await startTimedCluster(BENCH, { manifests: [MANIFESTS] });
  try {
    process.stderr.write(`${BENCH}: cluster ready in ${seconds.toFixed(1)} s\n`);
    const client = await connectCluster({ kubeconfig: cluster.kubeconfigPath });
    // Untimed: the first probe warms the kubelet, the image and kube-router on the pod's node.
    await timed(cluster, ['--from', 'financial-ml/financial-predictor']);
    await timed(cluster, ['--from', 'financial-ml/financial-predictor', '--in-pod']);
    const [pod] = await client.listWorkloadPods('financial-ml', 'deployment', 'financial-predictor');
    if (pod === undefined) throw new Error(`${BENCH}: financial-ml/financial-predictor has no Ready pod`);
    const settings: Array<[string, string[]]> = [
      ['clone', ['--from', 'financial-ml/financial-predictor']],
      ['in-pod', ['--from', 'financial-ml/financial-predictor', '--in-pod']],
      ['from-pod', ['--from', `financial-ml/${pod.name}`]],
    ];
    const only = process.env['ONCALL_PROBE_SETTINGS']?.split(',');
    for (const [setting, args] of settings) if (only === undefined || only.includes(setting)) await measure(cluster, client, setting, args);
  } finally {
    await cluster.stop();
  }
}
