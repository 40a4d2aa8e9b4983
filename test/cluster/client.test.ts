/**
 * The cluster layer against the lab: a real HTTP API server, driven through connectCluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient, PodEvent } from '../../src/cluster/types.js';
import { ClusterError } from '../../src/model/errors.js';
import { buildProbePod, runSelector } from '../../src/probe/pod-spec.js';
import { startLab, startLabWith } from '../lab/lab.js';
import type { Lab } from '../lab/types.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'two-teams.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'netcheck-client-test-'));

let lab: Lab;
let client: ClusterClient;

beforeAll(async () => {
  lab = await startLab({ manifests: [fixtures] });
  client = await connectCluster({ kubeconfig: lab.kubeconfigPath, requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await lab?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

afterEach(async () => {
  await lab.setFaults({ forbid: [], apiDownAfterRequests: undefined, watchCutAfterEvents: undefined });
});

async function rejection(promise: Promise<unknown>): Promise<ClusterError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterError);
    return error as ClusterError;
  }
  throw new Error('expected a rejection');
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('connectCluster', () => {
  it('reads the lab kubeconfig: server and context', () => {
    expect(client.server).toBe(lab.server);
    expect(client.context).not.toBe('');
  });

  it('an unknown --context lists the available ones', async () => {
    const error = await connectCluster({ kubeconfig: lab.kubeconfigPath, context: 'nope' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^--context nope: kubeconfig \S+ defines no context of that name$/);
    expect((error as { hint?: string }).hint).toMatch(/^available contexts: \S+/);
  });

  it('an unreachable API server is one typed line naming URL and context', async () => {
    const port = await closedPort();
    const gone = await connectCluster({ kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`, 'gone'), requestTimeoutMs: 2_000 });
    const error = await rejection(gone.inventory());
    expect(error.reason).toBe('Unreachable');
    expect(error.message).toBe(`API server http://127.0.0.1:${port} (context gone) unreachable: ECONNREFUSED`);
  });
});

describe('inventory', () => {
  it('reads namespaces, pods, services with endpoints, policies and nodes', async () => {
    const inv = await client.inventory();
    expect(inv.unknown).toEqual([]);
    const teamA = inv.namespaces.find((n) => n.name === 'team-a');
    expect(teamA?.labels).toMatchObject({ name: 'team-a', 'kubernetes.io/metadata.name': 'team-a' });
    const web = inv.pods.find((p) => p.namespace === 'team-a' && p.labels['app'] === 'web');
    expect(web?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(web?.ports).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
    const svc = inv.services.find((s) => s.namespace === 'team-a' && s.name === 'web');
    expect(svc?.clusterIP).toBeTruthy();
    expect(svc?.readyEndpoints).toBe(1);
    expect(inv.policies.map((p) => `${p.namespace}/${p.name}`)).toContain('team-a/web-from-team-b');
    expect(inv.nodes.length).toBeGreaterThan(0);
  });

  it('restricted to namespaces, reads only those', async () => {
    const inv = await client.inventory({ namespaces: ['team-b'] });
    expect(inv.namespaces.map((n) => n.name)).toEqual(['team-b']);
    expect(new Set(inv.pods.map((p) => p.namespace))).toEqual(new Set(['team-b']));
    expect(inv.policies).toEqual([]);
  });

  it('degrades under namespace-scoped RBAC: records what it could not read instead of failing', async () => {
    await lab.setFaults({
      forbid: [
        { verb: 'list', resource: 'namespaces' },
        { verb: 'get', resource: 'namespaces' },
        { verb: 'list', resource: 'nodes' },
        { verb: 'list', resource: 'networkpolicies', namespace: 'team-b' },
        { verb: 'list', resource: 'services' },
      ],
    });
    const inv = await client.inventory({ namespaces: ['team-a', 'team-b'] });
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
    const unscoped = await client.inventory({ alsoNamespaces: ['team-a', 'team-b'] });
    expect(unscoped.unknown[0]).toMatch(/^namespace labels \(forbidden: list namespaces\); read only namespaces (\S+, )*team-a, team-b/);
    expect(unscoped.policies.map((p) => p.name)).toEqual(['web-from-team-b']);
    expect(new Set(unscoped.pods.map((p) => p.namespace))).toEqual(new Set(['team-a', 'team-b']));
  });

  it('a missing namespace is named, not fatal: the others are read', async () => {
    const inv = await client.inventory({ namespaces: ['no-such-ns', 'team-b'] });
    expect(inv.missingNamespaces).toEqual(['no-such-ns']);
    expect(inv.namespaces.map((n) => n.name)).toEqual(['team-b']);
    expect(new Set(inv.pods.map((p) => p.namespace))).toEqual(new Set(['team-b']));
  });

  it('a full namespace list says so, so a namespace not in it does not exist', async () => {
    const inv = await client.inventory();
    expect(inv.namespacesListed).toBe(true);
    expect(inv.notVisible).toBeUndefined();
  });
});

describe('getWorkloadLabels', () => {
  // Read from the Deployment objects the lab serves; the pod fallback is covered by workload-labels.test.ts.
  it.each([
    ['deployment', 'team-a', 'web', { app: 'web', tier: 'frontend' }],
    ['deployment', 'team-b', 'client', { app: 'client' }],
  ] as const)('%s %s/%s, without the controller-stamped labels', async (kind, ns, name, labels) => {
    expect(await client.getWorkloadLabels(ns, kind, name)).toEqual(labels);
  });

  it('a pod\'s own labels', async () => {
    const [web] = (await client.listPods('team-a', 'app=web')).filter((p) => p.labels['netcheck.io/run'] === undefined);
    expect(web).toBeDefined();
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
});

describe('typed failures', () => {
  it('403 names verb, resource and namespace', async () => {
    await lab.setFaults({ forbid: [{ verb: 'create', resource: 'pods', namespace: 'team-a' }] });
    const manifest = buildProbePod({
      runId: 'forbid1', namespace: 'team-a', name: 'netcheck-forbid1-p0', labels: {}, deadlineSeconds: 30,
      args: ['-e', 'setTimeout(() => {}, 1000)'], role: 'probe',
    });
    const error = await rejection(client.createPod(manifest));
    expect(error.reason).toBe('Forbidden');
    expect(error.message).toBe('forbidden: netcheck needs `create pods` in namespace team-a');
    expect(error.hint).toMatch(/deploy\/rbac/);
  });

  it('an API server that drops every connection gives a typed error after bounded retries, not a hang', async () => {
    await lab.setFaults({ apiDownAfterRequests: 0 });
    const error = await rejection(client.listPods('team-a', ''));
    expect(error.reason).toBe('Unreachable');
    expect(error.message).toMatch(/^API server http:\/\/127\.0\.0\.1:\d+ \(context .+\) unreachable: /);
  });
});

/**
 * A TCP front for the lab whose first connections misbehave as `faults` says, then forward untouched:
 * retries are observable without timing games.
 */
