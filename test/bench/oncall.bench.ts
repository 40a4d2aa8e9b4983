/**
 * The on-call figure (issue 9): how long `netcheck financial-ml` takes on a healthy real cluster, and how much of
 * it comes after the probe pods run — the goal is one probe timeout (the scenario's 2 s). The BUILT CLI runs in
 * the cluster's outside host (as an on-call engineer's machine would), with progress on stderr (no TTY: plain
 * lines), each line stamped as it arrives; meanwhile this process polls the API every 100 ms for the run's pods
 * and stamps when each was first seen Running (what netcheck's own watch sees). Runs it RUNS times per setting,
 * and prints one JSON line per setting:
 *
 *   wallSeconds            spawn → exit
 *   toFirstRunningSeconds  spawn → the first probe pod Running (inventory, listener, pod start)
 *   lastRunningToExit      the last probe pod Running → exit (settle, checks, reading results, deleting the pods)
 *   lastProbeDoneToExit    the last probe pod's results read → exit (judging, diagnosis, deleting pods, reports)
 *   runIdToListenerReady   the run id printed → the listener pod Ready (probe pods wait for its IP)
 *   slowestCheckSeconds    the slowest in-pod check, all its attempts (a timeout costs the whole timeout)
 *   retriedCells           cells with more than one attempt (a retry costs ≥ 1 s; one on a cell that agrees with
 *                          the policies is waste)
 *
 * Settings: the defaults, and `--settle 0` (what the settle delay costs). stderr gets every run's stamped lines.
 * `npm run bench -- oncall`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { anyRunSelector, LABEL_ROLE } from '../../src/probe/pod-spec.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { MAIN, MANIFESTS } from '../e2e/built-cli.js';
import { median, round, skippedWithoutCluster, startTimedCluster, warmComponentCache } from './real-cluster.js';

const BENCH = 'oncall';
const RUNS = Number(process.env['ONCALL_RUNS'] ?? 3);
const TIMEOUT_SECONDS = 2;
/** Each setting's extra flags; ONCALL_SETTINGS=default,settle-0 picks some. */
const ALL_SETTINGS: Array<[string, string[]]> = [
  ['default', []],
  ['settle-0', ['--settle', '0']],
];
const SETTINGS = ALL_SETTINGS.filter(([label]) => (process.env['ONCALL_SETTINGS']?.split(',') ?? ALL_SETTINGS.map(([l]) => l)).includes(label));

interface Stamped {
  at: number;
  line: string;
}

async function timedRun(
  cluster: RunningCluster,
  extra: string[],
  json: string,
  client?: ClusterClient,
): Promise<{ code: number | null; lines: Stamped[]; wall: number; running: number[] }> {
  const argv = cluster.outsideHostArgv(['node', MAIN, 'financial-ml', '--kubeconfig', cluster.kubeconfigPath, '--image', cluster.probeImage, '-o', `json=${json}`, ...extra]);
  const started = performance.now();
  // When each probe pod was first seen Running (or already finished), in seconds since the spawn.
  const running = new Map<string, number>();
  let polling = client !== undefined;
  const poll = (async () => {
    while (polling && client) {
      const pods = await client.listPods(undefined, anyRunSelector).catch(() => []);
      const at = (performance.now() - started) / 1000;
      for (const p of pods) {
        if (p.labels[LABEL_ROLE] !== 'probe' || running.has(p.name)) continue;
        if (p.phase === 'Running' || p.phase === 'Succeeded' || p.phase === 'Failed') running.set(p.name, at);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await new Promise<{ code: number | null; lines: Stamped[]; wall: number }>((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: Stamped[] = [];
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const at = (performance.now() - started) / 1000;
      const text = partial + d.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ at, line });
    });
    child.on('close', (code) => resolve({ code, lines, wall: (performance.now() - started) / 1000 }));
  });
  polling = false;
  await poll;
  return { ...result, running: [...running.values()] };
}


async function measure(cluster: RunningCluster, client: ClusterClient, label: string, extra: string[], dir: string): Promise<void> {
  const walls: number[] = [];
  const toRunning: number[] = [];
  const tails: number[] = [];
  const retried: number[] = [];
  const doneToExit: number[] = [];
  const listenerDone: number[] = [];
  const slowestCheck: number[] = [];
  const codes: Array<number | null> = [];
  for (let i = 0; i < RUNS; i++) {
    const json = join(dir, `${label}-${i}.json`);
    const { code, lines, wall, running } = await timedRun(cluster, extra, json, client);
    for (const l of lines) process.stderr.write(`${BENCH} ${label}#${i}: ${l.at.toFixed(2).padStart(6)} s ${l.line}\n`);
    process.stderr.write(`${BENCH} ${label}#${i}: probe pods first seen Running at ${running.map((t) => t.toFixed(2)).join(', ')} s; exit at ${wall.toFixed(2)} s\n`);
    codes.push(code);
    walls.push(wall);
    if (running.length > 0) {
      toRunning.push(Math.min(...running));
      tails.push(wall - Math.max(...running));
    }
    const cells = (JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] }).cells;
    retried.push(cells.filter((c) => c.attempts.length > 1).length);
    // In-pod time of the slowest check (its attempts; a timeout costs the whole timeout).
    slowestCheck.push(Math.max(0, ...cells.filter((c) => c.probe !== 'runner').map((c) => c.attempts.reduce((sum, a) => sum + a.ms, 0) / 1000)));
    const probeDone = lines.filter((l) => /^✔ /.test(l.line) && !/listener|runner/.test(l.line)).map((l) => l.at);
    if (probeDone.length > 0) doneToExit.push(wall - Math.max(...probeDone));
    const listener = lines.find((l) => /^✔ listener/.test(l.line));
    const runStart = lines.find((l) => /^netcheck run id /.test(l.line));
    if (listener && runStart) listenerDone.push(listener.at - runStart.at);
  }
  console.log(
    JSON.stringify({
      bench: BENCH,
      cluster: 'real',
      setting: label,
      runs: RUNS,
      exitCodes: codes,
      timeoutSeconds: TIMEOUT_SECONDS,
      wallSeconds: round(median(walls)),
      toFirstRunningSeconds: round(median(toRunning)),
      lastRunningToExitSeconds: round(median(tails)),
      lastRunningToExitMax: round(Math.max(...tails)),
      lastProbeDoneToExitSeconds: round(median(doneToExit)),
      runIdToListenerReadySeconds: round(median(listenerDone)),
      slowestCheckSeconds: round(median(slowestCheck)),
      retriedCells: retried,
    }),
  );
}

if (!skippedWithoutCluster(BENCH)) {
  await warmComponentCache(BENCH);
  const { cluster, seconds } = await startTimedCluster(BENCH, { manifests: [MANIFESTS] });
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-bench-oncall-'));
  try {
    process.stderr.write(`${BENCH}: cluster ready in ${seconds.toFixed(1)} s\n`);
    // One run first, untimed: the first probe pods on a fresh node pull nothing but do warm the kubelet and kube-router.
    await timedRun(cluster, ['--no-progress'], join(dir, 'warm.json'));
    const client = await connectCluster({ kubeconfig: cluster.kubeconfigPath });
    for (const [label, extra] of SETTINGS) await measure(cluster, client, label, extra, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}
