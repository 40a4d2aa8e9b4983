/**
 * The lab's iptables enforcement agrees with the policy engine (src/policy), flow by flow, with real packets:
 * every ordered pair of pods on TCP and UDP ports, over policies that use the tricky parts of the API
 * (named ports resolving differently per destination, endPort, ipBlock with except, namespaceSelector AND
 * podSelector, matchExpressions, egress-only isolation, deny-all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpen } from '../../../src/model/outcome.js';
import { createPolicyEngine } from '../../../src/policy/engine.js';
import type { ClusterSnapshot, ContainerPort, PodInfo, Protocol } from '../../../src/policy/types.js';
import { createDataPlane, type LabDataPlane } from './data-plane.js';
import { DENY_TIMEOUT_MS, dataPlaneSkipReason, describeOutcome, namespace, podInfo, policy, probeIn, uniqueSuffix } from './net-fixture.js';

const skip = dataPlaneSkipReason();
if (skip !== undefined) console.log(`skipping lab policy conformance tests: ${skip}`);

const PROBED_PORTS: Array<{ port: number; protocol: Protocol }> = [
  { port: 80, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 9000, protocol: 'TCP' },
  { port: 5353, protocol: 'UDP' },
];

const PODS: Array<{ namespace: string; name: string; node: string; labels: Record<string, string>; ports: ContainerPort[] }> = [
  { namespace: 'alpha', name: 'a-web', node: 'n1', labels: { app: 'web', tier: 'front' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'metrics', containerPort: 9000, protocol: 'TCP' }] },
  { namespace: 'alpha', name: 'a-db', node: 'n2', labels: { app: 'db', tier: 'back' }, ports: [{ name: 'pg', containerPort: 8080, protocol: 'TCP' }] },
  { namespace: 'beta', name: 'b-web', node: 'n1', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
  { namespace: 'beta', name: 'b-job', node: 'n2', labels: { app: 'job', env: 'dev' }, ports: [{ name: 'dns', containerPort: 5353, protocol: 'UDP' }] },
  { namespace: 'gamma', name: 'g-any', node: 'n1', labels: { app: 'other' }, ports: [] },
];

describe.skipIf(skip !== undefined)('lab policy enforcement vs the policy engine', () => {
  let dp: LabDataPlane;
  let snapshot: ClusterSnapshot;
  const netns = new Map<string, string>();

  beforeAll(async () => {
    dp = createDataPlane({ suffix: uniqueSuffix(), nodes: ['n1', 'n2'] });
    await dp.start();
    const listen = PROBED_PORTS.map((p) => ({ port: p.port, protocol: p.protocol as 'TCP' | 'UDP' }));
    const handles = await Promise.all(
      PODS.map((p) => dp.runPod({ uid: `${p.namespace}-${p.name}`, namespace: p.namespace, name: p.name, node: p.node, argv: [], env: {}, respondOn: listen }, () => undefined)),
    );
    PODS.forEach((p) => netns.set(p.name, dp.podNetns(`${p.namespace}-${p.name}`)!));
    const pods: PodInfo[] = PODS.map((p, i) => podInfo({ ...p, ip: handles[i]!.ip }));
    snapshot = {
      namespaces: [namespace('alpha', { name: 'alpha', team: 'x' }), namespace('beta', { name: 'beta', team: 'y' }), namespace('gamma')],
      pods,
      services: [],
      nodes: [],
      policies: [
        policy({ namespace: 'alpha', name: 'allow-web', podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x', 'y'] }] } }], ports: [{ port: 'http' }] }] }),
        policy({ namespace: 'alpha', name: 'db', podSelector: { matchLabels: { tier: 'back' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }] }),
        policy({
          namespace: 'alpha',
          name: 'egress',
          podSelector: {},
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] } }, { podSelector: {} }],
              ports: [{ port: 'http' }, { port: 8080, endPort: 9000 }],
            },
          ],
        }),
        policy({
          namespace: 'beta',
          name: 'job-ingress',
          podSelector: { matchLabels: { app: 'job' } },
          ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] } }], ports: [{ port: 5353, protocol: 'UDP' }, { port: 80 }] }],
        }),
        policy({ namespace: 'beta', name: 'dev-egress', podSelector: { matchLabels: { env: 'dev' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/24' } }] }] }),
        policy({ namespace: 'gamma', name: 'deny-all-ingress', podSelector: { matchLabels: { app: 'nothing-matches' } }, policyTypes: ['Ingress'] }),
      ],
    };
    await dp.sync({ snapshot, services: [], faults: {} });
  });

  afterAll(async () => {
    await dp?.stop();
  });

  it('admits exactly the flows the engine allows, for every pod pair and port', async () => {
    const engine = createPolicyEngine(snapshot);
    const rows = await Promise.all(
      snapshot.pods.map(async (from) => {
        const checks = snapshot.pods
          .filter((to) => to !== from)
          .flatMap((to) => PROBED_PORTS.map((p) => ({ to, ...p, id: `${to.name}:${p.protocol}/${p.port}` })));
        const outcomes = await probeIn(
          netns.get(from.name)!,
          checks.map((c) => ({ id: c.id, kind: c.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const), target: c.to.ip!, port: c.port, timeoutMs: DENY_TIMEOUT_MS })),
        );
        return checks.map((c) => {
          const verdict = engine.evaluateFlow({ kind: 'pod', pod: from }, { kind: 'pod', pod: c.to }, c.port, c.protocol);
          const outcome = outcomes[c.id];
          return {
            flow: `${from.name} → ${c.id}`,
            engine: verdict.allowed ? 'allow' : 'deny',
            packets: outcome === undefined ? 'missing' : isOpen(outcome) === true ? 'allow' : isOpen(outcome) === false ? 'deny' : describeOutcome(outcome),
          };
        });
      }),
    );
    const flows = rows.flat();
    // The sample must exercise both answers, or it proves nothing.
    expect(flows.filter((f) => f.engine === 'allow').length).toBeGreaterThan(10);
    expect(flows.filter((f) => f.engine === 'deny').length).toBeGreaterThan(10);
    expect(flows.filter((f) => f.engine !== f.packets)).toEqual([]);
  });
});
