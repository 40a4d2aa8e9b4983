/** The pure parts of walking the chain on a cluster: which sources, which checks, and evidence from agent results. */
import { describe, expect, it } from 'vitest';
import { CANARY_NAME } from '../../src/diagnose/dns-chain.js';
import type { DnsClusterFacts } from '../../src/model/dns-chain.js';
import { chainFromResults, corednsTargets, dnsChainRequests, planDnsChain } from '../../src/run/dns-chain.js';
import { cell, podSource, runResult, runnerSource, scenario, targets, verdict } from './scenario-builder.js';
import { renderTable } from '../../src/report/render-table.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderDnsChainMarkdown, renderDnsChainText } from '../../src/report/render-dns-chain.js';
import type { Inventory } from '../../src/cluster/types.js';

const facts: DnsClusterFacts = {
  namespace: 'kube-system',
  services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' } }],
  endpoints: { 'kube-dns': [{ ip: '10.244.1.5', ready: true, node: 'node-a' }] },
  pods: [
    { namespace: 'kube-system', name: 'coredns-a', labels: { 'k8s-app': 'kube-dns' }, ip: '10.244.1.5', node: 'node-a', ready: true, phase: 'Running' },
    { namespace: 'kube-system', name: 'coredns-b', labels: { 'k8s-app': 'kube-dns' }, ip: '10.244.2.5', node: 'node-b', ready: false, phase: 'Running' },
    { namespace: 'kube-system', name: 'kube-proxy-x', labels: { app: 'kube-proxy' }, ip: '10.0.0.1', ready: true, phase: 'Running' },
  ],
  deployments: [],
};

describe('dnsChainRequests', () => {
  const s = scenario(
    [podSource('serving', 'financial-ml', { labels: { app: 'serving' } }), podSource('training', 'financial-ml', { labels: { app: 'training' } }), runnerSource()],
    [targets.dns('dns'), targets.service('mlflow', 'mlflow', 'financial-ml', 5000), targets.address('lb', '192.168.1.1', 80)],
    [cell('serving', 'dns', 'allow')],
  );
  it('one request per (namespace, labels, node) with a failed DNS cell, with the names it failed on; none for passing cells or the runner', () => {
    const cells = [
      verdict({ source: 'serving', target: 'dns', pass: false, classification: 'dns', outcome: { kind: 'dns-timeout' }, node: 'node-a' }),
      verdict({ source: 'serving', target: 'mlflow', pass: false, classification: 'dns', outcome: { kind: 'dns-timeout' }, node: 'node-a' }),
      verdict({ source: 'training', target: 'dns', pass: true, node: 'node-b' }),
      verdict({ source: 'training', target: 'lb', pass: false, classification: 'data-plane', outcome: { kind: 'timeout' }, node: 'node-b' }),
      verdict({ source: 'runner', target: 'dns', pass: false, classification: 'dns', outcome: { kind: 'dns-timeout' } }),
    ];
    const requests = dnsChainRequests(cells, s, {}, { dns: 'dns', mlflow: 'service', lb: 'address' });
    expect(requests.map((r) => r.request)).toEqual([
      { namespace: 'financial-ml', labels: { app: 'serving' }, node: 'node-a', names: ['kubernetes.default', 'mlflow.financial-ml'], description: 'serving' },
    ]);
    expect(requests[0]!.cells.map((c) => c.target)).toEqual(['dns', 'mlflow']);
  });
});

