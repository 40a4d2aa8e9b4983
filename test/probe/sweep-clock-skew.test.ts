/**
 * `netcheck cleanup` on a machine whose clock disagrees with the API server's: the sweep reasons on the
 * server's clock (its Date header) and the pods' own server-written creationTimestamp + activeDeadlineSeconds.
 * The HTTP server below stands in for kube-apiserver only to give it a skewed clock, which a test cluster on this machine cannot have.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import { sweepExpiredPods } from '../../src/probe/cleanup.js';

const tmp = mkdtempSync(join(tmpdir(), 'netcheck-skew-test-'));
let server: Server;
let kubeconfig: string;
const deleted: string[] = [];

function pods(serverNow: number): unknown {
  const pod = (name: string, createdSecondsAgo: number, expiresAt: string) => ({
    metadata: {
      name,
      namespace: 'team',
      uid: name,
      creationTimestamp: new Date(serverNow - createdSecondsAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      labels: { 'netcheck.io/run': 'r1' },
      // Written by a creating machine whose clock was wrong: neither value may decide.
      annotations: { 'netcheck.io/expires-at': expiresAt },
    },
    spec: { activeDeadlineSeconds: 120 },
    status: { phase: 'Running' },
  });
  return {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '7' },
    items: [
      // Created 30 s ago (server clock) with a 120 s deadline: its run is live.
      pod('live', 30, '2000-01-01T00:00:00Z'),
      // Created 10 min ago with a 120 s deadline: its run is long over.
      pod('abandoned', 600, '2999-01-01T00:00:00Z'),
    ],
  };
}

beforeAll(async () => {
  // The API server's clock is 15 minutes behind this machine's.
  const skewMs = -15 * 60_000;
  server = createServer((req, res) => {
    const serverNow = Date.now() + skewMs;
    res.sendDate = false;
    res.setHeader('Date', new Date(serverNow).toUTCString());
    res.setHeader('Content-Type', 'application/json');
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/api/v1/namespaces/team/pods') {
      res.end(JSON.stringify(pods(serverNow)));
    } else if (req.method === 'DELETE' && url.pathname.startsWith('/api/v1/namespaces/team/pods/')) {
      deleted.push(url.pathname.split('/').pop() ?? '');
      res.end(JSON.stringify({ kind: 'Status', status: 'Success' }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  kubeconfig = join(tmp, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'skewed', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'skewed', context: { cluster: 'skewed', user: 'u', namespace: 'team' } }],
      'current-context': 'skewed',
    }),
    { mode: 0o600 },
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('cleanup under clock skew', () => {
  it('sweeps the abandoned pod and keeps the live one, by the server clock and the pods\' own deadlines', async () => {
    const client = await connectCluster({ kubeconfig, requestTimeoutMs: 5_000 });
    const removed = await sweepExpiredPods(client, { namespace: 'team', signal: AbortSignal.timeout(10_000) });
    expect(removed.map((p) => [p.name, p.why])).toEqual([['abandoned', 'expired']]);
    expect(deleted).toEqual(['abandoned']);
    const serverNow = client.serverNow?.();
    expect(serverNow).toBeDefined();
    // Within a few seconds of the server's clock, a quarter of an hour from this machine's.
    expect(Math.abs(serverNow!.getTime() - (Date.now() - 15 * 60_000))).toBeLessThan(5_000);
  });
});
