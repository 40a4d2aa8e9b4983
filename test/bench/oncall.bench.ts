/**
 * The on-call figure (issue 9): how long `netcheck financial-ml` takes on a healthy real cluster, and how much of
 * it comes after the probe pods run — the goal is one probe timeout (the scenario's 2 s). The BUILT CLI runs in
 * the cluster's outside host (as an on-call engineer's machine would), with progress on stderr (no TTY: plain
 * lines), each line stamped as it arrives. Runs it RUNS times per setting, and prints one JSON line per setting:
 *
 *   wallSeconds            spawn → exit
 *   toFirstRunningSeconds  spawn → the first probe pod Running (inventory, listener, pod start)
 *   lastRunningToExit      the last probe pod Running → exit (settle, checks, reading results, deleting the pods)
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
import type { CellVerdict } from '../../src/model/verdict.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { MAIN, MANIFESTS } from '../e2e/built-cli.js';
import { skippedWithoutCluster, startTimedCluster, warmComponentCache } from './real-cluster.js';

const BENCH = 'oncall';
const RUNS = Number(process.env['ONCALL_RUNS'] ?? 3);
const TIMEOUT_SECONDS = 2;

interface Stamped {
  at: number;
  line: string;
}

async function timedRun(cluster: RunningCluster, extra: string[], json: string): Promise<{ code: number | null; lines: Stamped[]; wall: number }> {
  const argv = cluster.outsideHostArgv(['node', MAIN, 'financial-ml', '--kubeconfig', cluster.kubeconfigPath, '--image', cluster.probeImage, '-o', `json=${json}`, ...extra]);
  const started = performance.now();
  return new Promise((resolve) => {
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
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const round = (x: number) => Math.round(x * 100) / 100;

async function measure(cluster: RunningCluster, label: string, extra: string[], dir: string): Promise<void> {
  const walls: number[] = [];
  const toRunning: number[] = [];
  const tails: number[] = [];
  const retried: number[] = [];
  const codes: Array<number | null> = [];
  for (let i = 0; i < RUNS; i++) {
    const json = join(dir, `${label}-${i}.json`);
    const { code, lines, wall } = await timedRun(cluster, extra, json);
    for (const l of lines) process.stderr.write(`${BENCH} ${label}#${i}: ${l.at.toFixed(2).padStart(6)} s ${l.line}\n`);
    // Probe pods' lines (listr titles end in "— running"; listeners are titled "listener …", the runner "runner …").
    const running = lines.filter((l) => /— running/.test(l.line) && !/listener|runner/.test(l.line)).map((l) => l.at);
    codes.push(code);
    walls.push(wall);
    if (running.length > 0) {
      toRunning.push(Math.min(...running));
      tails.push(wall - Math.max(...running));
    }
    const cells = (JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] }).cells;
    retried.push(cells.filter((c) => c.attempts.length > 1).length);
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
    await measure(cluster, 'default', [], dir);
    await measure(cluster, 'settle-0', ['--settle', '0'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}
