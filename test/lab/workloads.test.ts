/**
 * Workload objects (apps/v1 Deployments, StatefulSets, DaemonSets, ReplicaSets; batch/v1 Jobs) served by the
 * lab as a real API server serves them: discovery with shortNames, get/list/watch through kubectl and
 * client-node, replica counts in status, owner references from pods up to the workload, the forbid fault,
 * and a Deployment created through the API making its pods (deleted with it).
 */
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubectlWith, useFakeLab, waitFor } from './lab-fixture.js';

const MANIFESTS = join(import.meta.dirname, '..', '..', 'scenarios', 'financial-ml', 'manifests');
const getLab = useFakeLab({ manifests: [MANIFESTS] });

const kubectl = kubectlWith(() => getLab().lab.kubeconfigPath);

function apps(): k8s.AppsV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(getLab().lab.kubeconfigPath);
  return kc.makeApiClient(k8s.AppsV1Api);
}

describe('workload objects through kubectl', () => {
  it('get deploy -A lists the seeded Deployments with their ready counts', async () => {
    const { stdout, code } = await kubectl('get', 'deploy', '-A');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    expect(stdout).toMatch(/^mlflow\s+mlflow\s+1\/1\s+1\s+1\s+\S+$/m);
    expect(stdout).toMatch(/^kube-system\s+coredns\s/m);
  });

  it('get deployment mlflow -o jsonpath gives the template labels', async () => {
    const { stdout, code } = await kubectl('get', 'deployment', 'mlflow', '-n', 'mlflow', '-o', 'jsonpath={.spec.template.metadata.labels}');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ app: 'mlflow' });
  });

  it.each([
    ['deploy', 'deployments', 'apps/v1'],
    ['sts', 'statefulsets', 'apps/v1'],
    ['ds', 'daemonsets', 'apps/v1'],
    ['rs', 'replicasets', 'apps/v1'],
    ['jobs', 'jobs', 'batch/v1'],
  ])('api-resources maps %s to %s (%s)', async (short, plural, groupVersion) => {
    const { stdout, code } = await kubectl('api-resources', '--api-group', groupVersion.split('/')[0]!, '--no-headers');
    expect(code).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith(`${plural} `));
    expect(line).toBeDefined();
    expect(line!.split(/\s+/)).toEqual(expect.arrayContaining([groupVersion, 'true']));
    if (short !== plural) expect(line!.split(/\s+/)[1]).toBe(short);
  });

  it('a Deployment\'s ReplicaSet is listed by shortName and owns the pods', async () => {
    const { stdout, code } = await kubectl('get', 'rs', '-n', 'mlflow', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{"\\n"}{end}');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^mlflow-[a-z0-9]{10} Deployment\/mlflow$/);
  });

  it('the forbid fault covers deployments in group apps, worded as RBAC', async () => {
    const lab = getLab().lab;
    await lab.setFaults({ forbid: [{ verb: 'get', resource: 'deployments', namespace: 'mlflow' }] });
    try {
      const denied = await kubectl('get', 'deployment', 'mlflow', '-n', 'mlflow');
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain(
        'deployments.apps "mlflow" is forbidden: User "netcheck" cannot get resource "deployments" in API group "apps" in the namespace "mlflow"',
      );
      expect((await kubectl('get', 'deployments', '-n', 'mlflow')).code).toBe(0); // list is another verb
    } finally {
      await lab.setFaults({ forbid: [] });
    }
  });
});

describe('workload objects through client-node', () => {
  it('lists every kind across namespaces, with status counts matching the running pods', async () => {
    const client = apps();
    const deployments = await client.listDeploymentForAllNamespaces();
    expect(deployments.items.map((d) => `${d.metadata!.namespace}/${d.metadata!.name}`)).toEqual(
      expect.arrayContaining(['mlflow/mlflow', 'minio/minio', 'financial-ml/financial-predictor', 'kube-system/coredns']),
    );
    const mlflow = await client.readNamespacedDeployment({ name: 'mlflow', namespace: 'mlflow' });
    expect(mlflow.status).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    expect(mlflow.spec!.template.metadata!.labels).toEqual({ app: 'mlflow' });

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(getLab().lab.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const [pod] = (await core.listNamespacedPod({ namespace: 'mlflow', labelSelector: 'app=mlflow' })).items;
    const podOwner = pod!.metadata!.ownerReferences![0]!;
    expect(podOwner).toMatchObject({ apiVersion: 'apps/v1', kind: 'ReplicaSet', controller: true });
    const rs = await client.readNamespacedReplicaSet({ name: podOwner.name, namespace: 'mlflow' });
    expect(rs.metadata!.uid).toBe(podOwner.uid);
    expect(rs.metadata!.ownerReferences![0]).toMatchObject({ kind: 'Deployment', name: 'mlflow', uid: mlflow.metadata!.uid });
  });

  it('watch from resourceVersion 0 sends the current Deployments as ADDED', async () => {
    const lab = getLab().lab;
    const response = await fetch(`${lab.server}/apis/apps/v1/namespaces/mlflow/deployments?watch=1&resourceVersion=0&timeoutSeconds=1`);
    const lines = (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { kind: string; metadata: { name: string } } });
    expect(lines.map((l) => `${l.type} ${l.object.kind}/${l.object.metadata.name}`)).toEqual(['ADDED Deployment/mlflow']);
  });

  it('a Deployment created through the API makes its pods; deleting it deletes them', async () => {
    const client = apps();
    const namespace = 'default';
    await client.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'hello' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'hello' } },
          template: { metadata: { labels: { app: 'hello' } }, spec: { containers: [{ name: 'hello', image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }] } },
        },
      },
    });
    const ready = await waitFor('hello ready', async () => {
      const d = await client.readNamespacedDeployment({ name: 'hello', namespace });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(ready.status?.replicas).toBe(2);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(getLab().lab.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    expect((await core.listNamespacedPod({ namespace, labelSelector: 'app=hello' })).items.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);

    await client.deleteNamespacedDeployment({ name: 'hello', namespace });
    await waitFor('hello pods gone', async () => ((await core.listNamespacedPod({ namespace, labelSelector: 'app=hello' })).items.length === 0 ? true : undefined));
    expect((await client.listNamespacedReplicaSet({ namespace })).items).toEqual([]);
  });

  it('a Deployment whose selector does not select its template is rejected (422)', async () => {
    const error = await apps()
      .createNamespacedDeployment({
        namespace: 'default',
        body: {
          metadata: { name: 'mismatch' },
          spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
        },
      })
      .catch((e: unknown) => e as { code?: number; body?: string });
    expect(error).toMatchObject({ code: 422 });
    expect(String((error as { body?: string }).body)).toContain('`selector` does not match template `labels`');
  });
});
