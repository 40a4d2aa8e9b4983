/**
 * Pod equivalence classes (src/policy/classes.ts): on random clusters (seeded, so a failure reproduces), the
 * class-based verdicts equal the pod-by-pod engine's cell for cell, for numbered and named ports, with
 * NetworkPolicies, AdminNetworkPolicies / the baseline, ipBlocks with excepts and admin `networks`.
 */
import { describe, expect, it } from 'vitest';
import { classMatrices, podClasses } from '../../src/policy/classes.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { PortQuery } from '../../src/policy/ports.js';
import type { AdminPolicy, AdminPolicyPeer, ClusterSnapshot, LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PodInfo, Protocol } from '../../src/policy/types.js';
import { rng } from '../bench/scale-cluster.js';
import { ns } from './builders.js';

function randomCluster(seed: number): ClusterSnapshot {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const chance = (p: number): boolean => r() < p;
  const nsNames = ['a', 'b', 'c', 'd'].slice(0, 2 + Math.floor(r() * 3));
  const namespaces = nsNames.map((name) => ns(name, { team: pick(['x', 'y']), ...(chance(0.5) ? { env: pick(['prod', 'dev']) } : {}) }));
  const labelSelector = (): LabelSelector =>
    pick<() => LabelSelector>([
      () => ({}),
      () => ({ matchLabels: { app: pick(['web', 'db', 'api']) } }),
      () => ({ matchLabels: { tier: pick(['front', 'back']) } }),
      () => ({ matchExpressions: [{ key: 'tier', operator: pick(['Exists', 'DoesNotExist'] as const) }] }),
      () => ({ matchExpressions: [{ key: 'app', operator: pick(['In', 'NotIn'] as const), values: [pick(['web', 'db', 'api'])] }] }),
    ])();
  const nsSelector = (): LabelSelector =>
    pick<LabelSelector>([{}, { matchLabels: { team: pick(['x', 'y']) } }, { matchLabels: { env: 'prod' } }, { matchLabels: { 'kubernetes.io/metadata.name': pick(nsNames) } }]);
  const pods: PodInfo[] = Array.from({ length: 10 + Math.floor(r() * 30) }, (_, i) => {
    const labels: Record<string, string> = { app: pick(['web', 'db', 'api']), unread: `u${i}` };
    if (chance(0.6)) labels.tier = pick(['front', 'back']);
    const p: PodInfo = {
      namespace: pick(nsNames),
      name: `p${i}`,
      labels,
      ports: pick([
        [{ name: 'http', containerPort: 80, protocol: 'TCP' as Protocol }],
        [{ name: 'http', containerPort: 8080, protocol: 'TCP' as Protocol }, { name: 'dns', containerPort: 53, protocol: 'UDP' as Protocol }],
        [],
      ]),
    };
    if (chance(0.8)) p.ip = `10.${pick([0, 1])}.${Math.floor(r() * 4)}.${1 + Math.floor(r() * 200)}`;
    return p;
  });
  const peer = (): NetworkPolicyPeer =>
    pick<() => NetworkPolicyPeer>([
      () => ({ podSelector: labelSelector() }),
      () => ({ namespaceSelector: nsSelector() }),
      () => ({ namespaceSelector: nsSelector(), podSelector: labelSelector() }),
      () => ({ ipBlock: { cidr: pick(['10.0.0.0/8', '10.0.0.0/16', '10.1.2.0/24']), except: chance(0.5) ? [pick(['10.0.1.0/24', '10.1.0.0/16'])] : [] } }),
    ])();
  const ports = (): NetworkPolicyPort[] | undefined =>
    pick([undefined, [{ port: 80 }], [{ port: 'http' }], [{ port: 50, endPort: 100 }], [{ port: 53, protocol: 'UDP' as Protocol }], [{ port: 'dns', protocol: 'UDP' as Protocol }]]);
  const policies: NetworkPolicy[] = Array.from({ length: Math.floor(r() * 8) }, (_, i) => {
    const p: NetworkPolicy = { namespace: pick(nsNames), name: `np${i}`, podSelector: labelSelector() };
    if (chance(0.7)) p.policyTypes = pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']] as Array<Array<'Ingress' | 'Egress'>>);
    const rule = () => {
      const pp = ports();
      return { peers: chance(0.2) ? undefined : Array.from({ length: 1 + Math.floor(r() * 2) }, peer), ...(pp ? { ports: pp } : {}) };
    };
    p.ingress = Array.from({ length: Math.floor(r() * 3) }, () => {
      const { peers, ...rest } = rule();
      return peers ? { from: peers, ...rest } : rest;
    });
    p.egress = Array.from({ length: Math.floor(r() * 3) }, () => {
      const { peers, ...rest } = rule();
      return peers ? { to: peers, ...rest } : rest;
    });
    return p;
  });
  const adminPeer = (): AdminPolicyPeer =>
    pick<() => AdminPolicyPeer>([
      () => ({ namespaces: nsSelector() }),
      () => ({ pods: { namespaceSelector: nsSelector(), podSelector: labelSelector() } }),
      () => ({ networks: [pick(['10.0.0.0/16', '10.1.0.0/24'])] }),
    ])();
  const adminPolicies: AdminPolicy[] = chance(0.5)
    ? Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i): AdminPolicy => {
        const baseline = i === 0 && chance(0.4);
        const action = () => (baseline ? pick(['Allow', 'Deny'] as const) : pick(['Allow', 'Deny', 'Pass'] as const));
        return {
          kind: baseline ? 'BaselineAdminNetworkPolicy' : 'AdminNetworkPolicy',
          name: baseline ? 'default' : `anp${i}`,
          ...(baseline ? {} : { priority: i * 10 }),
          subject: chance(0.5) ? { namespaces: nsSelector() } : { pods: { namespaceSelector: nsSelector(), podSelector: labelSelector() } },
          ingress: Array.from({ length: Math.floor(r() * 2) }, () => ({ action: action(), peers: [chance(0.7) ? adminPeer() : { namespaces: nsSelector() }], ...(chance(0.5) ? { ports: [pick([{ portNumber: { protocol: 'TCP' as Protocol, port: 80 } }, { namedPort: 'http' }])] } : {}) })),
          egress: Array.from({ length: Math.floor(r() * 2) }, () => ({ action: action(), peers: [adminPeer()] })),
        };
      })
    : [];
  return { namespaces, pods, services: [], policies, nodes: [], adminPolicies };
}

