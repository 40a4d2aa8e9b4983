/**
 * netcheck's cluster layer on the REAL cluster (test/cluster-kit), one cluster for the whole file: the API client
 * reading Kubernetes (inventory, workload labels, typed 403s), the probe pod lifecycle (src/probe: real pods,
 * real kubelets, real NetworkPolicy enforcement by kube-router) and `netcheck cleanup` as a user runs it.
 * Every fault is real: RBAC Roles bound to client-certificate users for the 403s, the PodSecurity admission,
 * an image no registry serves, the kubelet's activeDeadlineSeconds, a stopped API server, and a slow pod start
 * made by pausing the nodes' containerd (test/cluster-kit/faults.ts). What tests the client itself rather than
 * Kubernetes (retries, cut watches, 410 Gone) runs against a scripted API double: test/cluster/client.test.ts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { ClusterError, ProbeError } from '../../src/model/errors.js';
import type { AgentPlan } from '../../src/model/outcome.js';
import { agentListenArgs, agentRunArgs } from '../../src/probe/agent.js';
import { deleteRunPods, sweepExpiredPods } from '../../src/probe/cleanup.js';
import { BudgetExceededError, runProbePods, startListeners, type ProbePodSpec, type ProbePodState } from '../../src/probe/lifecycle.js';
import { anyRunSelector, buildProbePod, probePodName, runSelector, type ProbePodInput } from '../../src/probe/pod-spec.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { pauseContainerRuntime } from '../cluster-kit/faults.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MAIN, netcheckPodsLeft, waitFor } from './built-cli.js';
import { rejection } from '../cluster/cluster-error.js';

const root = join(import.meta.dirname, '..', '..');
const FIXTURES = join(root, 'test', 'cluster', 'fixtures');

const skip = clusterSkipReason();
if (skip !== undefined) console.warn(`cluster layer on the real cluster: skipped — ${skip}`);

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const core = (resources: string[], verbs: string[]): Rule => ({ apiGroups: [''], resources, verbs });

/** deploy/rbac/role.yaml's rules, minus what a case takes away: what a namespace-scoped netcheck is granted. */
function netcheckRules(without: { resource: string; verb: string } | undefined = undefined): Rule[] {
  const rules: Rule[] = [
    core(['pods'], ['create', 'get', 'list', 'watch', 'delete']),
    core(['pods/log'], ['get']),
    core(['events'], ['list']),
    core(['services'], ['list']),
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list'] },
  ];
  if (without === undefined) return rules;
  return rules
    .map((r) => (r.resources.includes(without.resource) ? { ...r, verbs: r.verbs.filter((v) => v !== without.verb) } : r))
    .filter((r) => r.verbs.length > 0);
}

/**
 * The users the RBAC cases run as (client certificates the cluster CA signs) and exactly what each may do.
 * Anything not granted is refused by the real authorizer with a real 403.
 */
const GRANTS: Record<string, Array<{ namespace?: string; rules: Rule[] }>> = {
  // Reads pods, EndpointSlices and DaemonSets everywhere and NetworkPolicies in team-a: no namespaces, nodes or services.
  'netcheck-degraded': [
    { rules: [core(['pods'], ['get', 'list', 'watch']), { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] }, { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['list'] }] },
    { namespace: 'team-a', rules: [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list'] }] },
  ],
  // In shop: the workload objects, not their pods.
  'netcheck-no-list-pods': [{ namespace: 'shop', rules: [{ apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get'] }, { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] }] }],
  // In shop: the pods, not the workload objects.
  'netcheck-no-get-workloads': [{ namespace: 'shop', rules: [core(['pods'], ['list'])] }],
  // Nothing at all.
  'netcheck-nothing': [],
  // deploy/rbac/role.yaml in team-a; in team-b the same minus one verb.
  'netcheck-no-log': [{ namespace: 'team-a', rules: netcheckRules() }, { namespace: 'team-b', rules: netcheckRules({ resource: 'pods/log', verb: 'get' }) }],
  'netcheck-no-watch': [{ namespace: 'team-a', rules: netcheckRules() }, { namespace: 'team-b', rules: netcheckRules({ resource: 'pods', verb: 'watch' }) }],
  'netcheck-no-create': [{ namespace: 'team-a', rules: netcheckRules() }, { namespace: 'team-b', rules: netcheckRules({ resource: 'pods', verb: 'create' }) }],
};

/** Roles (ClusterRoles without a namespace) and their bindings to each user, as one kubectl apply. */
function rbacObjects(): object[] {
  return Object.entries(GRANTS).flatMap(([user, grants]) =>
    grants.flatMap(({ namespace, rules }) => {
      const kind = namespace === undefined ? 'ClusterRole' : 'Role';
      const metadata = namespace === undefined ? { name: user } : { name: user, namespace };
      const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind, name: user };
      const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }];
      return [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata, rules },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: `${kind}Binding`, metadata, roleRef, subjects },
      ];
    }),
  );
}

