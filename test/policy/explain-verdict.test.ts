/** The report lines of a verdict (explainVerdict): the first line is quoted alone as a cell's reason, so it must name the side that decided. */
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, explainVerdict } from '../../src/policy/engine.js';
import { address, at, ns, pod, policy, snapshot } from './builders.js';
import { assessCellPolicy } from '../../src/run/policy-view.js';
import { podSource, targets } from '../run/scenario-builder.js';

const client = pod('app/client', { app: 'client' }, { ip: '10.0.0.1' });
const server = pod('data/server', { app: 'server' }, { ip: '10.0.1.1', ports: [{ containerPort: 9000, protocol: 'TCP', name: 'api' }] });
const allowEgress = policy('app/allow-egress', {
  podSelector: { matchLabels: { app: 'client' } },
  policyTypes: ['Egress'],
  egress: [
    { to: [{ namespaceSelector: { matchLabels: { name: 'dns' } } }], ports: [{ protocol: 'UDP', port: 53 }] },
    { to: [{ namespaceSelector: { matchLabels: { name: 'data' } } }], ports: [{ protocol: 'TCP', port: 9000 }] },
  ],
});
const allowIngress = policy('data/from-app', {
  podSelector: { matchLabels: { app: 'server' } },
  policyTypes: ['Ingress'],
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'app' } } }], ports: [{ protocol: 'TCP', port: 'api' }] }],
});
const namespaces = [ns('app', { name: 'app' }), ns('data', { name: 'data' })];

function lines(policies: ReturnType<typeof policy>[], from = at(client), to = at(server), port: number | string = 9000): string[] {
  const engine = createPolicyEngine(snapshot({ namespaces, pods: [client, server], policies }));
  return explainVerdict(engine.evaluateFlow(from, to, port, 'TCP'));
}

describe('explainVerdict', () => {
  it('an allowed flow whose ingress alone is isolated leads with the ingress rule, not the unisolated egress', () => {
    const out = lines([allowIngress]);
    expect(out[0]).toBe('ingress: allowed by data/from-app ingress[0] (from namespaceSelector name=app) port api/TCP');
    expect(out[1]).toBe('egress: allowed, no policy isolates this side');
  });

  it('an allowed flow isolated on both sides names both rules on the first line', () => {
    const out = lines([allowEgress, allowIngress]);
    expect(out).toEqual([
      'egress: allowed by app/allow-egress egress[1] (to namespaceSelector name=data) port 9000/TCP; ' +
        'ingress: allowed by data/from-app ingress[0] (from namespaceSelector name=app) port api/TCP',
    ]);
  });

  it('an allowed flow isolated on the egress side only leads with the egress rule', () => {
    expect(lines([allowEgress])[0]).toBe('egress: allowed by app/allow-egress egress[1] (to namespaceSelector name=data) port 9000/TCP');
  });

  it('says "no policy isolates this side" only for a side that is not isolated', () => {
    expect(lines([])).toEqual(['egress: allowed, no policy isolates this side', 'ingress: allowed, no policy isolates this side']);
    for (const l of lines([allowEgress, allowIngress])) expect(l).not.toMatch(/no policy isolates/);
  });

  it('several admitting rules: the first leads, the others follow as "also by"', () => {
    const wide = policy('data/any-from-app', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] });
    expect(lines([allowIngress, wide])[0]).toBe(
      'ingress: allowed by data/any-from-app ingress[0] (from podSelector {} + namespaceSelector {}) all ports ' +
        '(also by data/from-app ingress[0] (from namespaceSelector name=app) port api/TCP)',
    );
  });

  it('a denied flow leads with the denying side, its isolating policy and the nearest miss', () => {
    const out = lines([allowEgress, allowIngress], at(client), at(server), 9001);
    expect(out[0]).toMatch(/^egress: denied, isolated by app\/allow-egress and no rule admits TCP\/9001; near miss: app\/allow-egress egress\[1\]: port 9001\/TCP not in rule's ports \[9000\/TCP\]/);
    expect(out[1]).toMatch(/^ingress: denied, isolated by data\/from-app/);
  });

  it('a denied ingress with an allowed egress leads with ingress', () => {
    const out = lines([allowEgress, policy('data/deny-all', { podSelector: {}, policyTypes: ['Ingress'] })]);
    expect(out[0]).toBe('ingress: denied, isolated by data/deny-all and no rule admits TCP/9000; near miss: data/deny-all has no ingress rules: it denies all ingress');
    expect(out[1]).toMatch(/^egress: allowed by app\/allow-egress egress\[1\]/);
  });

  it('an external source: egress not policed, ingress decided by an ipBlock rule', () => {
    const fromNet = policy('data/from-net', {
      podSelector: { matchLabels: { app: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }],
    });
    expect(lines([fromNet], address('203.0.113.5'))).toEqual([
      'ingress: allowed by data/from-net ingress[0] (from ipBlock 203.0.113.0/24 except 203.0.113.128/25) all ports',
      'egress: not policed (this end is an address, not a pod)',
    ]);
    expect(lines([fromNet], address('203.0.113.200'))[0]).toBe(
      'ingress: denied, isolated by data/from-net and no rule admits TCP/9000; near miss: data/from-net ingress[0]: ipBlock 203.0.113.0/24 except 203.0.113.128/25: 203.0.113.200 is in the excepted 203.0.113.128/25',
    );
  });
});

describe("run's policy column quotes the side that decided (issue 9 item 11)", () => {
  // verdict.ts and check-intent.ts quote explanation[0] alone as a cell's reason.
  // A listener declares its port by number: the rule names it by number too.
  const byNumber = policy('data/from-app', { ...allowIngress, ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'app' } } }], ports: [{ protocol: 'TCP', port: 9000 }] }] });
  const snap = snapshot({ namespaces, pods: [client], policies: [byNumber] });
  const engine = createPolicyEngine(snap);

  it('a flow only the destination isolates: the first line is the ingress rule that admitted it', () => {
    const a = assessCellPolicy(engine, snap, podSource('client', 'app'), { app: 'client' }, undefined, targets.listener('server', 'data', 9000, { app: 'server' }));
    expect(a.view).toBe('allow');
    expect(a.explanation[0]).toBe('ingress: allowed by data/from-app ingress[0] (from namespaceSelector name=app) port 9000/TCP');
    expect(a.explanation[1]).toBe('egress: allowed, no policy isolates this side');
  });

  it('isolated on both sides: both rules on the first line', () => {
    const both = snapshot({ namespaces, pods: [client], policies: [allowEgress, byNumber] });
    const a = assessCellPolicy(createPolicyEngine(both), both, podSource('client', 'app'), { app: 'client' }, undefined, targets.listener('server', 'data', 9000, { app: 'server' }));
    expect(a.explanation[0]).toMatch(/^egress: allowed by app\/allow-egress egress\[1\] .*; ingress: allowed by data\/from-app ingress\[0\] /);
  });
});
