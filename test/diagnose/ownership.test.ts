import { describe, expect, it } from 'vitest';
import { flowArea, policyArea, policyResponsibility, responsibilityFor } from '../../src/diagnose/ownership.js';
import { readFileSync } from 'node:fs';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';

describe('ownership by the responsibility matrix', () => {
  it('DNS, CNI, namespace labels, baselines, cross-namespace and rights are the platform team\u2019s; own policies and workloads the application team\u2019s', () => {
    const platform = ['dns', 'cni', 'namespace-labels', 'baseline-policy', 'cross-namespace-policy', 'rights', 'probe-image'] as const;
    for (const area of platform) expect(responsibilityFor(area).owner, area).toBe('platform team');
    for (const area of ['application-policy', 'workload'] as const) expect(responsibilityFor(area).owner, area).toBe('application team');
  });

  it('a flow is owned by what it crosses: DNS to kube-system, between namespaces, inside one', () => {
    expect(flowArea({ sourceNamespace: 'financial-ml', destinationNamespace: 'kube-system', port: 53 })).toBe('dns');
    expect(flowArea({ sourceNamespace: 'financial-ml', destinationNamespace: 'kube-system', port: 443 })).toBe('cross-namespace-policy');
    expect(flowArea({ sourceNamespace: 'financial-ml', destinationNamespace: 'seldon-system', port: 9000 })).toBe('cross-namespace-policy');
    expect(flowArea({ sourceNamespace: 'financial-ml', destinationNamespace: 'financial-ml', port: 8080 })).toBe('application-policy');
    expect(flowArea({ destinationNamespace: 'financial-ml', port: 80 })).toBe('application-policy');
  });

  it('policies by shape: a default deny and kube-system\u2019s are baselines, cross-namespace rules the platform\u2019s, same-namespace rules the application\u2019s', () => {
    const base = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] as Array<'Ingress' | 'Egress'> };
    expect(policyArea({ name: 'deny', namespace: 'app', ...base })).toBe('baseline-policy');
    expect(policyArea({ name: 'x', namespace: 'kube-system', ...base, ingress: [{}] })).toBe('baseline-policy');
    expect(policyArea({ name: 'dns', namespace: 'app', ...base, egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'kube-system' } } }] }] })).toBe('baseline-policy');
    expect(policyArea({ name: 'own', namespace: 'app', podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] })).toBe('application-policy');
    const path = 'scenarios/financial-ml/manifests/policies.yaml';
    const { policies } = snapshotFromManifestFiles([{ path, text: readFileSync(path, 'utf8') }]).snapshot;
    const baseline = policies.find((p) => p.name === 'financial-ml-baseline');
    expect(baseline && policyResponsibility(baseline).owner).toBe('platform team');
  });
});
