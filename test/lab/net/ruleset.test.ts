/**
 * The rendered fabric ruleset and DNS records, as plain text (no root needed). Behaviour with real packets is
 * covered by data-plane.test.ts and policy-conformance.test.ts; these pin the translation choices.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, NetworkPolicy } from '../../../src/policy/types.js';
import type { Faults, ServiceEndpoints } from '../types.js';
import { renderDnsHosts } from './dns-hosts.js';
import { renderRuleset } from './ruleset.js';
import { namespace, podInfo, service } from './net-fixture.js';

const NODE_CIDRS = { a: '10.244.0.0/24', b: '10.244.1.0/24' };

function snapshotWith(policies: NetworkPolicy[]): ClusterSnapshot {
  return {
    namespaces: [namespace('shop'), namespace('other')],
    pods: [
      podInfo({ namespace: 'shop', name: 'web', labels: { app: 'web' }, ip: '10.244.0.2', node: 'a', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }),
      podInfo({ namespace: 'other', name: 'api', labels: { app: 'api' }, ip: '10.244.1.2', node: 'b', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }),
      podInfo({ namespace: 'other', name: 'cli', labels: { app: 'cli' }, ip: '10.244.1.3', node: 'b' }),
    ],
    services: [],
    nodes: [],
    policies,
  };
}

function render(args: { policies?: NetworkPolicy[]; services?: ServiceEndpoints[]; faults?: Faults }): string[] {
  return renderRuleset({ snapshot: snapshotWith(args.policies ?? []), services: args.services ?? [], faults: args.faults ?? {}, nodeCIDRs: NODE_CIDRS, dnsPodIPs: ['10.244.0.9'] }).split('\n');
}

const egressByName: NetworkPolicy = {
  namespace: 'other',
  name: 'cli-egress',
  podSelector: { matchLabels: { app: 'cli' } },
  policyTypes: ['Egress'],
  egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }],
};

describe('renderRuleset', () => {
  it.each<{ name: string; args: Parameters<typeof render>[0]; present: RegExp[]; absent: RegExp[] }>([
    {
      name: 'no policies: no per-pod chains, forwarding accepted',
      args: {},
      present: [/^-A FORWARD -j NCL-POLICY$/, /^-A FORWARD -j ACCEPT$/],
      absent: [/NCL-[EI]\d/],
    },
    {
      name: 'egress named port resolves per destination pod',
      args: { policies: [egressByName] },
      present: [
        /^-A NCL-POLICY -s 10\.244\.1\.3\/32 -j NCL-E1$/,
        /^-A NCL-E1 -j NCL-R0$/,
        /^-A NCL-R0 -d 10\.244\.0\.2\/32 -p tcp -m tcp --dport 80 /,
        /^-A NCL-R0 -d 10\.244\.1\.2\/32 -p tcp -m tcp --dport 8080 /,
        /^-A NCL-E1 -j DROP$/,
      ],
      // cli declares no port named http: nothing toward it is admitted by name.
      absent: [/-A NCL-R0 -d 10\.244\.1\.3\/32/, /NCL-I\d/],
    },
    {
      name: 'ipBlock except becomes a sub-chain that returns for excepted ranges first',
      args: { policies: [{ namespace: 'shop', name: 'blk', podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.5/16', except: ['10.244.1.0/24', 'bogus'] } }] }] }] },
      present: [/^-A NCL-R0 -s 10\.244\.0\.0\/16 -j NCL-B0$/, /^-A NCL-B0 -s 10\.244\.1\.0\/24 -j RETURN$/, /^-A NCL-B0 -m comment .* -j MARK --set-xmark 0x20000\/0x20000$/],
      absent: [/bogus/],
    },
    {
      name: 'one chain per policy rule, shared by the pods it selects; ingress named ports split it per resolution',
      args: {
        policies: [
          { namespace: 'other', name: 'ns-wide', podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
          { namespace: 'other', name: 'named', podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] },
        ],
      },
      // Policies in name order: "named" (api resolves http → R0, cli resolves nothing → R2), then "ns-wide" (R1, shared).
      present: [/^-A NCL-I0 -j NCL-R0$/, /^-A NCL-R0 -p tcp -m tcp --dport 8080 /, /^-A NCL-I0 -j NCL-R1$/, /^-A NCL-I1 -j NCL-R1$/, /^-A NCL-I1 -j NCL-R2$/],
      // cli has no port named http: its chain admits nothing.
      absent: [/^-A NCL-R2 /, /NCL-R3/],
    },
    {
      name: 'malformed CIDRs and impossible port ranges match nothing instead of breaking the ruleset',
      args: { policies: [{ namespace: 'shop', name: 'bad', podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/40' } }, { ipBlock: { cidr: 'fd00::/8' } }] }, { ports: [{ port: 90, endPort: 80 }] }] }] },
      present: [/^-A NCL-I2 -j DROP$/],
      absent: [/10\.0\.0\.0/, /fd00/, /--dport 90/],
    },
    {
      name: 'cniIgnoresPolicies: no policy enforcement at all',
      args: { policies: [egressByName], faults: { cniIgnoresPolicies: true } },
      present: [/^-A FORWARD -j ACCEPT$/],
      absent: [/NCL-POLICY/, /NCL-E\d/],
    },
    {
      name: 'cniIgnoresPoliciesOnNodes: pods on those nodes get neither egress nor ingress chains; other pods keep theirs, admitting the unpoliced pods as peers',
      args: {
        policies: [egressByName, { namespace: 'shop', name: 'web-from-cli', podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'cli' } } }] }] }, { namespace: 'other', name: 'deny-in', podSelector: {}, policyTypes: ['Ingress'] }],
        faults: { cniIgnoresPoliciesOnNodes: ['b'] },
      },
      // Pods in name order: other/api (0, node b), other/cli (1, node b), shop/web (2, node a).
      present: [/^-A FORWARD -j NCL-POLICY$/, /^-A NCL-POLICY -d 10\.244\.0\.2\/32 -j NCL-I2$/, /^-A NCL-R\d+ -s 10\.244\.1\.3\/32 .*-j MARK --set-xmark 0x20000\/0x20000$/, /^-A NCL-I2 -j DROP$/],
      absent: [/10\.244\.1\.[23]\/32 -j NCL-/, /NCL-[EI][01]\b/],
    },
    {
      name: 'brokenNode and dnsDropped drop ahead of conntrack',
      args: { faults: { brokenNode: 'b', dnsDropped: true } },
      present: [/^-A NCL-FAULTS -s 10\.244\.1\.0\/24 -j DROP$/, /^-A NCL-FAULTS -d 10\.244\.1\.0\/24 -j DROP$/, /^-A NCL-FAULTS -d 10\.244\.0\.9\/32 -p udp -m udp --dport 53 -j DROP$/],
      absent: [/10\.244\.0\.0\/24 -j DROP/],
    },
    {
      name: 'services: equal random split over endpoints, hairpin mark, REJECT without endpoints',
      args: {
        services: [
          service('shop', 'web', { clusterIP: '10.96.0.5', lb: ['192.168.1.208'], ports: [{ port: 80, endpoints: [{ ip: '10.244.0.2', port: 8080 }, { ip: '10.244.0.3', port: 8080 }, { ip: '10.244.0.4', port: 8080 }] }] }),
          service('shop', 'none', { clusterIP: '10.96.0.6', ports: [{ port: 81, endpoints: [] }] }),
        ],
      },
      present: [
        /^-A NCL-SERVICES -d 10\.96\.0\.5\/32 -p tcp -m tcp --dport 80 .* -j NCL-S0$/,
        /^-A NCL-SERVICES -d 192\.168\.1\.208\/32 -p tcp -m tcp --dport 80 .* -j NCL-S0$/,
        /^-A NCL-S0 -m statistic --mode random --probability 0\.33333333333 -j NCL-S0E0$/,
        /^-A NCL-S0 -m statistic --mode random --probability 0\.50000000000 -j NCL-S0E1$/,
        /^-A NCL-S0 -j NCL-S0E2$/,
        /^-A NCL-S0E1 -s 10\.244\.0\.3\/32 -j MARK --set-xmark 0x4000\/0x4000$/,
        /^-A NCL-S0E1 -p tcp -m tcp -j DNAT --to-destination 10\.244\.0\.3:8080$/,
        /^-A NCL-NOEP -d 10\.96\.0\.6\/32 -p tcp -m tcp --dport 81 -j REJECT --reject-with icmp-port-unreachable$/,
      ],
      absent: [/NCL-S1/],
    },
  ])('$name', ({ args, present, absent }) => {
    const lines = render(args);
    for (const re of present) expect(lines.some((l) => re.test(l)), `expected a line matching ${re}`).toBe(true);
    for (const re of absent) expect(lines.filter((l) => re.test(l))).toEqual([]);
  });
});

describe('renderDnsHosts', () => {
  it('answers ClusterIPs, headless endpoints and kubernetes.default', () => {
    const hosts = renderDnsHosts([
      service('shop', 'web', { clusterIP: '10.96.0.5', ports: [{ port: 80, endpoints: [] }] }),
      service('shop', 'db', { headless: true, ports: [{ port: 5432, endpoints: [{ ip: '10.244.0.3', port: 5432 }, { ip: '10.244.1.3', port: 5432 }] }, { port: 5433, endpoints: [{ ip: '10.244.0.3', port: 5433 }] }] }),
    ]);
    expect(hosts.trim().split('\n')).toEqual([
      '10.244.0.3 db.shop.svc.cluster.local',
      '10.244.1.3 db.shop.svc.cluster.local',
      '10.96.0.1 kubernetes.default.svc.cluster.local',
      '10.96.0.5 web.shop.svc.cluster.local',
    ]);
  });
});
