/** Pods from workloads, endpoints from pods, ClusterIPs from the service CIDR — with plain data. */
import { describe, expect, it } from 'vitest';
import { ClusterIPAllocator } from './cluster-ip.js';
import { groupEndpoints } from './endpoints.js';
import type { KubeObject } from './store.js';
import { podsForWorkload } from './workloads.js';

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
    const pods = podsForWorkload({ kind, metadata: { name: 'web', namespace: 'shop' }, spec }, NODES, false);
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
    expect(podsForWorkload({ kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system' }, spec: { replicas: 2, template } }, NODES, true)).toHaveLength(1);
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