async function flakyFront(target: string, faults: Array<'reset' | '503' | '429'>): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const fault = faults[count++];
    if (fault === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    if (fault === '503' || fault === '429') {
      socket.once('data', () => {
        const status = fault === '503' ? '503 Service Unavailable' : '429 Too Many Requests';
        const body = JSON.stringify({ kind: 'Status', status: 'Failure', message: 'try later', code: Number(fault) });
        socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nRetry-After: 0\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
      return;
    }
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: frontPort } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${frontPort}`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function kubeconfigFor(server: string, name: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${name}`,
      `clusters: [{name: ${name}, cluster: {server: "${server}"}}]`,
      `users: [{name: ${name}, user: {token: x}}]`,
      `contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]`,
    ].join('\n'),
  );
  return file;
}

describe('retries', () => {
  const cases: Array<{ name: string; faults: Array<'reset' | '503' | '429'> }> = [
    { name: 'connection resets', faults: ['reset', 'reset'] },
    { name: '503 from an overloaded server', faults: ['503', '503'] },
    { name: '429 throttling', faults: ['429'] },
    { name: 'a mix, up to the bound', faults: ['reset', '503', '429'] },
  ];
  it.each(cases)('$name are retried and the request succeeds', async ({ faults }) => {
    const front = await flakyFront(lab.server, faults);
    try {
      const c = await connectCluster({ kubeconfig: kubeconfigFor(front.url, 'flaky'), requestTimeoutMs: 5_000 });
      const pods = await c.listPods('team-a', 'app=web');
      expect(pods.map((p) => p.labels['app'])).toContain('web');
      expect(front.connections()).toBe(faults.length + 1);
    } finally {
      await front.close();
    }
  });

  it('beyond the bound, the last failure is reported, typed', async () => {
    const front = await flakyFront(lab.server, ['503', '503', '503', '503', '503']);
    try {
      const c = await connectCluster({ kubeconfig: kubeconfigFor(front.url, 'overloaded'), requestTimeoutMs: 5_000 });
      const error = await rejection(c.listPods('team-a', ''));
      expect(error.reason).toBe('ServerError');
      expect(error.message).toBe(`the API server ${front.url} failed \`list pods\` in namespace team-a: try later`);
      expect(front.connections()).toBe(4);
    } finally {
      await front.close();
    }
  });
});

