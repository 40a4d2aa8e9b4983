/**
 * The k3s variant of financial-ml (test/e2e/k3s-variant.ts), checked here because the k3s test itself only runs
 * where a container runtime exists: it applies no second CoreDNS, sends nothing to LoadBalancer addresses, and
 * its cells — known gaps included — still agree with the policy engine on the shipped manifests.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { Labels } from '../../src/policy/types.js';
import { assessCellPolicy } from '../../src/run/policy-view.js';
import { checkScenarioAgainstSnapshot } from '../../src/scenario/check-manifests.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { Scenario } from '../../src/scenario/types.js';
import { buildK3sScenario, selectK3sManifests, type LiveService } from './k3s-variant.js';

const repo = path.resolve(import.meta.dirname, '../..');
const manifestsDir = path.join(repo, 'scenarios/financial-ml/manifests');
const scenarioDoc = parse(readFileSync(path.join(repo, 'scenarios/financial-ml/scenario.yaml'), 'utf8')) as Record<string, any>;
const manifests = readdirSync(manifestsDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(path.join(manifestsDir, f), 'utf8')).map((d) => d.toJS() as Record<string, any>))
  .filter((o) => o !== null);

/** k3s's own kube-dns (its coredns.yaml manifest), with the port list varied per case. */
function clusterServices(kubeDnsPorts: LiveService['ports']): LiveService[] {
  const ours = selectK3sManifests(manifests)
    .filter((o) => o.kind === 'Service')
    .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name, ports: o.spec.ports.map((p: any) => ({ name: p.name, port: p.port })) }));
  return [...ours, { namespace: 'kube-system', name: 'kube-dns', ports: kubeDnsPorts }];
}

const K3S_KUBE_DNS = [
  { name: 'dns', port: 53 },
  { name: 'dns-tcp', port: 53 },
  { name: 'metrics', port: 9153 },
];

function variant(kubeDnsPorts: LiveService['ports']): { scenario: Scenario; notes: string[] } {
  const built = buildK3sScenario(scenarioDoc, manifests, clusterServices(kubeDnsPorts), manifestsDir);
  return { scenario: parseScenario(stringify(built.scenario), path.join(repo, 'k3s-scenario.yaml')), notes: built.notes };
}

const cellKeys = (s: Scenario): string[] => s.cells.map((c) => `${c.source} -> ${c.target}`);
const original = parseScenario(readFileSync(path.join(repo, 'scenarios/financial-ml/scenario.yaml'), 'utf8'), path.join(repo, 'scenarios/financial-ml/scenario.yaml'));

