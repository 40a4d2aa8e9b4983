/**
 * Group signals while a command cleans up, on a busy machine, on the REAL cluster: what a cancelled CI job,
 * `timeout` or `kill -TERM -- -PGID` does. `npm run cluster -- up` runs in its own process group; first the built
 * `netcheck run` (its own group, in the outside host) is signalled while its probe pods exist — its pods must be
 * gone, checked with kubectl against the cluster that stays up; then the cluster's group is signalled — nothing
 * may be left: no network namespace with its prefix, no mount under its directory, no process in its cgroup, no
 * directory. Each group gets SIGTERM twice 20 ms apart and once more when the command says it is stopping, with
 * a busy loop on every core meanwhile (test/cli/group-signal.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupGone, processesInGroup, signalGroupTwice, startCpuHogs } from '../cli/group-signal.js';
import { clusterSkipReason, CLUSTER_START_TIMEOUT_MS } from '../cluster-kit/cluster-fixture.js';
import { processesInCgroup } from '../cluster-kit/processes.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MAIN, MANIFESTS, waitFor } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e cluster signals: skipped — ${skip}`);

interface Group {
  child: ChildProcess;
  pgid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stderr holds `text`; rejects if the group leader exits first. */
  said(text: string | RegExp): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `argv` as the leader of a new process group, its output collected. */
function startGroup(argv: string[]): Group {
  const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const said = (text: string | RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => void ((typeof text === 'string' ? stderr.includes(text) : text.test(stderr)) && resolve());
      child.stderr!.on('data', check);
      void exited.then(() => reject(new Error(`exited before saying ${String(text)}:\n${stderr.slice(-3000)}`)));
      check();
    });
  return { child, pgid: child.pid as number, stdout: () => stdout, stderr: () => stderr, said, exited };
}

describe.skipIf(skip !== undefined)('group signals during teardown on the real cluster, every core busy', () => {
  let cluster: Group;
  let lines: Record<string, string> = {};
  let dir = '';

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', lines['kubeconfig']!, ...args])).stdout;

  beforeAll(async () => {
    cluster = startGroup(['npm', 'run', 'cluster', '--', 'up', '--manifests', MANIFESTS]);
    await new Promise<void>((resolve, reject) => {
      cluster.child.stdout!.on('data', () => /^ready$/m.test(cluster.stdout()) && resolve());
      void cluster.exited.then(() => reject(new Error(`cluster up exited before ready:\n${cluster.stderr().slice(-3000)}`)));
    });
    lines = Object.fromEntries(cluster.stdout().split('\n').filter((l) => /^[a-z-]+: /.test(l)).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
    dir = join(tmpdir(), lines['kubeconfig']!.slice(tmpdir().length + 1).split('/')[0]!);
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    // A failed test must not leave the cluster up: its owner tears down on SIGTERM.
    if (cluster !== undefined && processesInGroup(cluster.pgid).length > 0) {
      process.kill(-cluster.pgid, 'SIGTERM');
      await groupGone(cluster.pgid);
    }
  }, 120_000);

  it('netcheck run: two group SIGTERMs and one more while it deletes its pods — exit 143 after the cleanup, no probe pod left', async () => {
    const selector = 'app.kubernetes.io/managed-by=netcheck';
    const argv = ['nsenter', `--net=/run/netns/${lines['outside-host']}`, process.execPath, MAIN, 'run', 'financial-ml', '--kubeconfig', lines['kubeconfig']!, '--image', lines['probe-image']!, '--budget', '120s', '--no-progress'];
    const run = startGroup(argv);
    await waitFor('probe pods exist', async () => ((await kubectl('get', 'pods', '-A', '-l', `${selector},netcheck.io/role=probe`, '-o', 'name')).trim() !== '' ? true : undefined), 600, 100);
    const hogs = startCpuHogs();
    let result: Awaited<Group['exited']>;
    try {
      await signalGroupTwice(run.pgid, run.said("deleting this run's pods"));
      result = await run.exited;
    } finally {
      hogs.stop();
    }
    // Exited by itself with the first signal's code: a signal that had killed it would show here instead.
    expect(result, run.stderr()).toEqual({ code: 143, signal: null });
    await groupGone(run.pgid);
    const left = JSON.parse(await kubectl('get', 'pods', '-A', '-l', selector, '-o', 'json')) as { items: Array<{ metadata: { namespace: string; name: string; deletionTimestamp?: string } }> };
    expect(left.items.filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([]);
  });

  it('npm run cluster -- up: two group SIGTERMs and one more while it tears down — it finishes, and nothing is left', async () => {
    const id = dir.split('netcheck-cluster-')[1]!;
    expect(processesInCgroup(`netcheck-cluster-${id}`).length).toBeGreaterThan(10);
    const hogs = startCpuHogs();
    try {
      await signalGroupTwice(cluster.pgid, cluster.said('cluster: stopping (SIGTERM)'));
      await groupGone(cluster.pgid);
    } finally {
      hogs.stop();
    }
    // The owner absorbed the signal that came during its teardown and finished it (not left it to a later sweep).
    expect(cluster.stderr()).toMatch(/cluster: SIGTERM again: still tearing down/);
    expect(cluster.stderr()).toMatch(/cluster: removed\n/);
    expect((await runCommand(['ip', 'netns', 'list'])).stdout).not.toContain(`nkc-${id}-`);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => (l.split(' ')[4] ?? '').startsWith(dir))).toEqual([]);
    expect(processesInCgroup(`netcheck-cluster-${id}`)).toEqual([]);
    expect(existsSync(`/sys/fs/cgroup/pids/netcheck-cluster-${id}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);
});