describe('watchPods', () => {
  it('follows pods across cut watch streams and reports their deletion', async () => {
    await lab.setFaults({ watchCutAfterEvents: 2 });
    const runId = 'watchcut';
    const names = [0, 1, 2, 3].map((i) => `netcheck-${runId}-p${i}`);
    const seen = new Map<string, PodEvent[]>();
    const stop = new AbortController();
    const allRunning = new Promise<void>((resolve) => {
      const watching = client.watchPods('team-a', runSelector(runId), stop.signal, (e) => {
        seen.set(e.pod.name, [...(seen.get(e.pod.name) ?? []), e]);
        if (names.every((n) => seen.get(n)?.some((ev) => ev.pod.phase === 'Running'))) resolve();
      });
      watching.catch(() => undefined);
    });
    try {
      for (const name of names) {
        await client.createPod(
          buildProbePod({
            runId, namespace: 'team-a', name, labels: {}, deadlineSeconds: 60,
            args: ['-e', 'setTimeout(() => {}, 60000)'], role: 'listener',
          }),
        );
      }
      await allRunning;
      const deleted = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (names.every((n) => seen.get(n)?.some((ev) => ev.type === 'DELETED'))) {
            clearInterval(check);
            resolve();
          }
        }, 50);
      });
      expect(await client.deletePods('team-a', runSelector(runId))).toEqual(names);
      await deleted;
    } finally {
      stop.abort();
      await client.deletePods('team-a', runSelector(runId));
    }
    expect(await client.listPods('team-a', runSelector(runId))).toEqual([]);
  });
});

describe('watchPods after the history is compacted (410 Gone)', () => {
  // A lab that keeps 3 events of history: after each cut, resuming from the last resourceVersion is
  // (almost always) too old, so the watch must relist and still report every change.
  let small: Awaited<ReturnType<typeof startLabWith>>;
  beforeAll(async () => {
    small = await startLabWith({ manifests: [fixtures], faults: { watchCutAfterEvents: 1 } }, { historyLimit: 3 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('relists and reports every pod reaching Running, then gone', async () => {
    const c = await connectCluster({ kubeconfig: small.kubeconfigPath, requestTimeoutMs: 5_000 });
    const runId = 'gone410';
    const names = [0, 1, 2].map((i) => `netcheck-${runId}-p${i}`);
    const phases = new Map<string, string>();
    const stop = new AbortController();
    const watching = c.watchPods('team-b', runSelector(runId), stop.signal, (e) => {
      phases.set(e.pod.name, e.type === 'DELETED' ? 'gone' : e.pod.phase);
    });
    const until = async (predicate: () => boolean): Promise<void> => {
      while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    try {
      for (const name of names) {
        await c.createPod(
          buildProbePod({ runId, namespace: 'team-b', name, labels: {}, deadlineSeconds: 60, args: ['-e', 'setTimeout(() => {}, 60000)'], role: 'listener' }),
        );
      }
      await until(() => names.every((n) => phases.get(n) === 'Running'));
      await c.deletePods('team-b', runSelector(runId));
      await until(() => names.every((n) => phases.get(n) === 'gone'));
    } finally {
      stop.abort();
      await watching;
      await c.deletePods('team-b', runSelector(runId));
    }
  });
});
