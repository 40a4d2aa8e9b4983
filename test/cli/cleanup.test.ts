/**
 * `netcheck cleanup` as a user runs it: the CLI in a subprocess against the lab.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { buildProbePod, runSelector } from '../../src/probe/pod-spec.js';
import { startLab } from '../lab/lab.js';
import type { Lab } from '../lab/types.js';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

let lab: Lab;
let client: ClusterClient;

beforeAll(async () => {
  lab = await startLab({ manifests: [join(root, 'test', 'cluster', 'fixtures', 'two-teams.yaml')] });
  client = await connectCluster({ kubeconfig: lab.kubeconfigPath });
});

afterAll(async () => {
  await lab?.stop();
});

async function netcheck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Asynchronous on purpose: the lab's API server lives in this process and must keep answering.
  return run(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** An expired probe is one whose deadline really passed: the kubelet (here the lab) stopped it with DeadlineExceeded. */
async function createProbe(namespace: string, name: string, expired: boolean): Promise<void> {
  await client.createPod(
    buildProbePod({
      runId: 'clirun', namespace, name, labels: {}, deadlineSeconds: expired ? 1 : 60, args: ['-e', 'setTimeout(() => {}, 60000)'], role: 'probe',
    }),
  );
  if (!expired) return;
  for (const stopAt = Date.now() + 20_000; Date.now() < stopAt; await new Promise((r) => setTimeout(r, 100))) {
    const pod = await client.getPod(namespace, name);
    if (pod?.phase === 'Failed') {
      expect(pod.reason).toBe('DeadlineExceeded');
      return;
    }
  }
  throw new Error(`${namespace}/${name} was not stopped at its deadline`);
}

describe('netcheck cleanup', () => {
  it('deletes expired netcheck pods in one namespace, then everywhere, and says which', async () => {
    await createProbe('team-a', 'netcheck-clirun-p0', true);
    await createProbe('team-b', 'netcheck-clirun-p1', true);
    await createProbe('team-b', 'netcheck-clirun-p2', false);
    try {
      const one = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, '-n', 'team-b');
      expect(one).toMatchObject({ code: 0, stderr: '' });
      expect(one.stdout).toBe('deleted pod team-b/netcheck-clirun-p1 (run clirun, expired)\n1 pod deleted in namespace team-b\n');

      const all = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, '--all-namespaces');
      expect(all.stdout).toBe('deleted pod team-a/netcheck-clirun-p0 (run clirun, expired)\n1 pod deleted across all namespaces\n');

      const again = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, '-A');
      expect(again.stdout).toBe('no expired netcheck pods across all namespaces\n');

      expect((await client.listPods(undefined, runSelector('clirun'))).map((p) => p.name)).toEqual(['netcheck-clirun-p2']);
    } finally {
      await client.deletePods('team-b', runSelector('clirun'));
    }
  });

  // Three CLI runs through tsx: a loaded machine takes most of a minute.
  it('--run ID deletes that run\'s pods now, live or not, in every namespace, and leaves other runs alone', { timeout: 150_000 }, async () => {
    const create = (runId: string, namespace: string, name: string) =>
      client.createPod(buildProbePod({ runId, namespace, name, labels: {}, deadlineSeconds: 600, args: ['-e', 'setTimeout(() => {}, 600000)'], role: 'probe' }));
    await create('killedrun1', 'team-a', 'netcheck-killedrun1-p0');
    await create('killedrun1', 'team-b', 'netcheck-killedrun1-p1');
    await create('otherrun2', 'team-b', 'netcheck-otherrun2-p0');
    try {
      const one = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, '--run', 'killedrun1');
      expect(one).toMatchObject({ code: 0, stderr: '' });
      expect(one.stdout).toBe(
        'deleted pod team-a/netcheck-killedrun1-p0\ndeleted pod team-b/netcheck-killedrun1-p1\n2 pods of run killedrun1 deleted across all namespaces\n',
      );
      expect((await client.listPods(undefined, runSelector('killedrun1'))).filter((p) => !p.deleting)).toEqual([]);
      expect((await client.listPods(undefined, runSelector('otherrun2'))).map((p) => p.name)).toEqual(['netcheck-otherrun2-p0']);

      // The pod name works as well as the id; -n limits it; a run with no pod left says so and exits 0.
      const scoped = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, '--run', 'netcheck-otherrun2-p0', '-n', 'team-a');
      expect(scoped).toMatchObject({ code: 0, stdout: 'no pods of run otherrun2 in namespace team-a (already deleted, or another cluster or context?)\n' });
      expect((await client.listPods(undefined, runSelector('otherrun2'))).map((p) => p.name)).toEqual(['netcheck-otherrun2-p0']);
    } finally {
      await client.deletePods('team-b', runSelector('otherrun2'));
      await client.deletePods('team-a', runSelector('killedrun1'));
      await client.deletePods('team-b', runSelector('killedrun1'));
    }
  });

  it('--run with a malformed id is bad input (exit 2), before any cluster call', async () => {
    const result = await netcheck('cleanup', '--kubeconfig', '/nonexistent/kubeconfig', '--run', 'Not_A/Run');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^netcheck: --run Not_A\/Run: not a netcheck run id .*\n  hint: the id is on the "netcheck run id ID" line/);
  });

  const failures: Array<{ flags: string[]; forbidListPods: boolean; code: number; stderr: RegExp }> = [
    { flags: ['--context', 'nope'], forbidListPods: false, code: 2, stderr: /^netcheck: --context nope: kubeconfig .* defines no context of that name\n  hint: available contexts: / },
    { flags: ['-A'], forbidListPods: true, code: 3, stderr: /^netcheck: forbidden: netcheck needs `list pods` cluster-wide\n  hint: apply deploy\/rbac\// },
  ];
  it.each(failures)('$flags (forbid list pods: $forbidListPods) exits $code with one line and a hint', async ({ flags, forbidListPods, code, stderr }) => {
    if (forbidListPods) await lab.setFaults({ forbid: [{ verb: 'list', resource: 'pods' }] });
    try {
      const result = await netcheck('cleanup', '--kubeconfig', lab.kubeconfigPath, ...flags);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(stderr);
    } finally {
      if (forbidListPods) await lab.setFaults({ forbid: [] });
    }
  });
});
