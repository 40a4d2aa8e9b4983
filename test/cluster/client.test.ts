/**
 * netcheck's API client at its seam, against a scripted double of the API (api-double.ts): what tests the client
 * itself rather than Kubernetes — retries of resets, 503 and 429, a server that drops every connection, watch
 * streams cut after N events, 410 Gone in the stream. No root, no cluster: these run anywhere. What the client
 * reads from a real API server (inventory, RBAC, workloads, typed 403s) is tested on the real cluster in
 * test/e2e/cluster-layer.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient, PodEvent } from '../../src/cluster/types.js';
import { buildProbePod, runSelector } from '../../src/probe/pod-spec.js';
import { startApiDouble, type ApiDouble, type RequestFault } from './api-double.js';
import { rejection } from './cluster-error.js';

const tmp = mkdtempSync(join(tmpdir(), 'netcheck-client-test-'));
let api: ApiDouble;
let client: ClusterClient;

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

beforeAll(async () => {
  api = await startApiDouble();
  client = await connectCluster({ kubeconfig: kubeconfigFor(api.url, 'double'), requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  api.script({ failNext: [], downAfterRequests: undefined, watchCutAfterEvents: undefined });
});

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A pod that only has to exist: the double runs it at once. */
const pod = (runId: string, namespace: string, name: string) =>
  buildProbePod({ runId, namespace, name, labels: {}, deadlineSeconds: 60, args: ['-e', 'setTimeout(() => {}, 60000)'], role: 'listener' });

const until = async (predicate: () => boolean): Promise<void> => {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('connectCluster', () => {
  it('reads server and context from the kubeconfig', () => {
    expect(client.server).toBe(api.url);
    expect(client.context).toBe('double');
  });

  it('an unknown --context lists the available ones', async () => {
    const error = await connectCluster({ kubeconfig: kubeconfigFor(api.url, 'double'), context: 'nope' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^--context nope: kubeconfig \S+ defines no context of that name$/);
    expect((error as { hint?: string }).hint).toBe('available contexts: double; pass --context NAME');
  });

  it('an unreachable API server is one typed line naming URL and context', async () => {
    const port = await closedPort();
    const gone = await connectCluster({ kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`, 'gone'), requestTimeoutMs: 2_000 });
    const error = await rejection(gone.inventory());
    expect(error.reason).toBe('Unreachable');
    expect(error.message).toBe(`API server http://127.0.0.1:${port} (context gone) unreachable: ECONNREFUSED`);
  });

  it('an API server that drops every connection gives a typed error after bounded retries, not a hang', async () => {
    api.script({ downAfterRequests: 0 });
    const before = api.requests();
    const error = await rejection(client.listPods('team-a', ''));
    expect(error.reason).toBe('Unreachable');
    expect(error.message).toMatch(new RegExp(`^API server ${api.url.replaceAll('.', '\\.')} \\(context double\\) unreachable: `));
    expect(api.requests() - before).toBe(4);
  });
});

describe('retries', () => {
  const cases: Array<{ name: string; faults: RequestFault[] }> = [
    { name: 'connection resets', faults: ['reset', 'reset'] },
    { name: '503 from an overloaded server', faults: ['503', '503'] },
    { name: '429 throttling', faults: ['429'] },
    { name: 'a mix, up to the bound', faults: ['reset', '503', '429'] },
  ];
  it.each(cases)('$name are retried and the request succeeds', async ({ faults }) => {
    await client.createPod(pod('retry', 'team-a', `netcheck-retry-p${faults.length}`));
    api.script({ failNext: faults });
    const before = api.requests();
    const pods = await client.listPods('team-a', runSelector('retry'));
    expect(pods.map((p) => p.name)).toContain(`netcheck-retry-p${faults.length}`);
    expect(api.requests() - before).toBe(faults.length + 1);
  });

  it('beyond the bound, the last failure is reported, typed', async () => {
    api.script({ failNext: ['503', '503', '503', '503', '503'] });
    const before = api.requests();
    const error = await rejection(client.listPods('team-a', ''));
    expect(error.reason).toBe('ServerError');
    expect(error.message).toBe(`the API server ${api.url} failed \`list pods\` in namespace team-a: try later`);
    expect(api.requests() - before).toBe(4);
  });
});

describe('watchPods', () => {
  it('follows pods across cut watch streams and reports their deletion', async () => {
    api.script({ watchCutAfterEvents: 2 });
    const runId = 'watchcut';
    const names = [0, 1, 2, 3].map((i) => `netcheck-${runId}-p${i}`);
    const seen = new Map<string, PodEvent[]>();
    const stop = new AbortController();
    const watching = client.watchPods('team-a', runSelector(runId), stop.signal, (e) => {
      seen.set(e.pod.name, [...(seen.get(e.pod.name) ?? []), e]);
    });
    try {
      for (const name of names) await client.createPod(pod(runId, 'team-a', name));
      await until(() => names.every((n) => seen.get(n)?.some((ev) => ev.pod.phase === 'Running')));
      expect(await client.deletePods('team-a', runSelector(runId))).toEqual(names);
      await until(() => names.every((n) => seen.get(n)?.some((ev) => ev.type === 'DELETED')));
    } finally {
      stop.abort();
      await watching;
    }
    expect(await client.listPods('team-a', runSelector(runId))).toEqual([]);
  });
});

describe('watchPods after the history is compacted (410 Gone)', () => {
  // A double that keeps 3 events of history and cuts every stream after one: resuming from the last
  // resourceVersion is then too old (in-stream 410), so the watch must relist and still report every change.
  let small: ApiDouble;
  beforeAll(async () => {
    small = await startApiDouble({ historyLimit: 3 });
    small.script({ watchCutAfterEvents: 1 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('relists and reports every pod reaching Running, then gone', async () => {
    const c = await connectCluster({ kubeconfig: kubeconfigFor(small.url, 'small'), requestTimeoutMs: 5_000 });
    const runId = 'gone410';
    const names = [0, 1, 2, 3, 4].map((i) => `netcheck-${runId}-p${i}`);
    const phases = new Map<string, string>();
    const stop = new AbortController();
    const watching = c.watchPods('team-b', runSelector(runId), stop.signal, (e) => {
      phases.set(e.pod.name, e.type === 'DELETED' ? 'gone' : e.pod.phase);
    });
    try {
      for (const name of names) await c.createPod(pod(runId, 'team-b', name));
      await until(() => names.every((n) => phases.get(n) === 'Running'));
      await c.deletePods('team-b', runSelector(runId));
      await until(() => names.every((n) => phases.get(n) === 'gone'));
    } finally {
      stop.abort();
      await watching;
    }
    // The resumes really were too old: the changes above arrived through relists.
    expect(small.expired()).toBeGreaterThan(0);
  });
});
