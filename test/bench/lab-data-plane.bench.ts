/**
 * The lab data plane's costs: start, pod creation (namespace + veth + process), a full sync (iptables ruleset,
 * routes, DNS records) for a 10-namespace, 80-pod cluster with baseline-style policies, and stop.
 * One JSON line per figure (milliseconds; medians where repeated). Needs root; otherwise prints a skip line.
 */
import { readFileSync } from 'node:fs';
import type { ClusterSnapshot, NetworkPolicy, PodInfo } from '../../src/policy/types.js';
import { createDataPlane } from '../lab/net/data-plane.js';
import type { ServiceEndpoints } from '../lab/types.js';

const NAMESPACES = 10;
const PODS_PER_NAMESPACE = 8;
const SEQUENTIAL_PODS = 10;
const SYNC_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.floor(s.length / 2)] ?? 0).toFixed(1));
}

function emit(figure: string, value: Record<string, number | string>): void {
  console.log(JSON.stringify({ bench: 'lab-data-plane', figure, ...value }));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    emit('skipped', { reason: 'needs root (ip netns, iptables)' });
    return;
  }
  const dp = createDataPlane({ suffix: `b${process.pid}`, nodes: ['n1', 'n2'] });
  let t = performance.now();
  await dp.start();
  emit('start', { ms: Number((performance.now() - t).toFixed(1)) });
  try {
    const dns = await dp.runPod({ uid: 'dns', namespace: 'kube-system', name: 'coredns', node: 'n1', argv: [], env: {}, role: 'dns' }, () => undefined);

    const sleeper = ['node', '-e', 'setInterval(() => {}, 1 << 30)'];
    const sequential: number[] = [];
    for (let i = 0; i < SEQUENTIAL_PODS; i++) {
      t = performance.now();
      await dp.runPod({ uid: `seq-${i}`, namespace: 'bench', name: `seq-${i}`, node: i % 2 === 0 ? 'n1' : 'n2', argv: sleeper, env: {} }, () => undefined);
      sequential.push(performance.now() - t);
    }
    emit('pod-create-sequential', { pods: SEQUENTIAL_PODS, medianMs: median(sequential) });
    await Promise.all(Array.from({ length: SEQUENTIAL_PODS }, (_, i) => dp.removePod(`seq-${i}`)));

    const responder: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      await dp.runPod({ uid: `resp-${i}`, namespace: 'bench', name: `resp-${i}`, node: 'n1', argv: [], env: {}, respondOn: [{ port: 8080, protocol: 'TCP' }] }, () => undefined);
      responder.push(performance.now() - t);
    }
    emit('responder-to-listening', { pods: 5, medianMs: median(responder) });
    await Promise.all(Array.from({ length: 5 }, (_, i) => dp.removePod(`resp-${i}`)));

    const specs = Array.from({ length: NAMESPACES * PODS_PER_NAMESPACE }, (_, i) => {
      const ns = `ns${Math.floor(i / PODS_PER_NAMESPACE)}`;
      return { uid: `p${i}`, namespace: ns, name: `pod${i}`, node: i % 2 === 0 ? 'n1' : 'n2', argv: sleeper, env: {} };
    });
    t = performance.now();
    const handles = await Promise.all(specs.map((s) => dp.runPod(s, () => undefined)));
    emit('pod-create-parallel', { pods: specs.length, totalMs: Number((performance.now() - t).toFixed(1)) });

    const pods: PodInfo[] = specs.map((s, i) => ({ namespace: s.namespace, name: s.name, labels: { app: `app${i % 4}` }, ip: handles[i]!.ip, node: s.node, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }));
    const policies: NetworkPolicy[] = Array.from({ length: NAMESPACES }, (_, n) => [
      { namespace: `ns${n}`, name: 'baseline', podSelector: {}, policyTypes: ['Ingress', 'Egress'] as Array<'Ingress' | 'Egress'>,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: `ns${(n + 1) % NAMESPACES}` } } }, { podSelector: {} }] }],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'kube-system' } } }], ports: [{ port: 53, protocol: 'UDP' as const }] }, { to: [{ podSelector: {} }] }] },
      { namespace: `ns${n}`, name: 'app', podSelector: { matchLabels: { app: 'app0' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }] },
    ]).flat();
    const snapshot: ClusterSnapshot = {
      namespaces: [...Array.from({ length: NAMESPACES }, (_, n) => ({ name: `ns${n}`, labels: { 'kubernetes.io/metadata.name': `ns${n}`, name: `ns${n}` } })), { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system', name: 'kube-system' } }],
      pods,
      services: [],
      nodes: [],
      policies,
    };
    const services: ServiceEndpoints[] = [
      { namespace: 'kube-system', name: 'kube-dns', clusterIP: dp.dnsServiceIP, loadBalancerIPs: [], headless: false, ports: [{ port: 53, protocol: 'UDP', endpoints: [{ ip: dns.ip, port: 53 }] }] },
      ...Array.from({ length: NAMESPACES }, (_, n) => ({
        namespace: `ns${n}`, name: 'svc', clusterIP: `10.96.5.${n + 1}`, loadBalancerIPs: n < 3 ? [`192.168.1.${200 + n}`] : [], headless: false,
        ports: [{ port: 80, protocol: 'TCP' as const, endpoints: pods.filter((p) => p.namespace === `ns${n}`).slice(0, 3).map((p) => ({ ip: p.ip!, port: 8080 })) }],
      })),
    ];
    const syncs: number[] = [];
    for (let i = 0; i < SYNC_RUNS; i++) {
      // Alternate the fault set so each sync really changes the rules (and DNS records on the first).
      t = performance.now();
      await dp.sync({ snapshot, services, faults: i % 2 === 0 ? {} : { dnsDropped: true } });
      syncs.push(performance.now() - t);
    }
    const rules = readFileSync(`/tmp/netcheck-lab-net-b${process.pid}/ruleset.txt`, 'utf8').split('\n').filter((l) => l.startsWith('-A')).length;
    emit('sync', { pods: pods.length, policies: policies.length, services: services.length, rules, medianMs: median(syncs) });
  } finally {
    t = performance.now();
    await dp.stop();
    emit('stop', { ms: Number((performance.now() - t).toFixed(1)) });
  }
}

await main();
