/**
 * The lab data plane with real namespaces, processes and packets: pods run their commands, cluster DNS
 * answers, policies DROP, kube-proxy-style DNAT works from pods and from the outside host, faults bite.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../../src/policy/types.js';
import type { DataPlaneState, Faults, PodRunHandle, PodRunSpec, ServiceEndpoints } from '../types.js';
import { createDataPlane, listLabNetns, type LabDataPlane } from './data-plane.js';
import { runCommand } from '../../cluster-kit/run-command.js';
import {
  AGENT_PATH,
  DENY_TIMEOUT_MS,
  describeOutcome,
  namespace,
  podInfo,
  policy,
  probeIn,
  responderSpec,
  service,
  sleeperSpec,
  uniqueSuffix,
  dataPlaneSkipReason,
} from './net-fixture.js';

const skip = dataPlaneSkipReason();
if (skip !== undefined) console.log(`skipping lab data plane tests: ${skip}`);

const NODES = ['node-a', 'node-b'];

interface World {
  dp: LabDataPlane;
  ip: Record<string, string>;
  netns: Record<string, string>;
  state: DataPlaneState;
}

describe.skipIf(skip !== undefined)('lab data plane', () => {
  let world: World;
  const logs = new Map<string, string>();
  const collect = (uid: string) => (c: Buffer) => logs.set(uid, (logs.get(uid) ?? '') + c.toString());

  beforeAll(async () => {
    const dp = createDataPlane({ suffix: uniqueSuffix(), nodes: NODES });
    await dp.start();
    const specs: Array<{ spec: PodRunSpec; labels: Record<string, string>; ports?: Array<{ name?: string; containerPort: number; protocol: 'TCP' | 'UDP' }> }> = [
      { spec: { uid: 'kube-system-coredns', namespace: 'kube-system', name: 'coredns', node: 'node-a', argv: ['coredns'], env: {}, role: 'dns' }, labels: { 'k8s-app': 'kube-dns' } },
      {
        spec: responderSpec('shop', 'web', 'node-b', [{ port: 8080, protocol: 'TCP' }, { port: 9000, protocol: 'UDP' }]),
        labels: { app: 'web' },
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 9000, protocol: 'UDP' }],
      },
      { spec: responderSpec('shop', 'db', 'node-a', [{ port: 5432, protocol: 'TCP' }]), labels: { app: 'db' }, ports: [{ containerPort: 5432, protocol: 'TCP' }] },
      { spec: sleeperSpec('shop', 'front', 'node-a'), labels: { app: 'front' } },
      { spec: sleeperSpec('other', 'client', 'node-a'), labels: { app: 'client' } },
      { spec: sleeperSpec('other', 'client-b', 'node-b'), labels: { app: 'client-b' } },
      // A second app=client replica, on the other node: same egress policy, so per-node enforcement shows.
      { spec: sleeperSpec('other', 'client-on-b', 'node-b'), labels: { app: 'client' } },
      { spec: sleeperSpec('other', 'nodns', 'node-a'), labels: { app: 'nodns' } },
    ];
    const handles = await Promise.all(specs.map((s) => dp.runPod(s.spec, collect(s.spec.uid))));
    const ip: Record<string, string> = {};
    const netns: Record<string, string> = {};
    specs.forEach((s, i) => {
      ip[s.spec.name] = handles[i]!.ip;
      netns[s.spec.name] = dp.podNetns(s.spec.uid)!;
    });
    const snapshot: ClusterSnapshot = {
      namespaces: [namespace('kube-system'), namespace('shop', { name: 'shop' }), namespace('other', { name: 'other' })],
      pods: specs.map((s, i) => podInfo({ namespace: s.spec.namespace, name: s.spec.name, labels: s.labels, ip: handles[i]!.ip, node: s.spec.node, ports: s.ports ?? [] })),
      services: [],
      nodes: NODES.map((name) => ({ name, labels: {} })),
      policies: [
        policy({ namespace: 'shop', name: 'db-ingress', podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'front' } } }], ports: [{ port: 5432 }] }] }),
        policy({
          namespace: 'shop',
          name: 'web-ingress',
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [
            { from: [{ namespaceSelector: { matchLabels: { name: 'other' } } }, { podSelector: {} }], ports: [{ port: 'http' }, { port: 9000, protocol: 'UDP' }] },
            { from: [{ ipBlock: { cidr: '172.31.255.0/24' } }], ports: [{ port: 8080 }] },
          ],
        }),
        policy({
          namespace: 'other',
          name: 'client-egress',
          podSelector: { matchLabels: { app: 'client' } },
          policyTypes: ['Egress'],
          egress: [
            { to: [{ namespaceSelector: { matchLabels: { name: 'shop' } } }] },
            { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
          ],
        }),
        // Forgets DNS egress, the classic mistake.
        policy({ namespace: 'other', name: 'nodns-egress', podSelector: { matchLabels: { app: 'nodns' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'shop' } } }] }] }),
      ],
    };
    const services: ServiceEndpoints[] = [
      service('kube-system', 'kube-dns', { clusterIP: dp.dnsServiceIP, ports: [{ port: 53, protocol: 'UDP', endpoints: [{ ip: ip.coredns!, port: 53 }] }, { port: 53, protocol: 'TCP', endpoints: [{ ip: ip.coredns!, port: 53 }] }] }),
      service('shop', 'web', { clusterIP: '10.96.1.10', lb: ['192.168.1.208'], ports: [{ port: 80, endpoints: [{ ip: ip.web!, port: 8080 }] }, { port: 9000, protocol: 'UDP', endpoints: [{ ip: ip.web!, port: 9000 }] }] }),
      service('shop', 'db', { clusterIP: '10.96.1.11', lb: ['192.168.1.200'], ports: [{ port: 5432, endpoints: [{ ip: ip.db!, port: 5432 }] }, { port: 9000, endpoints: [{ ip: ip.db!, port: 5432 }] }] }),
      service('shop', 'empty', { clusterIP: '10.96.1.12', ports: [{ port: 80, endpoints: [] }] }),
      service('shop', 'db-headless', { headless: true, ports: [{ port: 5432, endpoints: [{ ip: ip.db!, port: 5432 }] }] }),
    ];
    netns.outside = dp.outsideHost;
    const state: DataPlaneState = { snapshot, services, faults: {} };
    await dp.sync(state);
    world = { dp, ip, netns, state };
  });

  afterAll(async () => {
    await world?.dp.stop();
  });

  /** Sync the world plus one extra pod (which releases that pod's process). */
  async function syncWithPod(pod: { namespace: string; name: string; ip: string; node: string; labels?: Record<string, string> }): Promise<void> {
    await world.dp.sync({ ...world.state, snapshot: { ...world.state.snapshot, pods: [...world.state.snapshot.pods, podInfo(pod)] } });
  }

  async function withFaults<T>(faults: Faults, body: () => Promise<T>, services?: ServiceEndpoints[]): Promise<T> {
    await world.dp.sync({ ...world.state, faults, services: services ?? world.state.services });
    try {
      return await body();
    } finally {
      await world.dp.sync(world.state);
    }
  }

  it('runs a pod command inside its own namespace; stdout and stderr are its log; the exit code is reported', async () => {
    const cases: Array<{ argv: string[]; code: number; log: (ip: string) => RegExp[] }> = [
      {
        argv: ['node', '-e', "console.log(require('os').networkInterfaces().eth0[0].address); console.error('to-stderr'); process.exit(3)"],
        code: 3,
        log: (ip) => [new RegExp(`^${ip.replace(/\./g, '\\.')}$`, 'm'), /to-stderr/],
      },
      {
        argv: ['cat', '/etc/resolv.conf'],
        code: 0,
        log: () => [new RegExp(`^nameserver ${world.dp.dnsServiceIP.replace(/\./g, '\\.')}$`, 'm'), /^search shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m, /ndots:5/],
      },
      { argv: ['ip', '-o', 'route'], code: 0, log: () => [/^default via 169\.254\.1\.1 dev eth0/m] },
    ];
    for (const [i, c] of cases.entries()) {
      const uid = `cmd-${i}`;
      const handle: PodRunHandle = await world.dp.runPod({ uid, namespace: 'shop', name: `cmd-${i}`, node: 'node-b', argv: c.argv, env: {} }, collect(uid));
      expect(handle.ip).toMatch(/^10\.244\.1\.\d+$/);
      await syncWithPod({ namespace: 'shop', name: `cmd-${i}`, ip: handle.ip, node: 'node-b' });
      expect(await handle.exited).toEqual({ code: c.code, signal: null });
      for (const re of c.log(handle.ip)) expect(logs.get(uid)).toMatch(re);
      await world.dp.removePod(uid);
    }
  });

  it('cluster DNS answers service names (ClusterIP, headless, kubernetes.default, search list) and NXDOMAIN otherwise', async () => {
    const cases: Array<{ from: string; name: string; expected: string }> = [
      { from: 'client', name: 'web.shop', expected: 'resolved:10.96.1.10' },
      { from: 'client', name: 'web.shop.svc.cluster.local', expected: 'resolved:10.96.1.10' },
      { from: 'client', name: 'db-headless.shop', expected: `resolved:${world.ip.db}` },
      { from: 'client', name: 'kubernetes.default', expected: 'resolved:10.96.0.1' },
      { from: 'client', name: 'nope.shop', expected: 'dns-nxdomain' },
      { from: 'front', name: 'web', expected: 'resolved:10.96.1.10' },
      // Egress policy without a DNS rule: the query is dropped.
      { from: 'nodns', name: 'web.shop', expected: 'dns-timeout' },
    ];
    const observed = await Promise.all(
      cases.map(async (c) => {
        const out = await probeIn(world.netns[c.from]!, [{ id: 'q', kind: 'dns', target: c.name, timeoutMs: 800 }]);
        return { ...c, expected: describeOutcome(out.q) };
      }),
    );
    expect(observed).toEqual(cases);
  });

  it('re-reads DNS records on sync', async () => {
    const extra = service('shop', 'late', { clusterIP: '10.96.1.99', ports: [{ port: 80, endpoints: [] }] });
    await world.dp.sync({ ...world.state, services: [...world.state.services, extra] });
    try {
      const out = await probeIn(world.netns.client!, [{ id: 'q', kind: 'dns', target: 'late.shop', timeoutMs: 800 }]);
      expect(describeOutcome(out.q)).toBe('resolved:10.96.1.99');
    } finally {
      await world.dp.sync(world.state);
    }
    const out = await probeIn(world.netns.client!, [{ id: 'q', kind: 'dns', target: 'late.shop', timeoutMs: 800 }]);
    expect(describeOutcome(out.q)).toBe('dns-nxdomain');
  });

  it('enforces policies with DROP, refuses closed ports, and DNATs ClusterIPs and LoadBalancer IPs from pods', async () => {
    const t = DENY_TIMEOUT_MS;
    const cases: Array<{ from: string; id: string; check: () => Parameters<typeof probeIn>[1][number]; expected: string }> = [
      { from: 'front', id: 'allowed pod → pod', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5432 }), expected: 'connected' },
      { from: 'client', id: 'denied by ingress (other ns → db)', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5432, timeoutMs: t }), expected: 'timeout' },
      { from: 'front', id: 'denied port on an isolated pod', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5433, timeoutMs: t }), expected: 'timeout' },
      { from: 'client', id: 'closed port on an allowed pod', check: () => ({ id: '', kind: 'tcp', target: world.ip.front!, port: 8080 }), expected: 'refused' },
      { from: 'client', id: 'ClusterIP → named targetPort', check: () => ({ id: '', kind: 'http', target: '10.96.1.10', port: 80, http: { path: '/' } }), expected: 'http:200' },
      { from: 'client', id: 'service by name', check: () => ({ id: '', kind: 'http', target: 'web.shop', port: 80, http: { path: '/' } }), expected: 'http:200' },
      { from: 'client', id: 'LoadBalancer IP from a pod', check: () => ({ id: '', kind: 'http', target: '192.168.1.208', port: 80, http: { path: '/' } }), expected: 'http:200' },
      { from: 'client', id: 'service without endpoints', check: () => ({ id: '', kind: 'tcp', target: '10.96.1.12', port: 80 }), expected: 'refused' },
      { from: 'client', id: 'UDP echo through policy', check: () => ({ id: '', kind: 'udp', target: world.ip.web!, port: 9000 }), expected: 'connected' },
      { from: 'client', id: 'UDP through a ClusterIP', check: () => ({ id: '', kind: 'udp', target: '10.96.1.10', port: 9000 }), expected: 'connected' },
      { from: 'client', id: 'policy applies after DNAT', check: () => ({ id: '', kind: 'tcp', target: '10.96.1.11', port: 5432, timeoutMs: t }), expected: 'timeout' },
      { from: 'client', id: 'egress isolated: to kube-system non-DNS port', check: () => ({ id: '', kind: 'tcp', target: world.ip.coredns!, port: 80, timeoutMs: t }), expected: 'timeout' },
      { from: 'nodns', id: 'egress allowed to shop', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8080 }), expected: 'connected' },
      { from: 'client-b', id: 'unisolated egress, other node', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8080 }), expected: 'connected' },
      { from: 'client-b', id: 'web ingress denies a port it did not list', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8081, timeoutMs: t }), expected: 'timeout' },
      { from: 'web', id: 'hairpin: a pod reaches itself through its Service', check: () => ({ id: '', kind: 'http', target: '10.96.1.10', port: 80, http: { path: '/' } }), expected: 'http:200' },
      { from: 'client', id: 'nothing leaves the lab', check: () => ({ id: '', kind: 'tcp', target: '10.123.0.1', port: 80, timeoutMs: t }), expected: 'unreachable' },
    ];
    const observed = await Promise.all(
      cases.map(async (c) => {
        const out = await probeIn(world.netns[c.from]!, [{ ...c.check(), id: 'c' }]);
        return { id: c.id, observed: describeOutcome(out.c) };
      }),
    );
    expect(observed).toEqual(cases.map((c) => ({ id: c.id, observed: c.expected })));
  });

  it('serves the HTTP responder body naming the pod', async () => {
    const { stdout } = await runCommand(['ip', 'netns', 'exec', world.netns.client!, process.execPath, '-e', `require('http').get('http://10.96.1.10/', (r) => r.pipe(process.stdout))`]);
    expect(stdout).toContain('shop/web');
  });

  it('lets the outside host reach LoadBalancer IPs only, policed by ingress rules as an ipBlock source', async () => {
    const out = await probeIn(world.dp.outsideHost, [
      { id: 'lb', kind: 'http', target: '192.168.1.208', port: 80, http: { path: '/' } },
      { id: 'lb-denied', kind: 'tcp', target: '192.168.1.200', port: 9000, timeoutMs: DENY_TIMEOUT_MS },
      { id: 'pod', kind: 'tcp', target: world.ip.web!, port: 8080, timeoutMs: DENY_TIMEOUT_MS },
      { id: 'clusterip', kind: 'tcp', target: '10.96.1.10', port: 80, timeoutMs: DENY_TIMEOUT_MS },
      { id: 'dns', kind: 'dns', target: 'web.shop.svc.cluster.local', timeoutMs: DENY_TIMEOUT_MS },
    ]);
    expect(describeOutcome(out.lb)).toBe('http:200');
    expect(describeOutcome(out['lb-denied'])).toBe('timeout');
    // No route at all toward pods and ClusterIPs.
    expect(describeOutcome(out.pod)).toBe('unreachable');
    expect(describeOutcome(out.clusterip)).toBe('unreachable');
    // No DNS server answers there: a `dns` check rejected at the port is `refused` (never "resolved").
    expect(describeOutcome(out.dns)).toMatch(/^(dns-|refused)/);
  });

  it.each<{ name: string; faults: Faults; emptyService?: string; cases: Array<{ from: string; check: () => Parameters<typeof probeIn>[1][number]; expected: string }> }>([
    {
      name: 'cniIgnoresPolicies: every flow passes',
      faults: { cniIgnoresPolicies: true },
      cases: [
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5432 }), expected: 'connected' },
        { from: 'nodns', check: () => ({ id: '', kind: 'dns', target: 'web.shop', timeoutMs: 800 }), expected: 'resolved:10.96.1.10' },
      ],
    },
    {
      name: 'cniIgnoresPoliciesOnNodes: pods on that node are not policed either way, pods elsewhere still are (mid-migration)',
      faults: { cniIgnoresPoliciesOnNodes: ['node-b'] },
      cases: [
        // app=client egress denies coredns:80: the replica on node-b gets through (nothing listens), the one on node-a does not.
        { from: 'client-on-b', check: () => ({ id: '', kind: 'tcp', target: world.ip.coredns!, port: 80, timeoutMs: DENY_TIMEOUT_MS }), expected: 'refused' },
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.coredns!, port: 80, timeoutMs: DENY_TIMEOUT_MS }), expected: 'timeout' },
        // db (node-a) still polices its ingress, whatever node the client is on.
        { from: 'client-on-b', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5432, timeoutMs: DENY_TIMEOUT_MS }), expected: 'timeout' },
        // web (node-b) no longer polices its ingress: a port it did not list answers.
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8081, timeoutMs: DENY_TIMEOUT_MS }), expected: 'refused' },
      ],
    },
    {
      name: 'brokenNode: that node’s pods lose all traffic, the other node is fine',
      faults: { brokenNode: 'node-b' },
      cases: [
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8080, timeoutMs: DENY_TIMEOUT_MS }), expected: 'timeout' },
        { from: 'client-b', check: () => ({ id: '', kind: 'tcp', target: world.ip.front!, port: 8080, timeoutMs: DENY_TIMEOUT_MS }), expected: 'timeout' },
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.front!, port: 8080 }), expected: 'refused' },
      ],
    },
    {
      name: 'dnsDropped: queries time out, other traffic flows',
      faults: { dnsDropped: true },
      cases: [
        { from: 'client', check: () => ({ id: '', kind: 'dns', target: 'web.shop', timeoutMs: DENY_TIMEOUT_MS }), expected: 'dns-timeout' },
        { from: 'client', check: () => ({ id: '', kind: 'dns', target: 'web.shop', protocol: 'TCP', timeoutMs: DENY_TIMEOUT_MS }), expected: 'dns-timeout' },
        { from: 'front', check: () => ({ id: '', kind: 'tcp', target: world.ip.db!, port: 5432 }), expected: 'connected' },
      ],
    },
    {
      name: 'a service without endpoints (servicesWithoutEndpoints arrives as empty endpoints): refused, like kube-proxy',
      faults: { servicesWithoutEndpoints: ['shop/web'] },
      emptyService: 'shop/web',
      cases: [
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: '10.96.1.10', port: 80 }), expected: 'refused' },
        { from: 'outside', check: () => ({ id: '', kind: 'tcp', target: '192.168.1.208', port: 80 }), expected: 'refused' },
        { from: 'client', check: () => ({ id: '', kind: 'tcp', target: world.ip.web!, port: 8080 }), expected: 'connected' },
      ],
    },
  ])('fault $name', async ({ faults, emptyService, cases }) => {
    const services = world.state.services.map((s) =>
      `${s.namespace}/${s.name}` === emptyService ? { ...s, ports: s.ports.map((p) => ({ ...p, endpoints: [] })) } : s,
    );
    const observed = await withFaults(
      faults,
      () => Promise.all(cases.map(async (c) => describeOutcome((await probeIn(world.netns[c.from]!, [{ ...c.check(), id: 'c' }])).c))),
      services,
    );
    expect(observed).toEqual(cases.map((c) => c.expected));
    // The fault is gone after the next sync.
    const after = await probeIn(world.netns.client!, [{ id: 'c', kind: 'tcp', target: world.ip.db!, port: 5432, timeoutMs: DENY_TIMEOUT_MS }]);
    expect(describeOutcome(after.c)).toBe('timeout');
  });

  it('starts a pod’s process only once a sync has programmed its policy, so its first packet meets it', async () => {
    const uid = 'gated-front';
    const plan = { retries: 0, checks: [{ id: 'db', kind: 'tcp', target: world.ip.db, port: 5432, timeoutMs: 1000 }] };
    const handle = await world.dp.runPod({ uid, namespace: 'shop', name: 'front2', node: 'node-b', argv: ['node', AGENT_PATH, 'run', JSON.stringify(plan)], env: {} }, collect(uid));
    // Without the gate the agent would race the sync: db admits app=front by IP, and this IP is not in any rule yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.get(uid)).toBeUndefined();
    await syncWithPod({ namespace: 'shop', name: 'front2', ip: handle.ip, node: 'node-b', labels: { app: 'front' } });
    expect(await handle.exited).toEqual({ code: 0, signal: null });
    expect(logs.get(uid)).toMatch(/"id":"db","outcome":\{"kind":"connected"\}/);
    await world.dp.removePod(uid);
  });

  it('removing a pod that still waits for its policy: it never runs', async () => {
    const spec = sleeperSpec('shop', 'never', 'node-a');
    const handle = await world.dp.runPod(spec, () => undefined);
    const netns = world.dp.podNetns(spec.uid)!;
    await world.dp.removePod(spec.uid);
    expect(await handle.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await listLabNetns()).not.toContain(netns);
  });

  it('removePod kills the process group and removes the namespace and /etc/netns entry; idempotent', async () => {
    const spec = sleeperSpec('shop', 'doomed', 'node-a');
    const handle = await world.dp.runPod(spec, () => undefined);
    await syncWithPod({ namespace: 'shop', name: 'doomed', ip: handle.ip, node: 'node-a' });
    const netns = world.dp.podNetns(spec.uid)!;
    expect(await listLabNetns()).toContain(netns);
    expect(existsSync(`/etc/netns/${netns}`)).toBe(true);
    await world.dp.removePod(spec.uid);
    await world.dp.removePod(spec.uid);
    const exit = await handle.exited;
    expect(exit.signal).toBe('SIGTERM');
    expect(await listLabNetns()).not.toContain(netns);
    expect(existsSync(`/etc/netns/${netns}`)).toBe(false);
    expect(world.dp.podNetns(spec.uid)).toBeUndefined();
  });
});
