/**
 * The full pod-to-pod matrix of a synthetic cluster: 1,000 pods in 50 namespaces, 500 policies, 2 ports
 * (every ordered pair × port, self pairs included), from snapshot to verdicts (engine build included).
 * Prints the median of several runs as one JSON line.
 */
import { createPolicyEngine } from '../../src/policy/engine.js';
import { NAMESPACE_NAME_LABEL } from '../../src/policy/from-objects.js';
import type { ClusterSnapshot, NetworkPolicy, NetworkPolicyPeer, PodInfo } from '../../src/policy/types.js';

const PODS = 1000;
const NAMESPACES = 50;
const POLICIES = 500;
const PORTS = [80, 'metrics'] as const;
const RUNS = 7;

// Deterministic PRNG (mulberry32): the same cluster on every run and machine.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildCluster(): ClusterSnapshot {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const apps = Array.from({ length: 20 }, (_, i) => `app${i}`);
  const tiers = ['frontend', 'backend', 'data'];
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => {
    const name = `ns${i}`;
    return { name, labels: { [NAMESPACE_NAME_LABEL]: name, team: `team${i % 7}`, env: pick(['prod', 'dev', 'staging']), ...(i % 3 === 0 ? { name } : {}) } };
  });
  const pods: PodInfo[] = Array.from({ length: PODS }, (_, i) => ({
    namespace: `ns${i % NAMESPACES}`,
    name: `pod${i}`,
    labels: { app: pick(apps), tier: pick(tiers), version: `v${i % 3}` },
    ip: `10.${Math.floor(i / 250)}.${i % 250}.${(i * 7) % 250}`,
    ports: [
      { name: 'http', containerPort: pick([80, 8080]), protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
  }));
  const peer = (): NetworkPolicyPeer =>
    pick<NetworkPolicyPeer>([
      { podSelector: { matchLabels: { app: pick(apps) } } },
      { podSelector: { matchLabels: { tier: pick(tiers) } } },
      { namespaceSelector: { matchLabels: { team: `team${Math.floor(r() * 7)}` } } },
      { namespaceSelector: { matchLabels: { name: `ns${Math.floor(r() * NAMESPACES)}` } }, podSelector: { matchLabels: { tier: pick(tiers) } } },
      { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [pick(apps), pick(apps)] }] } },
      { ipBlock: { cidr: '10.0.0.0/8', except: [`10.${Math.floor(r() * 4)}.0.0/16`] } },
    ]);
  const ports = () => pick([undefined, [{ port: 80 }], [{ port: 'http' }], [{ port: 9000, endPort: 9100 }], [{ port: 'metrics' }, { port: 443 }]]);
  const policies: NetworkPolicy[] = Array.from({ length: POLICIES }, (_, i) => {
    const p: NetworkPolicy = {
      namespace: `ns${i % NAMESPACES}`,
      name: `policy${i}`,
      podSelector: i % 10 === 0 ? {} : { matchLabels: { app: pick(apps) } },
      policyTypes: pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']] as Array<Array<'Ingress' | 'Egress'>>),
      ingress: Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
        const pp = ports();
        return { from: [peer(), peer()], ...(pp ? { ports: pp } : {}) };
      }),
      egress: Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
        const pp = ports();
        return { to: [peer()], ...(pp ? { ports: pp } : {}) };
      }),
    };
    return p;
  });
  return { namespaces, pods, services: [], policies, nodes: [] };
}

const cluster = buildCluster();
const times: number[] = [];
let allowed = 0;
for (let run = 0; run < RUNS; run++) {
  const start = process.hrtime.bigint();
  const engine = createPolicyEngine(cluster);
  allowed = 0;
  for (const port of PORTS) {
    const m = engine.computeMatrix(port, 'TCP');
    for (const a of m.allowed) allowed += a;
  }
  times.push(Number(process.hrtime.bigint() - start) / 1e9);
}
times.sort((a, b) => a - b);
const seconds = times[Math.floor(times.length / 2)] as number;
process.stderr.write(`engine-matrix: ${PODS * PODS * PORTS.length} cells, ${allowed} allowed; runs ${times.map((t) => t.toFixed(3)).join(' ')} s\n`);
console.log(JSON.stringify({ bench: 'engine-matrix', pods: PODS, namespaces: NAMESPACES, policies: POLICIES, ports: PORTS.length, seconds: Number(seconds.toFixed(4)) }));