describe('planDnsChain and chainFromResults', () => {
  it('asks resolv.conf, the canary via the pod nameserver and each ready CoreDNS pod over UDP and TCP, and the failing names', () => {
    const targetsReady = corednsTargets(facts);
    expect(targetsReady.map((p) => p.name)).toEqual(['coredns-a']);
    const { plan, meta } = planDnsChain({ namespace: 'financial-ml', labels: {}, names: ['mlflow.financial-ml'] }, targetsReady, 1000, 0);
    expect(plan.checks.map((c) => [c.id, c.kind, c.target, c.protocol ?? '', c.server ?? ''])).toEqual([
      ['resolv', 'resolv', '/etc/resolv.conf', '', ''],
      ['own-UDP', 'dns', `${CANARY_NAME}.`, 'UDP', ''],
      ['pod0-UDP', 'dns', `${CANARY_NAME}.`, 'UDP', '10.244.1.5'],
      ['own-TCP', 'dns', `${CANARY_NAME}.`, 'TCP', ''],
      ['pod0-TCP', 'dns', `${CANARY_NAME}.`, 'TCP', '10.244.1.5'],
      ['name0-UDP', 'dns', 'mlflow.financial-ml', 'UDP', ''],
    ]);

    const resolved = { kind: 'resolved' as const, addresses: ['10.96.0.1'] };
    const results = plan.checks.map((c) => ({
      id: c.id,
      outcome: c.id === 'resolv' ? { kind: 'resolved' as const, addresses: ['10.96.0.10'] } : c.id === 'own-TCP' ? { kind: 'refused' as const } : resolved,
      attempts: [],
      ...(c.id === 'resolv' ? { resolv: { nameservers: ['10.96.0.10'], search: ['financial-ml.svc.cluster.local'], ndots: 5, options: [] } } : {}),
    }));
    const snapshot: Inventory = { namespaces: [], pods: [], services: [], policies: [], nodes: [], unknown: [] };
    const chain = chainFromResults(
      { namespace: 'financial-ml', labels: {} },
      { kind: 'done', key: 'dns0', namespace: 'financial-ml', name: 'netcheck-x-dns0', node: 'node-b', results, complete: true, problems: [] },
      meta,
      facts,
      snapshot,
    );
    expect(chain.nameserver).toBe('10.96.0.10');
    expect(chain.source).toMatchObject({ node: 'node-b', probe: 'financial-ml/netcheck-x-dns0' });
    const lookup = chain.links.find((l) => l.id === 'lookup')!;
    expect(lookup.status).toBe('broken');
    expect(lookup.evidence).toContain(`${CANARY_NAME} over TCP to 10.96.0.10: refused`);
    expect(chain.links.find((l) => l.id === 'direct')!.evidence).toContain(`${CANARY_NAME} over TCP to 10.244.1.5 (kube-system/coredns-a on node-a): resolved 10.96.0.1`);

    const text = renderDnsChainText([chain], 100);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/^DNS chain for \(financial-ml\) on node-b — probe financial-ml\/netcheck-x-dns0/);
    expect(text).toMatch(/\n {2}2\. lookups through 10\.96\.0\.10: BROKEN\n/);
    expect(text).toMatch(/Verdict: /);
    const md = renderDnsChainMarkdown([chain]);
    expect(md).toMatch(/\| 2 \| lookups through 10\.96\.0\.10 \| \*\*broken\*\* \|/);

    // A run's reports carry the chain: the table and Markdown print it, the JSON has it.
    const result = runResult([verdict({ source: 's', target: 'dns', pass: false, classification: 'dns', outcome: { kind: 'dns-timeout' } })], { dnsChains: [chain] });
    const table = renderTable(result);
    expect(table).toMatch(/\nDNS chain for \(financial-ml\) on node-b/);
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    expect(renderMarkdown(result)).toMatch(/#### DNS chain for \(financial-ml\) on node-b/);
    expect((JSON.parse(renderJson(result)) as { dnsChains: unknown[] }).dnsChains).toHaveLength(1);
  });

  it('a probe pod that could not run: the chain is undecided and says why', () => {
    const { meta } = planDnsChain({ namespace: 'financial-ml', labels: {} }, [], 1000, 0);
    const snapshot: Inventory = { namespaces: [], pods: [], services: [], policies: [], nodes: [], unknown: [] };
    const chain = chainFromResults(
      { namespace: 'financial-ml', labels: {} },
      { kind: 'failed', key: 'dns0', namespace: 'financial-ml', name: 'p', error: Object.assign(new Error('probe pod financial-ml/p could not start: ErrImagePull: nope'), { reason: 'ErrImagePull' }) as never },
      meta,
      facts,
      snapshot,
    );
    expect(chain.verdict.status).toBe('undecided');
    expect(chain.verdict.text).toBe("the chain's probe pod financial-ml/p could not run (ErrImagePull)");
  });
});
