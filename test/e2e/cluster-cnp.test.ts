/**
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) read from a REAL cluster (test/cluster-kit): its CRD is
 * installed, objects applied with kubectl, and the BUILT CLI run from the outside host. No enforcer that runs here
 * implements the API (kube-router v2.1.0 and Calico v3.28 do not), so this proves the reading, the evaluation and
 * the explanations, not a data plane: an Admin-tier Accept is named in the policy column of the cell it decides, and
 * an Admin-tier Deny that kube-router does not enforce shows up as what it is: policy deny, path open.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CellVerdict } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e ClusterNetworkPolicy: skipped — ${skip}`);

// The CRD's shape as network-policy-api v0.3.0 publishes it, reduced to what the API server needs to serve the
// kind at v1alpha2 (the schema itself is netcheck's to check; the API server here keeps unknown fields).
const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'clusternetworkpolicies.policy.networking.k8s.io', annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/network-policy-api/pull/300' } },
  spec: {
    group: 'policy.networking.k8s.io',
    scope: 'Cluster',
    names: { kind: 'ClusterNetworkPolicy', plural: 'clusternetworkpolicies', listKind: 'ClusterNetworkPolicyList', singular: 'clusternetworkpolicy', shortNames: ['cnp'] },
    versions: [{ name: 'v1alpha2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

const POLICIES = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'serving-from-seldon' },
      spec: {
        tier: 'Admin', priority: 10, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'financial-ml' } } },
        ingress: [{ name: 'accept-seldon', action: 'Accept', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'seldon-system' } } }] }],
      },
    },
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'training-lockdown' },
      spec: {
        tier: 'Admin', priority: 20, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'financial-mlops-pytorch' } } },
        ingress: [{ name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] }],
      },
    },
  ],
};

describe.skipIf(skip !== undefined)('ClusterNetworkPolicy on the real cluster (no enforcer implements it)', { timeout: 240_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let dir: string;
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);

  beforeAll(async () => {
    c = cluster();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-cnp-'));
    writeFileSync(join(dir, 'crd.json'), JSON.stringify(CRD));
    writeFileSync(join(dir, 'policies.json'), JSON.stringify(POLICIES));
    await kubectl('apply', '-f', join(dir, 'crd.json'));
    await kubectl('wait', '--for=condition=established', '--timeout=60s', 'crd/clusternetworkpolicies.policy.networking.k8s.io');
    await kubectl('apply', '-f', join(dir, 'policies.json'));
  });
  afterAll(async () => {
    if (dir) {
      await kubectl('delete', '-f', join(dir, 'policies.json'), '--ignore-not-found').catch(() => undefined);
      await kubectl('delete', '-f', join(dir, 'crd.json'), '--ignore-not-found').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run: the Accept is named with tier, priority, rule and action; the unenforced Deny is judged deny while the path stays open; the snapshot lists both', async () => {
    const scenario = join(dir, 'cnp.yaml');
    writeFileSync(scenario, JSON.stringify({
      apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: 'cnp' }, defaults: { timeout: '1s', retries: 0 },
      sources: { seldon: { namespace: 'seldon-system', as: 'deployment/seldon-scheduler' } },
      targets: { predictor: { service: 'financial-predictor', namespace: 'financial-ml', port: 8080 }, 'training-api': { service: 'training-controller', namespace: 'financial-mlops-pytorch', port: 8080 } },
      matrix: { seldon: { allow: ['predictor', 'training-api'] } },
    }));
    const json = join(dir, 'out.json');
    const snapshotFile = join(dir, 'snapshot.json');
    const run = await runCli(['run', scenario, '--budget', '60s', '--no-progress', '-o', `json=${json}`, '-o', `snapshot=${snapshotFile}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells } = JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] };
    const predictor = cells.find((x) => x.target === 'predictor')!;
    expect(predictor.policy).toBe('allow');
    expect(predictor.policyExplanation?.join('\n')).toMatch(/ClusterNetworkPolicy serving-from-seldon \(tier Admin, priority 10\) ingress\[0\] 'accept-seldon': Accept/);
    const training = cells.find((x) => x.target === 'training-api')!;
    expect(training.policy).toBe('deny');
    expect(training.policyExplanation?.[0]).toMatch(/ClusterNetworkPolicy training-lockdown \(tier Admin, priority 20\) ingress\[0\] 'deny-all': Deny/);
    // kube-router does not enforce it: the path is open, against the policy (and as the intent says).
    expect(training.path).toBe('open');
    expect(training.pass).toBe(true);
    expect(run.code).toBe(0);
    const facts = (JSON.parse(readFileSync(snapshotFile, 'utf8')) as { result: { facts: { policies: Array<{ kind: string; name: string; resourceVersion?: string }> } } }).result.facts;
    const cnps = facts.policies.filter((p) => p.kind === 'ClusterNetworkPolicy');
    expect(cnps.map((p) => p.name).sort()).toEqual(['serving-from-seldon', 'training-lockdown']);
    expect(cnps.every((p) => /^\d+$/.test(p.resourceVersion ?? ''))).toBe(true);
  });
});