const QUERIES: Array<[PortQuery, Protocol]> = [[80, 'TCP'], [8080, 'TCP'], ['http', 'TCP'], [53, 'UDP'], ['dns', 'UDP'], [9999, 'TCP']];

describe('pod equivalence classes', () => {
  it('give the pod-by-pod engine verdict in every cell of 200 random clusters', () => {
    let shared = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const cluster = randomCluster(seed);
      const full = createPolicyEngine(cluster);
      const byClass = classMatrices(cluster);
      const n = cluster.pods.length;
      shared += n - byClass.classes.reps.length;
      for (const [query, protocol] of QUERIES) {
        const expected = full.computeMatrix(query, protocol).allowed;
        for (let s = 0; s < n; s++) {
          for (let d = 0; d < n; d++) {
            const want = expected[s * n + d] === 1;
            if (byClass.allowed(s, d, query, protocol) !== want) {
              throw new Error(`seed ${seed}: ${cluster.pods[s]?.name} -> ${cluster.pods[d]?.name} on ${query}/${protocol}: classes say ${!want}, the engine ${want}`);
            }
          }
        }
      }
    }
    // The test only means something if classes actually merged pods.
    expect(shared).toBeGreaterThan(500);
  });

  it('keep apart pods a selector, an ipBlock cell, the ports or the namespace tell apart, and merge the rest', () => {
    const pods: PodInfo[] = [
      { namespace: 'a', name: 'web-1', labels: { app: 'web', hash: '1' }, ip: '10.0.0.1', ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { namespace: 'a', name: 'web-2', labels: { app: 'web', hash: '2' }, ip: '10.0.0.2', ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { namespace: 'a', name: 'web-far', labels: { app: 'web' }, ip: '10.9.0.1', ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { namespace: 'a', name: 'db', labels: { app: 'db' }, ip: '10.0.0.3', ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { namespace: 'a', name: 'web-8080', labels: { app: 'web' }, ip: '10.0.0.4', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
      { namespace: 'b', name: 'web', labels: { app: 'web' }, ip: '10.0.0.5', ports: [{ containerPort: 80, protocol: 'TCP' }] },
    ];
    const cluster: ClusterSnapshot = {
      namespaces: [ns('a'), ns('b')],
      pods,
      services: [],
      nodes: [],
      policies: [{ namespace: 'a', name: 'p', podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16' } }] }] }],
    };
    const { classOf } = podClasses(cluster);
    expect(classOf[0]).toBe(classOf[1]); // `hash` is read by no selector
    expect(new Set(classOf).size).toBe(5);
    // Calico policies select by free text: every label counts then.
    const withCalico = podClasses({ ...cluster, otherPolicies: [{ kind: 'NetworkPolicy', apiVersion: 'projectcalico.org/v3', name: 'c', namespace: 'a', selector: "hash == '1'" }] });
    expect(withCalico.classOf[0]).not.toBe(withCalico.classOf[1]);
    // An input this file does not know (a policy kind added later) gives every pod its own class.
    const unknown = podClasses({ ...cluster, futurePolicies: [{}] } as ClusterSnapshot);
    expect(new Set(unknown.classOf).size).toBe(pods.length);
  });
});
