/**
 * The seed's plan for objects the cluster provides itself (issue 15 item 4): a manifest describing kube-system's
 * CoreDNS is not applied — the cluster runs its own image, Corefile and RBAC — but where it places the pods
 * (nodeName, nodeSelector, affinity, tolerations, topologySpreadConstraints) is what the cluster's copy gets.
 * The real cluster started from such manifests is checked in test/e2e/cluster-dns-endpoints.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { coreDnsObjects } from './addons.js';
import { objectKey, planSeed, withPlacement } from './seed.js';

const IMAGE = 'netcheck.local/coredns:test';
const provided = new Set(coreDnsObjects(IMAGE).map((o) => objectKey(o as Record<string, any>)));

const placement = {
  nodeSelector: { 'node-role.kubernetes.io/system': 'true' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }],
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } } }] } },
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
};

/** kube-system's CoreDNS as a platform's manifests describe it, with `spec` extra fields in its pod template. */
function manifestCoreDns(spec: Record<string, unknown>) {
  return {
    source: 'kube-system.yaml:1',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: { metadata: { labels: { 'k8s-app': 'kube-dns' } }, spec: { containers: [{ name: 'coredns', image: 'coredns/coredns:1.11.3' }], ...spec } },
      },
    },
  };
}

const deploymentOf = (objects: Array<Record<string, any>>) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'coredns')!;

describe('the cluster\'s own CoreDNS, described by the manifests', () => {
  it('is not applied from the manifests, but their placement is kept and named', () => {
    const plan = planSeed([manifestCoreDns(placement)], provided);
    expect(plan.objects).toEqual([]);
    expect(plan.placement).toEqual({ 'Deployment/kube-system/coredns': placement });
    expect(plan.keptFromCluster).toEqual(['Deployment kube-system/coredns (placed as the manifests say: nodeSelector, affinity, tolerations, topologySpreadConstraints)']);
  });

  it('runs where the manifests place it: their fields replace the cluster\'s, everything else stays the cluster\'s', () => {
    const plan = planSeed([manifestCoreDns({ ...placement, nodeName: 'node-b' })], provided);
    const own = coreDnsObjects(IMAGE);
    const placed = withPlacement(own, plan.placement);
    const spec = deploymentOf(placed).spec.template.spec;
    expect(spec).toMatchObject({ ...placement, nodeName: 'node-b' });
    // The cluster's image, service account, Corefile volume and replica count, not the manifest's.
    const ownSpec = deploymentOf(own).spec.template.spec;
    expect(spec.containers).toEqual(ownSpec.containers);
    expect(spec.containers[0].image).toBe(IMAGE);
    expect(spec.serviceAccountName).toBe('coredns');
    expect(spec.volumes).toEqual(ownSpec.volumes);
    expect(deploymentOf(placed).spec.replicas).toBe(1);
    // Everything but the Deployment is untouched, and the cluster's own list is not modified.
    expect(placed.filter((o) => o.kind !== 'Deployment')).toEqual(own.filter((o) => o.kind !== 'Deployment'));
    expect(deploymentOf(own).spec.template.spec).not.toHaveProperty('nodeSelector');
  });

  it('without placement in the manifests, the cluster\'s CoreDNS is exactly its own', () => {
    const plan = planSeed([manifestCoreDns({})], provided);
    expect(plan.placement).toEqual({});
    expect(plan.keptFromCluster).toEqual(['Deployment kube-system/coredns']);
    expect(withPlacement(coreDnsObjects(IMAGE), plan.placement)).toEqual(coreDnsObjects(IMAGE));
  });

  it('keeps placement only for what the cluster provides: a workload of the platform is applied as written', () => {
    const app = manifestCoreDns(placement);
    app.object.metadata = { name: 'web', namespace: 'shop' };
    const plan = planSeed([app], provided);
    expect(plan.placement).toEqual({});
    expect(plan.objects).toHaveLength(1);
    expect(plan.objects[0]!.spec.template.spec).toMatchObject(placement);
  });
});