// Pods really start here, on a 2-core machine shared with other clusters: generous per-test time, never asserted on.
describe.skipIf(skip !== undefined)('the cluster layer on the real cluster', { timeout: 240_000 }, () => {
  const cluster = useCluster({ manifests: [join(FIXTURES, 'two-teams.yaml'), join(FIXTURES, 'shop.yaml')] });
  let c: RunningCluster;
  let client: ClusterClient;
  const as = new Map<string, ClusterClient>();
  const kubeconfigs = new Map<string, string>();
  /** A client acting as one of GRANTS' users. */
  const clientAs = (user: keyof typeof GRANTS): ClusterClient => as.get(user) as ClusterClient;
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  let runCounter = 0;
  const newRun = (): string => `lt${process.pid.toString(36)}${(runCounter++).toString(36)}`;

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath, requestTimeoutMs: 10_000 });
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbacObjects() }) });
    for (const user of Object.keys(GRANTS)) {
      const kubeconfig = await c.kubeconfigFor(user, { user });
      kubeconfigs.set(user, kubeconfig);
      as.set(user, await connectCluster({ kubeconfig, requestTimeoutMs: 10_000 }));
    }
  });

  afterEach(async () => {
    // Every test cleans up its own run; nothing netcheck created may survive it.
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  /** A probe pod of `runId` with the cluster's probe image. */
  function spec(runId: string, index: number, overrides: Partial<ProbePodInput> & Pick<ProbePodInput, 'namespace' | 'args'>): ProbePodSpec {
    const input: ProbePodInput = { runId, name: probePodName(runId, overrides.role ?? 'probe', index), labels: {}, deadlineSeconds: 60, role: 'probe', image: c.probeImage, ...overrides };
    return { key: `pod-${index}`, manifest: buildProbePod(input) };
  }
  const within = (seconds: number): { signal: AbortSignal; deadline: number } => ({ signal: new AbortController().signal, deadline: Date.now() + seconds * 1000 });
  const emptyPlan = agentRunArgs({ retries: 0, checks: [] });

  describe('inventory', () => {
    it('reads namespaces, pods, services with endpoints, policies and nodes', async () => {
      const inv = await client.inventory();
      expect(inv.unknown).toEqual([]);
      expect(inv.namespacesListed).toBe(true);
      expect(inv.notVisible).toBeUndefined();
      const teamA = inv.namespaces.find((n) => n.name === 'team-a');
      expect(teamA?.labels).toMatchObject({ name: 'team-a', 'kubernetes.io/metadata.name': 'team-a' });
      const web = inv.pods.find((p) => p.namespace === 'team-a' && p.labels['app'] === 'web');
      expect(web?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(web?.ports).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
      const svc = inv.services.find((s) => s.namespace === 'team-a' && s.name === 'web');
      expect(svc?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(svc?.readyEndpoints).toBe(1);
      expect(inv.policies.map((p) => `${p.namespace}/${p.name}`)).toContain('team-a/web-from-team-b');
      expect(inv.nodes.map((n) => n.name).sort()).toEqual(c.nodes.map((n) => n.name).sort());
    });

    it('restricted to namespaces, reads only those; a missing one is named, not fatal', async () => {
      const inv = await client.inventory({ namespaces: ['team-b'] });
      expect(inv.namespaces.map((n) => n.name)).toEqual(['team-b']);
      expect(new Set(inv.pods.map((p) => p.namespace))).toEqual(new Set(['team-b']));
      expect(inv.policies).toEqual([]);
      const missing = await client.inventory({ namespaces: ['no-such-ns', 'team-b'] });
      expect(missing.missingNamespaces).toEqual(['no-such-ns']);
      expect(missing.namespaces.map((n) => n.name)).toEqual(['team-b']);
      expect(new Set(missing.pods.map((p) => p.namespace))).toEqual(new Set(['team-b']));
    });

    it('degrades under narrow RBAC: records what it could not read instead of failing', async () => {
      const narrow = clientAs('netcheck-degraded');
      const inv = await narrow.inventory({ namespaces: ['team-a', 'team-b'] });
      expect(inv.unknown).toEqual(
        expect.arrayContaining([
          'labels of namespace team-a (forbidden: get namespaces)',
          'labels of namespace team-b (forbidden: get namespaces)',
          'networkpolicies in namespace team-b (forbidden: list networkpolicies)',
          'services in namespaces team-a, team-b (forbidden: list services)',
          'nodes (forbidden: list nodes)',
        ]),
      );
      // What was readable is there; the name label is certain even without `get namespaces`.
      expect(inv.policies.map((p) => p.name)).toEqual(['web-from-team-b']);
      expect(inv.services).toEqual([]);
      expect(inv.pods.length).toBeGreaterThan(0);
      expect(inv.namespaces.find((n) => n.name === 'team-a')?.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a' });

      // Each thing not visible once, with the command that shows it to someone who may see it.
      expect(inv.notVisible).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ resource: 'namespaces', why: 'forbidden: list namespaces', command: 'kubectl get namespaces --show-labels' }),
          expect.objectContaining({ resource: 'networkpolicies', namespaces: ['team-b'], what: 'networkpolicies in team-b', command: 'kubectl describe networkpolicy -n team-b' }),
          expect.objectContaining({ resource: 'services', namespaces: ['team-a', 'team-b'], command: 'kubectl get services -A' }),
          expect.objectContaining({ resource: 'nodes', command: 'kubectl get nodes -o wide --show-labels' }),
        ]),
      );
      expect(inv.notVisible?.filter((n) => n.resource === 'namespaces')).toHaveLength(1);
      expect(inv.namespacesListed).toBeUndefined();

      // Without a cluster-wide list, the context's namespace and the ones the caller names are read one by one.
      const unscoped = await narrow.inventory({ alsoNamespaces: ['team-a', 'team-b'] });
      expect(unscoped.unknown[0]).toMatch(/^namespace labels \(forbidden: list namespaces\); read only namespaces (\S+, )*team-a, team-b/);
      expect(unscoped.policies.map((p) => p.name)).toEqual(['web-from-team-b']);
      expect(new Set(unscoped.pods.map((p) => p.namespace))).toEqual(new Set(['team-a', 'team-b']));
    });
  });

  describe('getWorkloadLabels', () => {
    it.each([
      ['deployment', 'team-a', 'web', { app: 'web', tier: 'frontend' }],
      ['deployment', 'team-b', 'client', { app: 'client' }],
    ] as const)('%s %s/%s, from the object, without the controller-stamped labels', async (kind, ns, name, labels) => {
      expect(await client.getWorkloadLabels(ns, kind, name)).toEqual(labels);
    });

    it("a pod's own labels, without pod-template-hash", async () => {
      const [web] = await client.listPods('team-a', 'app=web');
      expect(web?.labels['pod-template-hash']).toBeDefined();
      expect(await client.getWorkloadLabels('team-a', 'pod', web!.name)).toEqual({ app: 'web', tier: 'frontend' });
    });

    it.each([
      ['statefulset', 'web', 'statefulset/web not found in namespace team-a'],
      ['deployment', 'we', 'deployment/we not found in namespace team-a'],
      ['pod', 'nope', 'pod/nope not found in namespace team-a'],
    ] as const)('a missing %s/%s is named', async (kind, name, message) => {
      const error = await rejection(client.getWorkloadLabels('team-a', kind, name));
      expect(error.message).toBe(message);
    });

    it('a Deployment with no pods: read from the object (nothing to fall back on)', async () => {
      expect(await client.listPods('shop', 'app=idle')).toEqual([]);
      expect(await client.getWorkloadLabels('shop', 'deployment', 'idle')).toEqual({ app: 'idle', tier: 'batch' });
    });

    it.each([
      ['deployment', 'web', { app: 'web', tier: 'frontend' }],
      ['statefulset', 'db', { app: 'db' }],
      ['daemonset', 'agent', { app: 'agent' }],
      ['job', 'train', { app: 'train' }],
    ] as const)('%s/%s with `list pods` forbidden: read from the object', async (kind, name, labels) => {
      expect(await clientAs('netcheck-no-list-pods').getWorkloadLabels('shop', kind, name)).toEqual(labels);
    });

    it.each([
      ['deployment', 'web', { app: 'web', tier: 'frontend' }],
      ['statefulset', 'db', { app: 'db' }],
      ['job', 'train', { app: 'train' }],
    ] as const)('%s/%s with `get` on it forbidden: read from a pod it owns, without controller labels', async (kind, name, labels) => {
      expect(await clientAs('netcheck-no-get-workloads').getWorkloadLabels('shop', kind, name)).toEqual(labels);
    });

    it('neither path readable: the Forbidden error names the workload resource', async () => {
      const error = await rejection(clientAs('netcheck-nothing').getWorkloadLabels('shop', 'deployment', 'web'));
      expect(error.reason).toBe('Forbidden');
      expect(error.message).toContain('deployments');
    });
  });

  it('a 403 names verb, resource and namespace', async () => {
    const manifest = spec('forbid1', 0, { namespace: 'team-a', args: emptyPlan }).manifest;
    const error = await rejection(clientAs('netcheck-nothing').createPod(manifest));
    expect(error.reason).toBe('Forbidden');
    expect(error.message).toBe('forbidden: netcheck needs `create pods` in namespace team-a');
    expect(error.hint).toMatch(/deploy\/rbac/);
  });

  describe('runProbePods', () => {
    it('runs agent plans in parallel and returns their results; the policy decides what connects', async () => {
      const runId = newRun();
      // By ClusterIP, through kube-proxy: this test is about pods, not about cluster DNS. Retries only where the
      // outcome disagrees with the expectation: kube-router admits a new pod only once it has synced (seconds, loaded).
      const web = (await client.inventory({ namespaces: ['team-a'] })).services.find((s) => s.name === 'web');
      const plan = (expect: 'allow' | 'deny'): AgentPlan => ({ retries: 10, checks: [{ id: 'web', kind: 'tcp', target: web!.clusterIP!, port: 80, timeoutMs: 1_500, expect }] });
      const pods = [
        // team-b is admitted to web by web-from-team-b; a pod in team-a is not.
        spec(runId, 0, { namespace: 'team-b', labels: { app: 'client' }, args: agentRunArgs(plan('allow')) }),
        spec(runId, 1, { namespace: 'team-a', labels: { app: 'other' }, args: agentRunArgs(plan('deny')) }),
      ];
      const progress: Array<[string, ProbePodState]> = [];
      try {
        const results = await runProbePods(client, pods, { ...within(120), onProgress: (p, s) => progress.push([p.key, s]) });
        expect(results.map((r) => r.key)).toEqual(['pod-0', 'pod-1']);
        const outcomes = results.map((r) => (r.kind === 'done' ? r.results.map((x) => x.outcome.kind) : r.error.message));
        // kube-router rejects what a policy denies (ICMP: refused); a dropping enforcer would give a timeout.
        expect(outcomes[0]).toEqual(['connected']);
        expect(['timeout', 'refused']).toContain((outcomes[1] as string[])[0]);
        for (const r of results) {
          expect(r.kind === 'done' && r.complete).toBe(true);
          expect(c.nodes.map((n) => n.name)).toContain(r.node);
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
      const pods = [spec(runId, 0, { namespace: 'team-b', image: 'registry.invalid/node:22', args: emptyPlan }), spec(runId, 1, { namespace: 'team-b', args: emptyPlan })];
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

    it('PodSecurity "restricted" (the real admission) admits netcheck pods and names the rejection of a non-compliant one', async () => {
      const runId = newRun();
      await kubectl('label', 'namespace', 'team-a', 'pod-security.kubernetes.io/enforce=restricted', '--overwrite');
      const compliant = spec(runId, 0, { namespace: 'team-a', args: emptyPlan });
      const rootful = spec(runId, 1, { namespace: 'team-a', args: emptyPlan });
      delete rootful.manifest.spec.securityContext;
      delete rootful.manifest.spec.containers[0]!.securityContext;
      try {
        const [ok, rejected] = await runProbePods(client, [compliant, rootful], within(120));
        expect(ok?.kind).toBe('done');
        expect(rejected?.kind).toBe('failed');
        if (rejected?.kind === 'failed') {
          expect(rejected.error.reason).toBe('PodSecurity');
          expect(rejected.error.message).toMatch(/PodSecurity "restricted/);
        }
      } finally {
        await kubectl('label', 'namespace', 'team-a', 'pod-security.kubernetes.io/enforce-');
        await deleteRunPods(client, runId, { namespaces: ['team-a'] });
      }
    });

    it.each([
      { name: 'an agent that exits non-zero', args: ['-e', 'process.exit(3)'], deadlineSeconds: 60, reason: 'AgentFailed', message: /exited with code 3/ },
      { name: 'a pod the kubelet kills at activeDeadlineSeconds', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 1, reason: 'DeadlineExceeded', message: /activeDeadlineSeconds/ },
    ])('$name is a named per-pod failure', async ({ args, deadlineSeconds, reason, message }) => {
      const runId = newRun();
      try {
        const [result] = await runProbePods(client, [spec(runId, 0, { namespace: 'team-b', args, deadlineSeconds })], within(120));
        expect(result?.kind).toBe('failed');
        if (result?.kind === 'failed') {
          expect(result.error.reason).toBe(reason);
          expect(result.error.message).toMatch(message);
        }
      } finally {
        await deleteRunPods(client, runId, { namespaces: ['team-b'] });
      }
    });

    // deploy/rbac/role.yaml per namespace is a normal way to run netcheck: what RBAC refuses in one namespace, or a
    // namespace that does not exist, fails the pods there, naming the verb; the others run.
    const namespaceScoped = [
      { name: 'no `get pods/log`', user: 'netcheck-no-log', namespace: 'team-b', reason: 'Forbidden', message: 'cannot get pods/log in team-b: RBAC forbids `get pods/log` — grant deploy/rbac/role.yaml in team-b' },
      { name: 'no `watch pods`', user: 'netcheck-no-watch', namespace: 'team-b', reason: 'Forbidden', message: 'cannot watch pods in team-b: RBAC forbids `watch pods` — grant deploy/rbac/role.yaml in team-b' },
      { name: 'no `create pods`', user: 'netcheck-no-create', namespace: 'team-b', reason: 'Forbidden', message: 'cannot create pods in team-b: RBAC forbids `create pods` — grant deploy/rbac/role.yaml in team-b' },
      { name: 'a namespace that does not exist', user: undefined, namespace: 'no-such-ns', reason: 'NamespaceNotFound', message: 'namespace no-such-ns not found' },
    ];
    it.each(namespaceScoped)('$name fails the pods of that namespace with one named line; a pod elsewhere runs', async ({ user, namespace, reason, message }) => {
      const runId = newRun();
      try {
        const [refused, elsewhere] = await runProbePods(
          user === undefined ? client : clientAs(user),
          [spec(runId, 0, { namespace, args: emptyPlan }), spec(runId, 1, { namespace: 'team-a', args: emptyPlan })],
          within(120),
        );
        expect(elsewhere?.kind).toBe('done');
        expect(refused?.kind).toBe('failed');
        if (refused?.kind === 'failed') {
          expect(refused.error.reason).toBe(reason);
          expect(refused.error.message).toContain(message);
        }
      } finally {
        await deleteRunPods(client, runId, { namespaces: ['team-a', 'team-b'] });
      }
    });

    it('the API server stopped mid-run is a typed error, not a hang until the budget', async () => {
      const runId = newRun();
      let stopping: Promise<void> | undefined;
      try {
        const error = await runProbePods(client, [0, 1, 2].map((i) => spec(runId, i, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 60000)'] })), {
          ...within(600),
          onProgress: (_p, state) => {
            if (state === 'created') stopping ??= c.stopApiServer();
          },
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ClusterError);
        expect((error as ClusterError).reason).toBe('Unreachable');
        expect((error as ClusterError).message).toMatch(/^API server https:\/\/127\.0\.0\.1:\d+ \(context .+\) unreachable: /);
      } finally {
        await stopping;
        await c.startApiServer();
        await deleteRunPods(client, runId, { namespaces: ['team-b'] });
      }
    });

    it('the budget running out names the pods still pending (containerd paused: the pod stays ContainerCreating)', async () => {
      const runId = newRun();
      const paused = pauseContainerRuntime(c);
      try {
        const error = await runProbePods(client, [spec(runId, 0, { namespace: 'team-b', args: emptyPlan })], within(3)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(BudgetExceededError);
        const budget = error as BudgetExceededError;
        expect(budget.reason).toBe('BudgetExceeded');
        expect(budget.pending).toEqual([`team-b/${probePodName(runId, 'probe', 0)}`]);
        expect(budget.message).toContain(probePodName(runId, 'probe', 0));
      } finally {
        paused.resume();
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
      const args = ['-e', `console.log(${JSON.stringify(resultLine)}); console.log('{"done":true}'); setTimeout(() => {}, 120000)`];
      try {
        const [result] = await runProbePods(recording, [spec(runId, 0, { namespace: 'team-b', args, deadlineSeconds: 180 })], within(150));
        expect(result?.kind).toBe('done');
        if (result?.kind === 'done') {
          expect(result.complete).toBe(true);
          expect(result.results.map((r) => [r.id, r.outcome.kind])).toEqual([['c1', 'connected']]);
          expect(result.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        }
        // Settled while the pod still runs: the log, not the phase, ended it.
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
        spec(runId, 0, { namespace: 'team-b', args: ['-e', `console.log(${JSON.stringify(resultLine)}); setTimeout(() => {}, 5000)`] }),
        // Crashes after one result: the phase (Failed) decides.
        spec(runId, 1, { namespace: 'team-b', args: ['-e', `console.log(${JSON.stringify(resultLine)}); setTimeout(() => process.exit(3), 5000)`] }),
      ];
      try {
        const [quiet, crashed] = await runProbePods(recording, pods, within(120));
        expect(quiet?.kind).toBe('done');
        if (quiet?.kind === 'done') {
          expect(quiet.complete).toBe(false);
          expect(quiet.results.map((r) => r.id)).toEqual(['c1']);
        }
        expect(crashed?.kind).toBe('failed');
        if (crashed?.kind === 'failed') expect(crashed.error.reason).toBe('AgentFailed');
        // Both were followed while they ran (the 5 s linger leaves the kubelet time to report them Running).
        expect(follows).toHaveLength(2);
        expect(follows.every((s) => s.aborted)).toBe(true);
      } finally {
        await deleteRunPods(client, runId, { namespaces: ['team-b'] });
      }
    });
  });

  it('startListeners returns Ready listeners with their IPs, reachable by a probe', async () => {
    const runId = newRun();
    const listener = spec(runId, 0, { namespace: 'team-a', role: 'listener', labels: { app: 'listener' }, ports: [{ port: 7070, protocol: 'TCP' }], args: agentListenArgs({ listen: [{ port: 7070, protocol: 'TCP' }] }) });
    try {
      const [ready] = await startListeners(client, [listener], within(120));
      expect(ready?.kind).toBe('ready');
      if (ready?.kind !== 'ready') return;
      expect(ready.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // Ready means started, not yet bound, on a loaded machine: a refusal is retried (1 s apart), as netcheck's plans do.
      const check = { id: 'l', kind: 'tcp' as const, target: ready.ip, port: 7070, timeoutMs: 1_500, expect: 'allow' as const };
      const [probe] = await runProbePods(client, [spec(runId, 1, { namespace: 'team-b', args: agentRunArgs({ retries: 3, checks: [check] }) })], within(120));
      expect(probe?.kind === 'done' ? probe.results[0]?.outcome.kind : probe).toBe('connected');
    } finally {
      const removed = await deleteRunPods(client, runId, { namespaces: ['team-a', 'team-b'] });
      expect(removed.map((r) => r.name).sort()).toEqual([probePodName(runId, 'listener', 0), probePodName(runId, 'probe', 1)]);
    }
  });

  it('sweepExpiredPods removes pods past their expiry (on the API server\'s clock) and keeps live ones', async () => {
    const runId = newRun();
    // Expiry is creationTimestamp + activeDeadlineSeconds + 60 s grace: seen from 5 minutes on, a 60 s deadline has
    // passed and a 1 h one has not.
    const old = spec(runId, 0, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 60 });
    const live = spec(runId, 1, { namespace: 'team-b', args: ['-e', 'setTimeout(() => {}, 60000)'], deadlineSeconds: 3_600 });
    await client.createPod(old.manifest);
    await client.createPod(live.manifest);
    try {
      const removed = await sweepExpiredPods(client, { namespace: 'team-b', now: new Date(Date.now() + 5 * 60_000) });
      expect(removed).toEqual([{ namespace: 'team-b', name: old.manifest.metadata.name, run: runId, why: 'expired' }]);
      expect((await client.listPods('team-b', anyRunSelector)).filter((p) => !p.deleting).map((p) => p.name)).toEqual([live.manifest.metadata.name]);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-b'] });
    }
  });

  it("the never-ready gate: a probe carrying a workload's labels runs, and the endpoints controller lists it as not ready", async () => {
    const runId = newRun();
    const probe = spec(runId, 0, { namespace: 'team-a', labels: { app: 'web', tier: 'frontend' }, args: ['-e', 'setTimeout(() => {}, 60000)'] });
    try {
      await client.createPod(probe.manifest);
      const running = await waitFor('the probe Running', async () => {
        const state = await client.getPod('team-a', probe.manifest.metadata.name);
        return state?.phase === 'Running' && state.podIP !== undefined ? state : undefined;
      }, 240);
      expect(running.ready).toBe(false);
      // The controller has seen it (its address is in web's EndpointSlice), and keeps it out of the ready ones.
      const conditions = await waitFor('the probe in web\'s EndpointSlice', async () => {
        const slices = JSON.parse(await kubectl('get', 'endpointslices', '-n', 'team-a', '-l', 'kubernetes.io/service-name=web', '-o', 'json')) as {
          items: Array<{ endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }> }>;
        };
        return slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.addresses.includes(running.podIP as string))?.conditions;
      }, 120);
      expect(conditions.ready).toBe(false);
      const web = (await client.inventory({ namespaces: ['team-a'] })).services.find((s) => s.name === 'web');
      expect(web?.readyEndpoints).toBe(1);
    } finally {
      await deleteRunPods(client, runId, { namespaces: ['team-a'] });
    }
  });

  // The BUILT CLI, from this machine's namespace: cleanup only talks to the API server, which answers here too.
  describe.skipIf(!built)('netcheck cleanup (the CLI, as a user runs it)', () => {
    const run = promisify(execFile);
    async function netcheck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return run(process.execPath, [join(root, MAIN), ...args], { cwd: root }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    }
    /** An expired probe is one whose deadline really passed: the kubelet stopped it with DeadlineExceeded. */
    async function createProbe(runId: string, namespace: string, name: string, deadlineSeconds: number): Promise<void> {
      await client.createPod(buildProbePod({ runId, namespace, name, labels: {}, deadlineSeconds, args: ['-e', 'setTimeout(() => {}, 600000)'], role: 'probe', image: c.probeImage }));
    }
    const stoppedAtDeadline = (namespace: string, name: string): Promise<true> =>
      waitFor(`${namespace}/${name} stopped at its deadline`, async () => {
        const pod = await client.getPod(namespace, name);
        return pod?.phase === 'Failed' && pod.reason === 'DeadlineExceeded' ? true : undefined;
      }, 240);
    const live = async (selector: string): Promise<string[]> => (await client.listPods(undefined, selector)).filter((p) => !p.deleting).map((p) => p.name).sort();

    it('deletes expired netcheck pods in one namespace, then everywhere, and says which', async () => {
      await createProbe('clirun', 'team-a', 'netcheck-clirun-p0', 1);
      await createProbe('clirun', 'team-b', 'netcheck-clirun-p1', 1);
      await createProbe('clirun', 'team-b', 'netcheck-clirun-p2', 600);
      try {
        await stoppedAtDeadline('team-a', 'netcheck-clirun-p0');
        await stoppedAtDeadline('team-b', 'netcheck-clirun-p1');
        const one = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '-n', 'team-b');
        expect(one).toMatchObject({ code: 0, stderr: '' });
        expect(one.stdout).toBe('deleted pod team-b/netcheck-clirun-p1 (run clirun, expired)\n1 pod deleted in namespace team-b\n');

        const all = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '--all-namespaces');
        expect(all.stdout).toBe('deleted pod team-a/netcheck-clirun-p0 (run clirun, expired)\n1 pod deleted across all namespaces\n');

        const again = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '-A');
        expect(again.stdout).toBe('no expired netcheck pods across all namespaces\n');
        expect(await live(runSelector('clirun'))).toEqual(['netcheck-clirun-p2']);
      } finally {
        await deleteRunPods(client, 'clirun', { namespaces: ['team-a', 'team-b'] });
      }
    });

    it("--run ID deletes that run's pods now, live or not, in every namespace, and leaves other runs alone", async () => {
      await createProbe('killedrun1', 'team-a', 'netcheck-killedrun1-p0', 600);
      await createProbe('killedrun1', 'team-b', 'netcheck-killedrun1-p1', 600);
      await createProbe('otherrun2', 'team-b', 'netcheck-otherrun2-p0', 600);
      try {
        const one = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '--run', 'killedrun1');
        expect(one).toMatchObject({ code: 0, stderr: '' });
        expect(one.stdout).toBe('deleted pod team-a/netcheck-killedrun1-p0\ndeleted pod team-b/netcheck-killedrun1-p1\n2 pods of run killedrun1 deleted across all namespaces\n');
        expect(await live(runSelector('killedrun1'))).toEqual([]);
        expect(await live(runSelector('otherrun2'))).toEqual(['netcheck-otherrun2-p0']);

        // The pod name works as well as the id; -n limits it; a run with no pod left there says so and exits 0.
        const scoped = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '--run', 'netcheck-otherrun2-p0', '-n', 'team-a');
        expect(scoped).toMatchObject({ code: 0, stdout: 'no pods of run otherrun2 in namespace team-a (already deleted, or another cluster or context?)\n' });
        expect(await live(runSelector('otherrun2'))).toEqual(['netcheck-otherrun2-p0']);
      } finally {
        await deleteRunPods(client, 'otherrun2', { namespaces: ['team-b'] });
        await deleteRunPods(client, 'killedrun1', { namespaces: ['team-a', 'team-b'] });
      }
    });

    it('--run with a malformed id is bad input (exit 2), before any cluster call', async () => {
      const result = await netcheck('cleanup', '--kubeconfig', '/nonexistent/kubeconfig', '--run', 'Not_A/Run');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^netcheck: --run Not_A\/Run: not a netcheck run id .*\n {2}hint: the id is on the "netcheck run id ID" line/);
    });

    it('an unknown --context exits 2 with one line and the contexts there are', async () => {
      const result = await netcheck('cleanup', '--kubeconfig', c.kubeconfigPath, '--context', 'nope');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^netcheck: --context nope: kubeconfig .* defines no context of that name\n {2}hint: available contexts: /);
    });

    it('-A without `list pods` cluster-wide (real RBAC) exits 3 with one line and the RBAC hint', async () => {
      const result = await netcheck('cleanup', '--kubeconfig', kubeconfigs.get('netcheck-nothing') as string, '-A');
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^netcheck: forbidden: netcheck needs `list pods` cluster-wide\n {2}hint: apply deploy\/rbac\//);
    });
  });
});
