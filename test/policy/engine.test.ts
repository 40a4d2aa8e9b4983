/**
 * Truth tables derived from the networking.k8s.io/v1 NetworkPolicy semantics (not from the engine's output):
 * each row is one flow in a small fixed cluster under a given set of policies.
 */
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, describeFlow } from '../../src/policy/engine.js';
import type { Endpoint, NetworkPolicy, Protocol } from '../../src/policy/types.js';
import { address, at, ns, pod, policy, snapshot } from './builders.js';

const web = pod('a/web', { app: 'web', tier: 'fe' }, {
  ip: '10.0.1.1',
  ports: [
    { name: 'http', containerPort: 80, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'sig', containerPort: 9999, protocol: 'SCTP' },
  ],
});
const db = pod('a/db', { app: 'db' }, { ip: '10.0.1.2', ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] });
const client = pod('b/client', { app: 'client' }, { ip: '10.0.2.1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] });
const other = pod('c/other', { app: 'web' }, { ip: '10.0.3.1', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] });
const v6 = pod('c/v6', { app: 'v6' }, { ip: 'fd00::5', ports: [{ containerPort: 80, protocol: 'TCP' }] });
const noip = pod('c/noip', { app: 'noip' });
const namespaces = [ns('a', { team: 'x', env: 'prod' }), ns('b', { team: 'y', env: 'dev' }), ns('c')];
const pods = [web, db, client, other, v6, noip];

interface Row {
  from: Endpoint;
  to: Endpoint;
  port: number | string;
  protocol?: Protocol;
  allowed: boolean;
}
interface Table {
  name: string;
  policies: NetworkPolicy[];
  rows: Row[];
}

const ingressToWeb = (from: NonNullable<NetworkPolicy['ingress']>[number]['from'], ports?: NonNullable<NetworkPolicy['ingress']>[number]['ports']): NetworkPolicy =>
  policy('a/web-in', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ ...(from ? { from } : {}), ...(ports ? { ports } : {}) }] });
const egressFromClient = (to: NonNullable<NetworkPolicy['egress']>[number]['to'], ports?: NonNullable<NetworkPolicy['egress']>[number]['ports']): NetworkPolicy =>
  policy('b/client-out', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ ...(to ? { to } : {}), ...(ports ? { ports } : {}) }] });