describe('k3s manifests', () => {
  const selected = selectK3sManifests(manifests);

  it('leave CoreDNS to the cluster, keep the kube-system Namespace and its `name` label, Namespaces first', () => {
    expect(selected.filter((o) => o.metadata?.namespace === 'kube-system')).toEqual([]);
    expect(selected.find((o) => o.kind === 'Namespace' && o.metadata.name === 'kube-system')?.metadata.labels).toEqual({ name: 'kube-system' });
    expect(manifests.length - selected.length).toBe(2);
    const firstOther = selected.findIndex((o) => o.kind !== 'Namespace');
    expect(selected.slice(firstOther).filter((o) => o.kind === 'Namespace')).toEqual([]);
    expect(firstOther).toBe(7);
  });

  it('give every workload a command serving each declared TCP port, and a readiness probe on one of them', () => {
    const problems: string[] = [];
    for (const o of selected.filter((m) => m.kind === 'Deployment')) {
      for (const c of o.spec.template.spec.containers) {
        const tcp = (c.ports ?? []).filter((p: any) => (p.protocol ?? 'TCP') === 'TCP');
        if (c.command?.[0] !== 'python') problems.push(`${o.metadata.name}: command ${JSON.stringify(c.command)}`);
        if (JSON.stringify(c.args) !== JSON.stringify(tcp.map((p: any) => String(p.containerPort)))) problems.push(`${o.metadata.name}: args ${JSON.stringify(c.args)}`);
        if (!tcp.some((p: any) => p.name === c.readinessProbe?.tcpSocket?.port)) problems.push(`${o.metadata.name}: readiness ${JSON.stringify(c.readinessProbe)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('k3s scenario', () => {
  it.each([
    { cluster: "k3s's kube-dns (ports dns, dns-tcp, metrics)", ports: K3S_KUBE_DNS, metrics: 'metrics' as const },
    { cluster: 'a kube-dns with unnamed ports', ports: [{ port: 53 }, { port: 9153 }], metrics: 9153 },
    { cluster: 'a kube-dns without metrics', ports: [{ name: 'dns', port: 53 }], metrics: undefined },
  ])('on $cluster: no runner, no LB address, every other cell kept', ({ ports, metrics }) => {
    const { scenario, notes } = variant(ports);
    expect(scenario.sources.map((s) => s.kind)).not.toContain('runner');
    expect(scenario.targets.filter((t) => t.kind === 'address')).toEqual([]);
    const kept = cellKeys(original).filter((k) => !k.startsWith('ci-runner ') && (metrics !== undefined || !k.endsWith(' dns-metrics')));
    expect(cellKeys(scenario)).toEqual(kept);
    const dnsMetrics = scenario.targets.find((t) => t.name === 'dns-metrics');
    expect(dnsMetrics && dnsMetrics.kind === 'service' ? dnsMetrics.port : undefined).toBe(metrics);
    expect(notes.some((n) => n.startsWith('source ci-runner dropped'))).toBe(true);
  });

  it.each([
    { target: 'mlflow-lb', shape: { kind: 'service', service: 'mlflow', namespace: 'mlflow', port: 5000, http: { path: '/health', expectStatus: 200 } } },
    { target: 'minio-lb', shape: { kind: 'service', service: 'minio', namespace: 'minio', port: 9000 } },
    { target: 'inference-lb', shape: { kind: 'service', service: 'seldon-mesh', namespace: 'financial-ml', port: 80 } },
  ])('reaches $target through its Service, not the MetalLB address', ({ target, shape }) => {
    expect(variant(K3S_KUBE_DNS).scenario.targets.find((t) => t.name === target)).toMatchObject(shape);
  });

  it('agrees with the policy engine on every cell, and keeps the in-cluster known gaps', async () => {
    const { scenario } = variant(K3S_KUBE_DNS);
    const snapshot = snapshotFromManifestFiles(await readInputFiles([manifestsDir])).snapshot;
    expect(() => checkScenarioAgainstSnapshot(scenario, snapshot)).not.toThrow();
    const engine = createPolicyEngine(snapshot);
    const disagreements: string[] = [];
    for (const c of scenario.cells) {
      const source = scenario.sources.find((s) => s.name === c.source);
      const target = scenario.targets.find((t) => t.name === c.target);
      if (!source || source.kind !== 'pod' || !target) throw new Error(`${c.source} -> ${c.target} resolves to an in-cluster source`);
      const as = source.as;
      const pod = as && snapshot.pods.find((p) => p.namespace === source.namespace && p.owner === `${as.kind}/${as.name}`);
      const labels: Labels = { ...pod?.labels, ...source.labels };
      const view = assessCellPolicy(engine, snapshot, source, labels, undefined, target).view;
      if ((view === c.expect) === (c.known !== undefined)) disagreements.push(`${c.source} -> ${c.target}: expect ${c.expect}, policy ${view}, known ${c.known !== undefined}`);
    }
    expect(disagreements).toEqual([]);
    expect(cellKeys({ ...scenario, cells: scenario.cells.filter((c) => c.known !== undefined) })).toEqual(
      original.cells.filter((c) => c.known !== undefined && c.source !== 'ci-runner').map((c) => `${c.source} -> ${c.target}`),
    );
  });
});
