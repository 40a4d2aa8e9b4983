import { describe, expect, it } from 'vitest';
import { hasErrors, lintSnapshot } from '../../src/policy/lint.js';
import type { NetworkPolicy, PodInfo } from '../../src/policy/types.js';
import { ns, pod, policy, snapshot } from './builders.js';

const coredns = pod('kube-system/coredns', { 'k8s-app': 'kube-dns' }, {
  ports: [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
  ],
});
const scheduler = pod('seldon-system/seldon-scheduler', { app: 'seldon-scheduler' }, { ports: [{ containerPort: 9005, protocol: 'TCP' }] });
const serving = pod('financial-ml/serving', { app: 'serving' });
const labelled = [ns('financial-ml', { name: 'financial-ml' }), ns('seldon-system', { name: 'seldon-system' }), ns('kube-system', { name: 'kube-system' })];

const dns = (protocols: Array<'UDP' | 'TCP'>, label = 'name'): NonNullable<NetworkPolicy['egress']>[number] => ({
  to: [{ namespaceSelector: { matchLabels: { [label]: 'kube-system' } } }],
  ports: protocols.map((protocol) => ({ protocol, port: 53 })),
});
const toSeldon = { to: [{ namespaceSelector: { matchLabels: { name: 'seldon-system' } } }] };
const baseline = (egress: NonNullable<NetworkPolicy['egress']>): NetworkPolicy =>
  policy('financial-ml/baseline', { policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'seldon-system' } } }] }], egress });

interface Case {
  name: string;
  namespaces?: ReturnType<typeof ns>[];
  pods?: PodInfo[];
  policies: NetworkPolicy[];
  /** Expected "SEVERITY ID subject" lines, in output order. */
  findings: string[];
}

const cases: Case[] = [
  {
    name: 'the seeds baseline on a cluster whose namespaces carry the name label: clean (seldon-system has no baseline)',
    namespaces: labelled,
    pods: [coredns, scheduler, serving],
    policies: [baseline([toSeldon, dns(['UDP', 'TCP'])])],
    findings: ['warning NC007 seldon-system'],
  },
  {
    name: 'kube-system without the name label: NC001 on the selector and NC002 for DNS',
    namespaces: [labelled[0]!, labelled[1]!, ns('kube-system')],
    pods: [coredns, scheduler, serving],
    policies: [baseline([toSeldon, dns(['UDP', 'TCP'])])],
    findings: ['error NC001 financial-ml/baseline', 'error NC002 financial-ml', 'warning NC007 seldon-system'],
  },
  {
    name: 'DNS on UDP only: warning',
    namespaces: labelled,
    pods: [coredns, scheduler, serving],
    policies: [baseline([toSeldon, dns(['UDP'])])],
    findings: ['warning NC002 financial-ml', 'warning NC007 seldon-system'],
  },
  {
    name: 'selecting kube-system by kubernetes.io/metadata.name is always right, even with no DNS pod in the manifests',
    namespaces: [labelled[0]!, labelled[1]!, ns('kube-system')],
    pods: [scheduler, serving],
    policies: [baseline([toSeldon, dns(['UDP', 'TCP'], 'kubernetes.io/metadata.name')])],
    findings: ['warning NC007 seldon-system'],
  },
  {
    name: 'seldon-system unreachable from an egress-isolated namespace',
    namespaces: labelled,
    pods: [coredns, scheduler, serving],
    policies: [baseline([dns(['UDP', 'TCP'])])],
    findings: ['error NC005 financial-ml', 'warning NC007 seldon-system'],
  },
  {
    name: 'pod selector without namespace context in a cross-namespace policy; egress to everywhere on all ports; policy selecting nothing',
    namespaces: labelled,
    pods: [coredns, scheduler, serving],
    policies: [
      baseline([toSeldon, dns(['UDP', 'TCP']), { to: [{ podSelector: { matchLabels: { app: 'seldon-scheduler' } } }] }, {}]),
      policy('financial-ml/typo', { podSelector: { matchLabels: { app: 'servign' } }, ingress: [{}] }),
    ],
    findings: ['warning NC003 financial-ml/baseline', 'warning NC004 financial-ml/baseline', 'warning NC006 financial-ml/typo', 'warning NC007 seldon-system'],
  },
  {
    name: 'egress to everywhere on a few ports is info; a wide range is a warning',
    namespaces: labelled,
    pods: [coredns, scheduler, serving],
    policies: [baseline([toSeldon, dns(['UDP', 'TCP']), { to: [], ports: [{ port: 443 }] }, { ports: [{ port: 1024, endPort: 65535 }] }])],
    findings: ['warning NC004 financial-ml/baseline', 'warning NC007 seldon-system', 'info NC004 financial-ml/baseline'],
  },
  {
    name: 'namespace whose policies cover only some pods has no baseline; invalid ipBlock',
    namespaces: labelled,
    pods: [coredns, pod('shop/web', { app: 'web' }), pod('shop/db', { app: 'db' })],
    policies: [policy('shop/web', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }] }] })],
    findings: ['error NC002 shop', 'error NC008 shop/web', 'warning NC007 shop'],
  },
];