const tables: Table[] = [
  {
    name: 'no policies: everything allowed, self included',
    policies: [],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(web), to: at(web), port: 80, allowed: true },
      { from: at(web), to: address('8.8.8.8'), port: 53, protocol: 'UDP', allowed: true },
    ],
  },
  {
    name: 'matchExpressions In on pods (any namespace)',
    policies: [ingressToWeb([{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['client', 'db'] }] } }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: false },
      { from: at(web), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'namespace matchExpressions NotIn matches namespaces without the key',
    policies: [ingressToWeb([{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['y'] }] } }])],
    rows: [
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(client), to: at(web), port: 80, allowed: false },
      { from: at(other), to: at(web), port: 80, allowed: true },
    ],
  },
  {
    name: 'namespace matchExpressions Exists',
    policies: [ingressToWeb([{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } }])],
    rows: [
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'namespace matchExpressions DoesNotExist',
    policies: [ingressToWeb([{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } }])],
    rows: [
      { from: at(db), to: at(web), port: 80, allowed: false },
      { from: at(client), to: at(web), port: 80, allowed: false },
      { from: at(other), to: at(web), port: 80, allowed: true },
    ],
  },
  {
    name: 'matchLabels AND matchExpressions in one selector',
    policies: [ingressToWeb([{ namespaceSelector: { matchLabels: { team: 'y' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } }])],
    rows: [{ from: at(client), to: at(web), port: 80, allowed: false }],
  },
  {
    name: 'podSelector alone = same namespace as the policy',
    policies: [ingressToWeb([{ podSelector: { matchLabels: { app: 'web' } } }, { podSelector: { matchLabels: { app: 'client' } } }])],
    rows: [
      { from: at(web), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: false }, // app=web, but namespace c
      { from: at(client), to: at(web), port: 80, allowed: false }, // app=client, but namespace b
    ],
  },
  {
    name: 'empty podSelector alone = all pods of the policy namespace',
    policies: [ingressToWeb([{ podSelector: {} }])],
    rows: [
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(client), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'empty namespaceSelector alone = all pods in all namespaces (not addresses)',
    policies: [ingressToWeb([{ namespaceSelector: {} }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: true },
      { from: address('192.168.1.5'), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'namespaceSelector AND podSelector in one peer',
    policies: [ingressToWeb([{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { app: 'client' } } }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(db), to: at(web), port: 80, allowed: false },
      { from: at(other), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'separate peers are OR',
    policies: [ingressToWeb([{ namespaceSelector: { matchLabels: { team: 'y' } } }, { podSelector: { matchLabels: { app: 'db' } } }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'egress ipBlock with except (IPv4)',
    policies: [egressFromClient([{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }])],
    rows: [
      { from: at(client), to: address('192.168.2.5'), port: 443, allowed: true },
      { from: at(client), to: address('192.168.1.208'), port: 5000, allowed: false },
      { from: at(client), to: address('10.9.9.9'), port: 443, allowed: false },
      { from: at(client), to: address('2001:db8::1'), port: 443, allowed: false },
    ],
  },
  {
    name: 'egress ipBlock with except (IPv6)',
    policies: [egressFromClient([{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }])],
    rows: [
      { from: at(client), to: address('2001:db8::1'), port: 443, allowed: true },
      { from: at(client), to: address('2001:db8:2:0:0:0:0:1'), port: 443, allowed: true },
      { from: at(client), to: address('2001:db8:1::1'), port: 443, allowed: false },
      { from: at(client), to: address('192.168.2.5'), port: 443, allowed: false },
    ],
  },
  {
    name: 'ipBlock matches pods by pod IP (v4 and v6); pods without IP never match',
    policies: [egressFromClient([{ ipBlock: { cidr: '10.0.1.0/25', except: ['10.0.1.2/32'] } }, { ipBlock: { cidr: 'fd00::/64' } }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(client), to: at(db), port: 5432, allowed: false },
      { from: at(client), to: at(other), port: 80, allowed: false },
      { from: at(client), to: at(v6), port: 80, allowed: true },
      { from: at(client), to: at(noip), port: 80, allowed: false },
    ],
  },
  {
    name: 'ingress named port resolves against the destination (the policed pod)',
    policies: [ingressToWeb(undefined, [{ port: 'metrics' }])],
    rows: [
      { from: at(client), to: at(web), port: 9090, allowed: true },
      { from: at(client), to: at(web), port: 'metrics', allowed: true },
      { from: at(client), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'egress named port resolves against the destination pod, not the source',
    policies: [egressFromClient(undefined, [{ port: 'http' }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true }, // web's http = 80
      { from: at(client), to: at(web), port: 8080, allowed: false }, // the source's own http = 8080 does not count
      { from: at(client), to: at(other), port: 80, allowed: true },
      { from: at(client), to: at(db), port: 5432, allowed: false }, // db declares no "http"
      { from: at(client), to: address('1.1.1.1'), port: 80, allowed: false }, // an address has no named ports
    ],
  },
  {
    name: 'named query that the destination does not declare is not reachable',
    policies: [],
    rows: [
      { from: at(client), to: at(db), port: 'http', allowed: false },
      { from: at(client), to: at(db), port: 'pg', allowed: true },
      { from: at(client), to: at(db), port: 'pg', protocol: 'UDP', allowed: false },
    ],
  },
  {
    name: 'endPort ranges are inclusive and protocol-specific',
    policies: [ingressToWeb(undefined, [{ port: 8000, endPort: 8100 }])],
    rows: [
      { from: at(client), to: at(web), port: 7999, allowed: false },
      { from: at(client), to: at(web), port: 8000, allowed: true },
      { from: at(client), to: at(web), port: 8100, allowed: true },
      { from: at(client), to: at(web), port: 8101, allowed: false },
      { from: at(client), to: at(web), port: 8050, protocol: 'UDP', allowed: false },
    ],
  },
  {
    name: 'protocols: UDP, SCTP, protocol-only entries, default TCP',
    policies: [ingressToWeb(undefined, [{ protocol: 'UDP', port: 53 }, { protocol: 'SCTP' }, { port: 443 }])],
    rows: [
      { from: at(client), to: at(web), port: 53, protocol: 'UDP', allowed: true },
      { from: at(client), to: at(web), port: 53, protocol: 'TCP', allowed: false },
      { from: at(client), to: at(web), port: 9999, protocol: 'SCTP', allowed: true },
      { from: at(client), to: at(web), port: 1234, protocol: 'SCTP', allowed: true },
      { from: at(client), to: at(web), port: 9999, protocol: 'TCP', allowed: false },
      { from: at(client), to: at(web), port: 443, protocol: 'TCP', allowed: true },
      { from: at(client), to: at(web), port: 443, protocol: 'UDP', allowed: false },
    ],
  },
  {
    name: 'policyTypes absent + only egress rules: isolates ingress (deny all) and egress',
    policies: [policy('a/p', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] })],
    rows: [
      { from: at(db), to: at(web), port: 80, allowed: false },
      { from: at(web), to: at(db), port: 5432, allowed: true },
      { from: at(web), to: at(client), port: 8080, allowed: false },
    ],
  },
  {
    name: 'policyTypes absent + egress: [] : egress not isolated',
    policies: [policy('a/p', { podSelector: { matchLabels: { app: 'web' } }, egress: [] })],
    rows: [
      { from: at(web), to: at(client), port: 8080, allowed: true },
      { from: at(client), to: at(web), port: 80, allowed: false },
    ],
  },
  {
    name: 'policyTypes [Egress] with ingress rules: ingress not isolated, egress deny-all',
    policies: [policy('a/p', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: {} }] }] })],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(web), to: at(db), port: 5432, allowed: false },
      { from: at(web), to: address('1.1.1.1'), port: 443, allowed: false },
    ],
  },
  {
    name: 'from: [] and a rule without from admit all peers; ports: [] is all ports',
    policies: [
      policy('a/p', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [], ports: [{ port: 80 }] }] }),
      policy('a/q', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [] }] }),
    ],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: address('203.0.113.9'), to: at(web), port: 80, allowed: true },
      { from: at(client), to: at(web), port: 9090, allowed: false },
      { from: at(client), to: at(db), port: 5432, allowed: true },
    ],
  },
  {
    name: 'policies are additive; a deny-all policy does not subtract',
    policies: [
      ingressToWeb([{ namespaceSelector: { matchLabels: { team: 'y' } } }]),
      policy('a/web-in-2', { podSelector: { matchLabels: { tier: 'fe' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'db' } } }] }] }),
      policy('a/deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
    ],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: true },
      { from: at(db), to: at(web), port: 80, allowed: true },
      { from: at(other), to: at(web), port: 80, allowed: false },
      { from: at(web), to: at(db), port: 5432, allowed: false },
    ],
  },
  {
    name: 'egress AND ingress must both allow',
    policies: [egressFromClient([{ namespaceSelector: {} }]), ingressToWeb([{ podSelector: { matchLabels: { app: 'db' } } }])],
    rows: [
      { from: at(client), to: at(web), port: 80, allowed: false },
      { from: at(client), to: at(db), port: 5432, allowed: true },
      { from: at(client), to: address('1.1.1.1'), port: 443, allowed: false },
    ],
  },
  {
    name: 'self-traffic follows the same rules',
    policies: [ingressToWeb([{ podSelector: { matchLabels: { app: 'db' } } }]), policy('b/self', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })],
    rows: [
      { from: at(web), to: at(web), port: 80, allowed: false },
      { from: at(client), to: at(client), port: 8080, allowed: true },
    ],
  },
];

