/** Pods from workloads, endpoints from pods, ClusterIPs from the service CIDR — with plain data. */
import { describe, expect, it } from 'vitest';
import { ClusterIPAllocator } from './cluster-ip.js';
import type { ServiceEndpoints } from '../types.js';
import { groupEndpoints, servicesNotProgrammed } from './endpoints.js';
import type { KubeObject } from './store.js';
import { podsForWorkload, replicaSetForDeployment, workloadStatus } from './workloads.js';

const NODES = ['lab-node-a', 'lab-node-b'];
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] } };

describe('podsForWorkload', () => {
  const cases: Array<{ kind: string; spec: Record<string, unknown>; names: RegExp; count: number }> = [
    { kind: 'Deployment', spec: { replicas: 2, template }, names: /^web-[a-z0-9]{10}-[a-z0-9]{5}$/, count: 2 },
    { kind: 'Deployment', spec: { replicas: 50, template }, names: /^web-/, count: 3 },
    { kind: 'Deployment', spec: { replicas: 0, template }, names: /^web-/, count: 0 },
    { kind: 'StatefulSet', spec: { replicas: 2, template }, names: /^web-[01]$/, count: 2 },
    { kind: 'DaemonSet', spec: { template }, names: /^web-[a-z0-9]{5}$/, count: 2 },
    { kind: 'Job', spec: { template }, names: /^web-[a-z0-9]{5}$/, count: 1 },
  ];
  it.each(cases)('$kind $spec.replicas → $count pods', ({ kind, spec, names, count }) => {
    const workload = { kind, metadata: { name: 'web', namespace: 'shop' }, spec };
    const pods = podsForWorkload(kind === 'Deployment' ? replicaSetForDeployment(workload) : workload, NODES, false);
    expect(pods).toHaveLength(count);
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(names);
      expect(pod.metadata.namespace).toBe('shop');
      expect(pod.metadata.labels!.app).toBe('web');
      expect(pod.spec.containers[0].ports[0].containerPort).toBe(8080);
    }
    if (kind === 'DaemonSet') expect(pods.map((p) => p.spec.nodeName)).toEqual(NODES);
  });

  it('keeps a DNS workload to one replica', () => {
    const rs = replicaSetForDeployment({ kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system' }, spec: { replicas: 2, template } });
    expect(podsForWorkload(rs, NODES, true)).toHaveLength(1);
  });

  it('a Deployment\'s ReplicaSet is <name>-<pod-template-hash>, owned by the Deployment; its pods are owned by it', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', uid: 'd-uid' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template } };
    const rs = replicaSetForDeployment(deployment);
    const hash = rs.metadata.labels!['pod-template-hash']!;
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true, blockOwnerDeletion: true }]);
    const [pod] = podsForWorkload({ ...rs, metadata: { ...rs.metadata, uid: 'rs-uid' } }, NODES, false);
    expect(pod!.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(pod!.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${hash}`, uid: 'rs-uid', controller: true, blockOwnerDeletion: true }]);
  });

  it('a Job\'s pods are owned by batch/v1 Job and carry its controller-uid', () => {
    const [pod] = podsForWorkload({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'train', namespace: 'ml', uid: 'j-uid' }, spec: { template } }, NODES, false);
    expect(pod!.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: 'j-uid', controller: true, blockOwnerDeletion: true }]);
    expect(pod!.metadata.labels).toMatchObject({ 'job-name': 'train', 'controller-uid': 'j-uid' });
  });
});

describe('workloadStatus', () => {
  const podWith = (phase: string, ready: boolean): KubeObject => pod(`p-${phase}-${String(ready)}`, {}, '10.244.0.9', ready, [], 'shop');
  const workload = (kind: string, spec: Record<string, unknown> = {}): KubeObject =>
    ({ apiVersion: 'apps/v1', kind, metadata: { name: 'w', namespace: 'shop', uid: 'u', resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' }, spec }) as KubeObject;
  const cases: Array<{ kind: string; spec?: Record<string, unknown>; pods: KubeObject[]; expected: Record<string, unknown> }> = [
    { kind: 'Deployment', spec: { replicas: 2 }, pods: [podWith('Running', true), podWith('Running', false)], expected: { replicas: 2, readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 1 } },
    { kind: 'Deployment', spec: { replicas: 1 }, pods: [], expected: { conditions: [expect.objectContaining({ type: 'Available', status: 'False' })] } },
    { kind: 'StatefulSet', pods: [podWith('Running', true)], expected: { replicas: 1, readyReplicas: 1 } },
    { kind: 'DaemonSet', pods: [podWith('Running', true)], expected: { desiredNumberScheduled: 2, currentNumberScheduled: 1, numberReady: 1, numberUnavailable: 1 } },
    { kind: 'ReplicaSet', pods: [], expected: { replicas: 0 } },
    { kind: 'Job', pods: [podWith('Running', true)], expected: { active: 1, ready: 1, startTime: '2026-01-01T00:00:00Z' } },
  ];
  it.each(cases)('$kind with $pods.length pods', ({ kind, spec, pods, expected }) => {
    const status = workloadStatus(workload(kind, spec), pods, NODES.length);
    expect(status).toMatchObject(expected);
    if (kind === 'Deployment' && pods.length === 0) expect(status).not.toHaveProperty('readyReplicas');
  });

  it('a Job whose pod succeeded is Complete', () => {
    const done = podWith('Succeeded', false);
    done.status.phase = 'Succeeded';
    expect(workloadStatus(workload('Job'), [done], 2)).toMatchObject({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] });
  });
});

function pod(name: string, labels: Record<string, string>, ip: string, ready: boolean, ports: Array<{ name?: string; containerPort: number }>, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, uid: name, resourceVersion: '1', creationTimestamp: '' },
    spec: { nodeName: 'lab-node-a', containers: [{ name: 'c', ports }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

describe('groupEndpoints', () => {
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 's', resourceVersion: '1', creationTimestamp: '' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  };
  const pods = [
    pod('a', { app: 'web' }, '10.244.0.2', true, [{ name: 'http', containerPort: 8080 }]),
    pod('b', { app: 'web' }, '10.244.0.3', true, [{ name: 'http', containerPort: 9090 }]),
    pod('c', { app: 'web' }, '10.244.0.4', false, [{ name: 'http', containerPort: 8080 }]),
    pod('d', { app: 'db' }, '10.244.0.5', true, [{ name: 'http', containerPort: 8080 }]),
    pod('e', { app: 'web' }, '10.244.0.6', true, [{ name: 'http', containerPort: 8080 }], 'elsewhere'),
  ];

  it('resolves named target ports per pod and groups pods by the result, ready apart from not ready', () => {
    const groups = groupEndpoints(svc, pods, []);
    const summary = groups.map((g) => ({ port: g.ports[0]!.port, ready: g.ready.map((p) => p.metadata.name), notReady: g.notReady.map((p) => p.metadata.name) }));
    expect(summary).toEqual([
      { port: 8080, ready: ['a'], notReady: ['c'] },
      { port: 9090, ready: ['b'], notReady: [] },
    ]);
  });

  const synced = (ips: string[]): ServiceEndpoints[] => [
    { namespace: 'shop', name: 'web', loadBalancerIPs: [], headless: false, ports: [{ port: 80, protocol: 'TCP', endpoints: ips.map((ip) => ({ ip, port: 8080 })) }] },
  ];
  it.each<{ why: string; synced: ServiceEndpoints[] | undefined; withheld: string[]; expected: string[] }>([
    { why: 'nothing synced yet', synced: undefined, withheld: [], expected: ['shop/web'] },
    { why: 'a running pod missing (not-ready c counts: no gate holds it)', synced: synced(['10.244.0.2', '10.244.0.3']), withheld: [], expected: ['shop/web'] },
    { why: 'every running pod programmed', synced: synced(['10.244.0.2', '10.244.0.3', '10.244.0.4']), withheld: [], expected: [] },
    { why: 'withheld by the fault: nothing to wait for', synced: undefined, withheld: ['shop/web'], expected: [] },
  ])('servicesNotProgrammed: $why', ({ synced: state, withheld, expected }) => {
    expect(servicesNotProgrammed([svc], pods, withheld, state)).toEqual(expected);
  });

  it('publishes nothing for a withheld service (the servicesWithoutEndpoints fault)', () => {
    expect(groupEndpoints(svc, pods, ['shop/web'])).toEqual([]);
  });
});

describe('ClusterIPAllocator', () => {
  it('allocates in 10.96.0.0/16, honours requests, refuses duplicates and foreign ranges', () => {
    const allocator = new ClusterIPAllocator();
    allocator.reserve('10.96.0.1');
    expect(allocator.allocate(undefined, 'ns/a')).toBe('10.96.0.2');
    expect(allocator.allocate('10.96.5.5', 'ns/b')).toBe('10.96.5.5');
    expect(() => allocator.allocate('10.96.5.5', 'ns/c')).toThrow(/already allocated/);
    expect(() => allocator.allocate('192.168.1.1', 'ns/d')).toThrow(/not in the valid range/);
    allocator.release('10.96.5.5');
    expect(allocator.allocate('10.96.5.5', 'ns/e')).toBe('10.96.5.5');
  });
});
