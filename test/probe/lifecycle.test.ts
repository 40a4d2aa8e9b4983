/**
 * Probe pods for real: the lab runs each pod's `node` + agent args in its own network namespace,
 * enforces the fixture's NetworkPolicy, and reports status through its API server.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { ClusterError, ProbeError } from '../../src/model/errors.js';
import type { AgentPlan } from '../../src/model/outcome.js';
import { agentListenArgs, agentRunArgs } from '../../src/probe/agent.js';
import { deleteRunPods, sweepExpiredPods } from '../../src/probe/cleanup.js';
import {
  BudgetExceededError,
  runProbePods,
  startListeners,
  type ProbePodSpec,
  type ProbePodState,
} from '../../src/probe/lifecycle.js';
import { anyRunSelector, buildProbePod, probePodName, type ProbePodInput } from '../../src/probe/pod-spec.js';
import { startLab } from '../lab/lab.js';
import type { Lab } from '../lab/types.js';

const fixtures = join(import.meta.dirname, '..', 'cluster', 'fixtures', 'two-teams.yaml');

let lab: Lab;
let client: ClusterClient;
let runCounter = 0;

beforeAll(async () => {
  lab = await startLab({ manifests: [fixtures] });
  client = await connectCluster({ kubeconfig: lab.kubeconfigPath, requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await lab?.stop();
});

afterEach(async () => {
  await lab.setFaults({ forbid: [], imagePullFailure: [], podSecurityRestricted: [], slowPodStartMs: undefined });
  // Every test cleans its own run; nothing netcheck created may survive it.
  await sweepExpiredPods(client, { allNamespaces: true, now: new Date(Date.now() + 3_600_000) });
  expect(await client.listPods(undefined, anyRunSelector)).toEqual([]);
});

function newRun(): string {
  return `lt${process.pid.toString(36)}${(runCounter++).toString(36)}`;
}

function spec(runId: string, index: number, overrides: Partial<ProbePodInput> & Pick<ProbePodInput, 'namespace' | 'args'>): ProbePodSpec {
  const input: ProbePodInput = {
    runId,
    name: probePodName(runId, overrides.role ?? 'probe', index),
    labels: {},
    deadlineSeconds: 60,
    role: 'probe',
    ...overrides,
  };
  return { key: `pod-${index}`, manifest: buildProbePod(input) };
}

const within = (seconds: number): { signal: AbortSignal; deadline: number } => ({
  signal: new AbortController().signal,
  deadline: Date.now() + seconds * 1000,
});

describe('runProbePods', () => {
  it('runs agent plans in parallel and returns their results; policy decides what connects', async () => {
    const runId = newRun();
    // By ClusterIP, through the lab's kube-proxy DNAT: this test is about pods, not about cluster DNS.
    const web = (await client.inventory({ namespaces: ['team-a'] })).services.find((s) => s.name === 'web');
    const plan = (expect: 'allow' | 'deny'): AgentPlan => ({
      retries: 0,
      checks: [{ id: 'web', kind: 'tcp', target: web!.clusterIP!, port: 80, timeoutMs: 1_500, expect }],
    });
    const pods = [
      // team-b is admitted to web by web-from-team-b; a pod in team-a is not.
      spec(runId, 0, { namespace: 'team-b', labels: { app: 'client' }, args: agentRunArgs(plan('allow')) }),
      spec(runId, 1, { namespace: 'team-a', labels: { app: 'other' }, args: agentRunArgs(plan('deny')) }),
    ];
    const progress: Array<[string, ProbePodState]> = [];
    try {
      const results = await runProbePods(client, pods, { ...within(90), onProgress: (p, s) => progress.push([p.key, s]) });
      expect(results.map((r) => r.key)).toEqual(['pod-0', 'pod-1']);
      const outcomes = results.map((r) => (r.kind === 'done' ? r.results.map((c) => c.outcome.kind) : r.error.message));
      expect(outcomes).toEqual([['connected'], ['timeout']]);
      for (const r of results) {
        expect(r.kind === 'done' && r.complete).toBe(true);
        expect(r.node).toMatch(/^lab-node-/);
        expect(r.timing?.createdAt).toBeDefined();
        expect(r.timing!.settledAt).toBeGreaterThanOrEqual(r.timing!.createdAt!);
      }
      for (const key of ['pod-0', 'pod-1']) {
        const states = progress.filter(([k]) => k === key).map(([, s]) => s);
        expect(states[0]).toBe('created');
        expect(states.at(-1)).toBe('done');
      }
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-a', 'team-b'] });
    }
  });

  it('an image that cannot be pulled is a named failure long before the budget', async () => {
    const runId = newRun();
    await lab.setFaults({ imagePullFailure: ['registry.invalid/node:22'] });
    const pods = [
      spec(runId, 0, { namespace: 'team-b', image: 'registry.invalid/node:22', args: agentRunArgs({ retries: 0, checks: [] }) }),
      spec(runId, 1, { namespace: 'team-b', args: agentRunArgs({ retries: 0, checks: [] }) }),
    ];
    try {
      // A budget far beyond the test timeout: reaching it would fail the test, not pass it.
      const [bad, good] = await runProbePods(client, pods, within(600));
      expect(bad?.kind).toBe('failed');
      if (bad?.kind === 'failed') {
        expect(bad.error).toBeInstanceOf(ProbeError);
        expect(['ErrImagePull', 'ImagePullBackOff', 'ImagePullFailed']).toContain(bad.error.reason);
        expect(bad.error.message).toMatch(/^probe pod team-b\/netcheck-.*-p0 could not start: /);
      }
      expect(good?.kind).toBe('done');
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  it('PodSecurity "restricted" admits netcheck pods and names the rejection of a non-compliant one', async () => {
    const runId = newRun();
    await lab.setFaults({ podSecurityRestricted: ['team-a'] });
    const compliant = spec(runId, 0, { namespace: 'team-a', args: agentRunArgs({ retries: 0, checks: [] }) });
    const rootful = spec(runId, 1, { namespace: 'team-a', args: agentRunArgs({ retries: 0, checks: [] }) });
    delete rootful.manifest.spec.securityContext;
    delete rootful.manifest.spec.containers[0]!.securityContext;
    try {
      const [ok, rejected] = await runProbePods(client, [compliant, rootful], within(120));
      expect(ok?.kind).toBe('done');
      expect(rejected?.kind).toBe('failed');
      if (rejected?.kind === 'failed') {
        expect(rejected.error.reason).toBe('PodSecurity');
        expect(rejected.error.message).toMatch(/PodSecurity/);
      }
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-a'] });
    }
  });

  it.each([
    { name: 'an agent that exits non-zero', args: ['-e', 'process.exit(3)'], deadlineSeconds: 60, reason: 'AgentFailed', message: /exited with code 3/ },
    { name: 'a pod killed at activeDeadlineSeconds', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 1, reason: 'DeadlineExceeded', message: /activeDeadlineSeconds/ },
  ])('$name is a named per-pod failure', async ({ args, deadlineSeconds, reason, message }) => {
    const runId = newRun();
    try {
      const [result] = await runProbePods(client, [spec(runId, 0, { namespace: 'team-b', args, deadlineSeconds })], within(60));
      expect(result?.kind).toBe('failed');
      if (result?.kind === 'failed') {
        expect(result.error.reason).toBe(reason);
        expect(result.error.message).toMatch(message);
      }
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  // A namespace-scoped Role (deploy/rbac/role.yaml) is a normal way to run netcheck: what RBAC refuses in one
  // namespace, or a namespace that does not exist, fails the pods there, naming the verb; the others run.
  const namespaceScoped: Array<{ name: string; forbid: Array<{ verb: string; resource: string; namespace?: string }>; namespace: string; reason: string; message: string }> = [
    { name: 'no `get pods/log`', forbid: [{ verb: 'get', resource: 'pods/log', namespace: 'team-b' }], namespace: 'team-b', reason: 'Forbidden', message: 'cannot get pods/log in team-b: RBAC forbids `get pods/log` — grant deploy/rbac/role.yaml in team-b' },
    { name: 'no `watch pods`', forbid: [{ verb: 'watch', resource: 'pods', namespace: 'team-b' }], namespace: 'team-b', reason: 'Forbidden', message: 'cannot watch pods in team-b: RBAC forbids `watch pods` — grant deploy/rbac/role.yaml in team-b' },
    { name: 'no `create pods`', forbid: [{ verb: 'create', resource: 'pods', namespace: 'team-b' }], namespace: 'team-b', reason: 'Forbidden', message: 'cannot create pods in team-b: RBAC forbids `create pods` — grant deploy/rbac/role.yaml in team-b' },
    { name: 'a namespace that does not exist', forbid: [], namespace: 'no-such-ns', reason: 'NamespaceNotFound', message: 'namespace no-such-ns not found' },
  ];
  it.each(namespaceScoped)('$name fails the pods of that namespace with one named line; a pod elsewhere runs', async ({ forbid, namespace, reason, message }) => {
    const runId = newRun();
    await lab.setFaults({ forbid });
    try {
      const [refused, elsewhere] = await runProbePods(
        client,
        [spec(runId, 0, { namespace, args: agentRunArgs({ retries: 0, checks: [] }) }), spec(runId, 1, { namespace: 'team-a', args: agentRunArgs({ retries: 0, checks: [] }) })],
        within(120),
      );
      expect(elsewhere?.kind).toBe('done');
      expect(refused?.kind).toBe('failed');
      if (refused?.kind === 'failed') {
        expect(refused.error.reason).toBe(reason);
        expect(refused.error.message).toContain(message);
      }
    } finally {
      await lab.setFaults({ forbid: [] });
      await deleteRunPods(client, runId, { namespaces: ['team-a', 'team-b'] });
    }
  });

  it('an API server that goes away mid-run is a typed error, not a hang until the budget', async () => {
    const runId = newRun();
    // A few requests succeed (watch, create), then every connection is destroyed.
    await lab.setFaults({ apiDownAfterRequests: 3 });
    try {
      const error = await runProbePods(
        client,
        [0, 1, 2].map((i) => spec(runId, i, { namespace: 'team-b', args: agentRunArgs({ retries: 0, checks: [] }) })),
        within(600),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ClusterError);
      expect((error as ClusterError).reason).toBe('Unreachable');
      expect((error as ClusterError).message).toMatch(/^API server http:\/\/127\.0\.0\.1:\d+ \(context .+\) unreachable: /);
    } finally {
      await lab.setFaults({ apiDownAfterRequests: undefined });
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  it('the budget running out names the pods still pending', async () => {
    const runId = newRun();
    await lab.setFaults({ slowPodStartMs: 30_000 });
    try {
      const error = await runProbePods(client, [spec(runId, 0, { namespace: 'team-b', args: agentRunArgs({ retries: 0, checks: [] }) })], within(1)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BudgetExceededError);
      const budget = error as BudgetExceededError;
      expect(budget.reason).toBe('BudgetExceeded');
      expect(budget.pending).toEqual([`team-b/${probePodName(runId, 'probe', 0)}`]);
      expect(budget.message).toContain(probePodName(runId, 'probe', 0));
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  it('aborting rejects with the abort reason', async () => {
    const runId = newRun();
    const controller = new AbortController();
    try {
      const pending = runProbePods(client, [spec(runId, 0, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 30000)'] })], {
        signal: controller.signal,
        deadline: Date.now() + 60_000,
        onProgress: (_p, state) => {
          if (state === 'created') controller.abort(new Error('interrupted'));
        },
      });
      await expect(pending).rejects.toThrow('interrupted');
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  // The real client, with the signal of every log follow it is asked for kept aside (to check each was stopped).
  const recordingFollows = (): { client: ClusterClient; follows: AbortSignal[] } => {
    const follows: AbortSignal[] = [];
    const recording = Object.create(client) as ClusterClient;
    recording.followPodLog = (namespace, name, signal, onText) => {
      follows.push(signal);
      return client.followPodLog!(namespace, name, signal, onText);
    };
    return { client: recording, follows };
  };
  const resultLine = JSON.stringify({ id: 'c1', outcome: { kind: 'connected' }, attempts: [{ outcome: { kind: 'connected' }, ms: 3 }] });

  it("settles a probe when the agent's final line arrives on the followed log, before the pod's phase changes", async () => {
    const runId = newRun();
    const { client: recording, follows } = recordingFollows();
    // The agent prints its results and final line, then lingers: only the log can say it is done.
    const args = ['-e', `console.log(${JSON.stringify(resultLine)}); console.log('{"done":true}'); setTimeout(() => {}, 60000)`];
    try {
      const started = Date.now();
      const [result] = await runProbePods(recording, [spec(runId, 0, { namespace: 'team-b', args })], within(90));
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result?.kind).toBe('done');
      if (result?.kind === 'done') {
        expect(result.complete).toBe(true);
        expect(result.results.map((r) => [r.id, r.outcome.kind])).toEqual([['c1', 'connected']]);
        expect(result.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }
      const pod = await client.getPod('team-b', probePodName(runId, 'probe', 0));
      expect(pod?.phase).toBe('Running');
      // The follow is stopped once the probe settled: no socket left open to keep the process alive.
      expect(follows).toHaveLength(1);
      expect(follows[0]!.aborted).toBe(true);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  it('a followed log that ends without the final line falls back to the pod phase, as without a follow', async () => {
    const runId = newRun();
    const { client: recording, follows } = recordingFollows();
    const pods = [
      // Exits 0 after one result and no final line: done, but not complete.
      spec(runId, 0, { namespace: 'team-b', args: ['-e', `console.log(${JSON.stringify(resultLine)}); setTimeout(() => {}, 1500)`] }),
      // Crashes after one result: the phase (Failed) decides.
      spec(runId, 1, { namespace: 'team-b', args: ['-e', `console.log(${JSON.stringify(resultLine)}); setTimeout(() => process.exit(3), 1500)`] }),
    ];
    try {
      const [quiet, crashed] = await runProbePods(recording, pods, within(90));
      expect(quiet?.kind).toBe('done');
      if (quiet?.kind === 'done') {
        expect(quiet.complete).toBe(false);
        expect(quiet.results.map((r) => r.id)).toEqual(['c1']);
      }
      expect(crashed?.kind).toBe('failed');
      if (crashed?.kind === 'failed') expect(crashed.error.reason).toBe('AgentFailed');
      // Both were followed while they ran (the 1.5 s linger leaves the watch time to see them Running).
      expect(follows).toHaveLength(2);
      expect(follows.every((s) => s.aborted)).toBe(true);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });
});

describe('startListeners', () => {
  it('returns Ready listeners with their IPs, reachable by a probe', async () => {
    const runId = newRun();
    const listener = spec(runId, 0, {
      namespace: 'team-a',
      role: 'listener',
      labels: { app: 'listener' },
      ports: [{ port: 7070, protocol: 'TCP' }],
      args: agentListenArgs({ listen: [{ port: 7070, protocol: 'TCP' }] }),
    });
    try {
      const [ready] = await startListeners(client, [listener], within(60));
      expect(ready?.kind).toBe('ready');
      if (ready?.kind !== 'ready') return;
      expect(ready.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // Ready means started, not yet bound, on a loaded machine: a refusal is retried (1 s apart), as netcheck's plans do.
      const [probe] = await runProbePods(
        client,
        [spec(runId, 1, { namespace: 'team-b', args: agentRunArgs({ retries: 2, checks: [{ id: 'l', kind: 'tcp', target: ready.ip, port: 7070, timeoutMs: 1_500, expect: 'allow' }] }) })],
        within(60),
      );
      expect(probe?.kind === 'done' ? probe.results[0]?.outcome.kind : probe).toBe('connected');
    } finally {
      const removed = await deleteRunPods(client, runId, { namespaces: ['team-a', 'team-b'] });
      expect(removed.map((r) => r.name).sort()).toEqual([probePodName(runId, 'listener', 0), probePodName(runId, 'probe', 1)]);
    }
  });
});

describe('sweepExpiredPods', () => {
  it('removes pods past their expiry and keeps live ones', async () => {
    const runId = newRun();
    // Expiry is creationTimestamp + activeDeadlineSeconds + 60 s grace on the server's clock (the lab's is
    // this machine's): seen from 5 minutes on, a 60 s deadline has passed and a 1 h one has not.
    const old = spec(runId, 0, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 60 });
    const live = spec(runId, 1, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 3_600 });
    await client.createPod(old.manifest);
    await client.createPod(live.manifest);
    try {
      const removed = await sweepExpiredPods(client, { namespace: 'team-b', now: new Date(Date.now() + 5 * 60_000) });
      expect(removed).toEqual([{ namespace: 'team-b', name: old.manifest.metadata.name, run: runId, why: 'expired' }]);
      expect((await client.listPods('team-b', anyRunSelector)).map((p) => p.name)).toEqual([live.manifest.metadata.name]);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });
});

describe('never-ready gate', () => {
  it('a probe carrying a workload\'s labels runs but never becomes an endpoint of its Service', async () => {
    const runId = newRun();
    const probe = spec(runId, 0, { namespace: 'team-a', labels: { app: 'web', tier: 'frontend' }, args: ['-e', 'setTimeout(() => {}, 30000)'] });
    try {
      await client.createPod(probe.manifest);
      let state = await client.getPod('team-a', probe.manifest.metadata.name);
      while (state?.phase !== 'Running') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state = await client.getPod('team-a', probe.manifest.metadata.name);
      }
      expect(state.ready).toBe(false);
      const web = (await client.inventory({ namespaces: ['team-a'] })).services.find((s) => s.name === 'web');
      expect(web?.readyEndpoints).toBe(1);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-a'] });
    }
  });
});