describe('evaluateFlow truth tables', () => {
  for (const table of tables) {
    describe(table.name, () => {
      const engine = createPolicyEngine(snapshot({ namespaces, pods, policies: table.policies }));
      for (const row of table.rows) {
        const name = (e: Endpoint): string => (e.kind === 'pod' ? `${e.pod.namespace}/${e.pod.name}` : e.ip);
        it(`${name(row.from)} -> ${name(row.to)} ${row.port}/${row.protocol ?? 'TCP'} = ${row.allowed ? 'allow' : 'deny'}`, () => {
          const v = engine.evaluateFlow(row.from, row.to, row.port, row.protocol ?? 'TCP');
          expect(v.allowed, v.summary).toBe(row.allowed);
          if (row.from.kind === 'pod' && row.to.kind === 'pod') {
            // The fast class-based matrix must agree with the explained evaluation.
            const m = engine.computeMatrix(row.port, row.protocol ?? 'TCP');
            const i = m.pods.indexOf(row.from.pod);
            const j = m.pods.indexOf(row.to.pod);
            expect(m.allowed[i * m.pods.length + j] === 1).toBe(row.allowed);
          }
        });
      }
    });
  }
});

describe('explanations', () => {
  const kube = ns('kube-system');
  const coredns = pod('kube-system/coredns', { 'k8s-app': 'kube-dns' }, { ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
  const mlflow = pod('mlflow/mlflow', { app: 'mlflow' }, { ports: [{ containerPort: 5000, protocol: 'TCP' }] });
  const serving = pod('financial-ml/serving', { app: 'serving' });
  const isolation = policy('financial-ml/isolation', {
    policyTypes: ['Ingress', 'Egress'],
    egress: [
      { to: [{ namespaceSelector: { matchLabels: { name: 'kube-system' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { to: [], ports: [{ port: 443 }, { port: 80 }] },
    ],
  });
  const engine = createPolicyEngine(
    snapshot({ namespaces: [kube, ns('financial-ml', { name: 'financial-ml' }), ns('mlflow', { name: 'mlflow' })], pods: [coredns, mlflow, serving], policies: [isolation] }),
  );

  it('names the missing namespace label first when the selector evidently targets that namespace', () => {
    const v = engine.evaluateFlow(at(serving), at(coredns), 53, 'UDP');
    expect(v.allowed).toBe(false);
    expect(v.egress.reason).toBe('no-matching-rule');
    expect(v.egress.isolatedBy).toEqual(['financial-ml/isolation']);
    expect(v.egress.nearMisses[0]).toBe(
      'financial-ml/isolation egress[0]: namespaceSelector name=kube-system: namespace kube-system has no label `name`',
    );
    expect(v.ingress.reason).toBe('not-isolated');
  });

  it('names the port missing from a rule', () => {
    const v = engine.evaluateFlow(at(serving), at(mlflow), 5000, 'TCP');
    expect(v.egress.nearMisses).toContain("financial-ml/isolation egress[1]: port 5000/TCP not in rule's ports [443/TCP, 80/TCP]");
  });

  it('records the admitting rule with policy, direction, rule, peer and port indexes', () => {
    const v = engine.evaluateFlow(at(serving), address('93.184.216.34'), 443, 'TCP');
    expect(v.allowed).toBe(true);
    expect(v.egress.admittedBy).toEqual([
      { policy: 'financial-ml/isolation', direction: 'egress', ruleIndex: 1, portIndex: 0, text: 'financial-ml/isolation egress[1] (to any peer) port 443/TCP' },
    ]);
    expect(v.ingress.reason).toBe('not-applicable');
    expect(describeFlow(v, at(serving), address('93.184.216.34'))[0]).toBe('ALLOWED: financial-ml/serving -> 93.184.216.34 on 443/TCP');
  });

  it('policiesSelecting / podsSelectedBy / isolatingPolicies', () => {
    expect(engine.policiesSelecting(serving).map((p) => p.name)).toEqual(['isolation']);
    expect(engine.podsSelectedBy(isolation).map((p) => p.name)).toEqual(['serving']);
    expect(engine.isolatingPolicies(serving, 'ingress')).toEqual(['financial-ml/isolation']);
    expect(engine.isolatingPolicies(coredns, 'egress')).toEqual([]);
  });

  it('evaluates pods that are not in the snapshot (probe pods) by their labels', () => {
    const probe = pod('financial-ml/netcheck-probe', { app: 'anything' });
    expect(engine.evaluateFlow(at(probe), at(mlflow), 5000, 'TCP').egress.isolatedBy).toEqual(['financial-ml/isolation']);
  });
});

describe('fast matrix agrees with explained evaluation on random clusters', () => {
  // Deterministic PRNG (mulberry32) so failures reproduce.
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
      const nsNames = ['n0', 'n1', 'n2', 'n3'];
      const apps = ['a', 'b', 'c'];
      const nss = nsNames.map((n) => ns(n, r() < 0.5 ? { team: pick(['x', 'y']) } : {}));
      const ps = Array.from({ length: 24 }, (_, i) =>
        pod(`${pick(nsNames)}/p${i}`, { app: pick(apps) }, {
          ip: `10.0.${i % 4}.${i}`,
          ports: [{ name: pick(['http', 'web']), containerPort: pick([80, 8080]), protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }],
        }),
      );
      const peer = () =>
        pick([
          { podSelector: { matchLabels: { app: pick(apps) } } },
          { namespaceSelector: { matchLabels: { team: pick(['x', 'y']) } } },
          { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: pick(['In', 'NotIn'] as const), values: [pick(apps)] }] } },
          { ipBlock: { cidr: '10.0.0.0/16', except: [`10.0.${Math.floor(r() * 4)}.0/24`] } },
        ]);
      const ports = () => pick([undefined, [{ port: 80 }], [{ port: 'http' }], [{ port: 8000, endPort: 8100 }], [{ protocol: 'UDP' as const, port: 53 }]]);
      const pols = Array.from({ length: 10 }, (_, i) =>
        policy(`${pick(nsNames)}/pol${i}`, {
          podSelector: r() < 0.3 ? {} : { matchLabels: { app: pick(apps) } },
          ...(r() < 0.5 ? { policyTypes: pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']] as const).slice() } : {}),
          ingress: Array.from({ length: Math.floor(r() * 3) }, () => ({ from: r() < 0.2 ? [] : [peer()], ...(ports() ? { ports: ports() } : {}) })),
          egress: Array.from({ length: Math.floor(r() * 3) }, () => ({ to: r() < 0.2 ? [] : [peer(), peer()], ...(ports() ? { ports: ports() } : {}) })),
        }),
      );
      const engine = createPolicyEngine(snapshot({ namespaces: nss, pods: ps, policies: pols }));
      for (const [query, protocol] of [[80, 'TCP'], [8080, 'TCP'], ['http', 'TCP'], [53, 'UDP']] as const) {
        const m = engine.computeMatrix(query, protocol);
        const n = m.pods.length;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            const v = engine.evaluateFlow(at(m.pods[i]!), at(m.pods[j]!), query, protocol);
            expect(m.allowed[i * n + j] === 1, `${v.summary}`).toBe(v.allowed);
          }
        }
      }
    });
  }
});
