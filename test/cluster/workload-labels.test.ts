/**
 * getWorkloadLabels reads the workload object itself (the lab serves apps/v1 and batch/v1), and falls back
 * to a pod the workload owns only when the object is not readable. Each case makes the other path impossible:
 * a workload without pods, `list pods` forbidden, or `get <workload>` forbidden.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { ClusterError } from '../../src/model/errors.js';
import { useFakeLab } from '../lab/lab-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'netcheck-workload-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const template = (labels: string): string => `
  template:
    metadata:
      labels: ${labels}
    spec:
      containers:
        - { name: c, image: nginx:1.27, ports: [{ containerPort: 8080 }] }`;

writeFileSync(
  join(dir, 'shop.yaml'),
  `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: idle, namespace: shop }
spec:
  replicas: 0
  selector: { matchLabels: { app: idle } }${template('{ app: idle, tier: batch }')}
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }${template('{ app: web, tier: frontend }')}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: shop }
spec:
  serviceName: db
  selector: { matchLabels: { app: db } }${template('{ app: db }')}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: shop }
spec:
  selector: { matchLabels: { app: agent } }${template('{ app: agent }')}
---
apiVersion: batch/v1
kind: Job
metadata: { name: train, namespace: shop }
spec:${template('{ app: train }')}
`,
);

const getLab = useFakeLab({ manifests: [dir] });
let client: ClusterClient;

beforeAll(async () => {
  client = await connectCluster({ kubeconfig: getLab().lab.kubeconfigPath, requestTimeoutMs: 5_000 });
});

afterEach(async () => {
  await getLab().lab.setFaults({ forbid: [] });
});

describe('getWorkloadLabels reads the workload object', () => {
  it('a Deployment with no pods (nothing to fall back on)', async () => {
    expect(await client.listPods('shop', 'app=idle')).toEqual([]);
    expect(await client.getWorkloadLabels('shop', 'deployment', 'idle')).toEqual({ app: 'idle', tier: 'batch' });
  });

  it.each([
    ['deployment', 'web', { app: 'web', tier: 'frontend' }],
    ['statefulset', 'db', { app: 'db' }],
    ['daemonset', 'agent', { app: 'agent' }],
    ['job', 'train', { app: 'train' }],
  ] as const)('%s/%s with `list pods` forbidden', async (kind, name, labels) => {
    await getLab().lab.setFaults({ forbid: [{ verb: 'list', resource: 'pods' }] });
    expect(await client.getWorkloadLabels('shop', kind, name)).toEqual(labels);
  });
});

describe('getWorkloadLabels falls back to an owned pod', () => {
  it.each([
    ['deployment', 'deployments', 'web', { app: 'web', tier: 'frontend' }],
    ['statefulset', 'statefulsets', 'db', { app: 'db' }],
    ['job', 'jobs', 'train', { app: 'train' }],
  ] as const)('%s/%s with `get %s` forbidden, without controller labels', async (kind, resource, name, labels) => {
    await getLab().lab.setFaults({ forbid: [{ verb: 'get', resource }] });
    expect(await client.getWorkloadLabels('shop', kind, name)).toEqual(labels);
  });

  it('neither path readable: the Forbidden error names the workload resource', async () => {
    await getLab().lab.setFaults({ forbid: [{ verb: 'get', resource: 'deployments' }, { verb: 'list', resource: 'pods' }] });
    const error = await client.getWorkloadLabels('shop', 'deployment', 'web').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect(error).toMatchObject({ reason: 'Forbidden' });
    expect((error as ClusterError).message).toContain('deployments');
  });
});
