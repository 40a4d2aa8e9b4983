/**
 * The https path (the API double in client.test.ts speaks plain http): CA verification from the kubeconfig, bearer tokens,
 * insecure-skip-tls-verify, and the typed errors when they do not fit. The server is a minimal
 * https endpoint; the client under test is the real one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import { ClusterError } from '../../src/model/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'netcheck-tls-test-'));
let server: Server;
let url: string;
let caData: string;
const seenAuth: string[] = [];

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=netcheck-test-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  caData = cert.toString('base64');
  server = createServer({ cert, key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
    seenAuth.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== 'Bearer right-token') {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'Unauthorized' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, status: { phase: 'Running' } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, cluster: string, token: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${name}`,
    `clusters: [{name: c, cluster: {server: "${url}", ${cluster}}}]`,
    `users: [{name: u, user: {token: ${token}}}]`,
    `contexts: [{name: ${name}, context: {cluster: c, user: u}}]`,
  ].join('\n'));
  return file;
}

describe('https API servers', () => {
  const cases: Array<{ name: string; context: string; cluster: () => string; token: string; pods?: string[]; reason?: string; message?: RegExp }> = [
    { name: 'CA from the kubeconfig verifies the server; the token is sent', context: 'ca', cluster: () => `certificate-authority-data: ${caData}`, token: 'right-token', pods: ['p'] },
    { name: 'insecure-skip-tls-verify', context: 'skip-verify', cluster: () => 'insecure-skip-tls-verify: true', token: 'right-token', pods: ['p'] },
    { name: 'unknown CA is a TLS error, not "unreachable"', context: 'unknown-ca', cluster: () => 'insecure-skip-tls-verify: false', token: 'right-token', reason: 'TLS', message: /^API server https:\/\/127\.0\.0\.1:\d+ \(context unknown-ca\): TLS verification failed: / },
    { name: 'a rejected token names server and context', context: 'rejected-token', cluster: () => `certificate-authority-data: ${caData}`, token: 'wrong-token', reason: 'Unauthorized', message: /^unauthorized: https:\/\/127\.0\.0\.1:\d+ \(context rejected-token\) rejected netcheck's credentials$/ },
  ];
  it.each(cases)('$name', async (c) => {
    const client = await connectCluster({ kubeconfig: kubeconfig(c.context, c.cluster(), c.token), requestTimeoutMs: 3_000 });
    const result = await client.listPods('ns', '').then(
      (pods) => pods.map((p) => p.name),
      (error: unknown) => error,
    );
    if (c.pods) {
      expect(result).toEqual(c.pods);
      expect(seenAuth.at(-1)).toBe(`Bearer ${c.token}`);
    } else {
      expect(result).toBeInstanceOf(ClusterError);
      expect((result as ClusterError).reason).toBe(c.reason);
      expect((result as ClusterError).message).toMatch(c.message!);
    }
  });
});

describe('in-cluster service account', () => {
  it('uses the pod\'s token, CA and namespace when no kubeconfig exists', async () => {
    const account = join(dir, 'serviceaccount');
    mkdirSync(account, { recursive: true });
    writeFileSync(join(account, 'token'), 'right-token');
    writeFileSync(join(account, 'ca.crt'), Buffer.from(caData, 'base64'));
    writeFileSync(join(account, 'namespace'), 'financial-ml');
    const emptyHome = join(dir, 'no-home');
    mkdirSync(emptyHome, { recursive: true });
    const { port } = new URL(url);
    const client = await connectCluster({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      home: emptyHome,
      serviceAccountDir: account,
    });
    expect({ server: client.server, context: client.context, namespace: client.namespace }).toEqual({
      server: url,
      context: 'in-cluster',
      namespace: 'financial-ml',
    });
    expect((await client.listPods('ns', '')).map((p) => p.name)).toEqual(['p']);
    expect(seenAuth.at(-1)).toBe('Bearer right-token');
  });
});