describe('lintSnapshot', () => {
  for (const c of cases) {
    it(c.name, () => {
      const findings = lintSnapshot(snapshot({ namespaces: c.namespaces ?? labelled, pods: c.pods ?? [], policies: c.policies }));
      expect(findings.map((f) => `${f.severity} ${f.id} ${f.policy ?? f.namespace}`)).toEqual(c.findings);
      expect(hasErrors(findings)).toBe(c.findings.some((f) => f.startsWith('error')));
      for (const f of findings) expect(f.hint.length).toBeGreaterThan(0);
    });
  }

  it('NC001 explains the missing label in the seeds words', () => {
    const findings = lintSnapshot(
      snapshot({ namespaces: [labelled[0]!, labelled[1]!, ns('kube-system')], pods: [coredns, serving], policies: [baseline([dns(['UDP', 'TCP'])])] }),
    );
    expect(findings[0]?.message).toBe('egress[0] to[0] namespaceSelector name=kube-system: namespace kube-system has no label `name`, so this peer never matches it');
    expect(findings[1]?.message).toContain('cannot reach kube-system DNS on 53/UDP nor 53/TCP');
  });
});

describe('LoadBalancer rules (kube-proxy DNAT before policy)', () => {
  const mlflow = pod('mlflow/mlflow', { app: 'mlflow' }, { ports: [{ name: 'http', containerPort: 5000, protocol: 'TCP' }] });
  const lb = {
    namespace: 'mlflow',
    name: 'mlflow',
    type: 'LoadBalancer' as const,
    selector: { app: 'mlflow' },
    loadBalancerIPs: ['192.168.1.208'],
    ports: [{ port: 5000, targetPort: 'http', protocol: 'TCP' as const }],
  };
  const lintWith = (egress: NonNullable<NetworkPolicy['egress']>) => {
    const s = snapshot({ namespaces: [...labelled, ns('mlflow', { name: 'mlflow' })], pods: [coredns, scheduler, serving, mlflow], policies: [baseline(egress)] });
    s.services.push(lb);
    return lintSnapshot(s).filter((f) => f.id === 'NC009' || f.id === 'NC010');
  };

  it.each([
    ['external egress on 443/80 only (the seeds application policy)', [toSeldon, dns(['UDP', 'TCP']), { to: [], ports: [{ port: 443 }, { port: 80 }] }], ['NC009']],
    ['an ipBlock naming the LB IP does not help, and is flagged', [toSeldon, dns(['UDP', 'TCP']), { to: [{ ipBlock: { cidr: '192.168.1.208/32' } }], ports: [{ port: 5000 }] }], ['NC009', 'NC010']],
    ['egress to the mlflow namespace on 5000 reaches it', [toSeldon, dns(['UDP', 'TCP']), { to: [{ namespaceSelector: { matchLabels: { name: 'mlflow' } } }], ports: [{ port: 5000 }] }], []],
    ['to: [] on 5000 reaches it too', [toSeldon, dns(['UDP', 'TCP']), { to: [], ports: [{ port: 5000 }] }], []],
  ] as const)('%s', (_name, egress, ids) => {
    const findings = lintWith(egress as unknown as NonNullable<NetworkPolicy['egress']>);
    expect(findings.map((f) => f.id)).toEqual(ids);
    if (ids.includes('NC009' as never)) {
      expect(findings[0]?.message).toContain('cannot reach LoadBalancer mlflow/mlflow (192.168.1.208:5000/TCP): inside the cluster it is DNATed to its pods on targetPort http (5000)');
    }
  });
});
