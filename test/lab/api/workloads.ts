/**
 * What workload controllers would create from a seeded Deployment/StatefulSet/DaemonSet/ReplicaSet/Job:
 * pods with the template's labels and spec, named as those controllers name them.
 */
import { createHash } from 'node:crypto';
import { randomSuffix, type KubeObject } from './store.js';

/** Seeded workloads run at most this many replicas: the lab is for connectivity, not scale. */
const MAX_REPLICAS = 3;

/** A stable short name part (pod-template-hash style) from the alphabet generateName uses. */
export function shortHash(text: string, length: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[digest[i]! % alphabet.length];
  return out;
}

/** Pods a workload controller would create, named as those controllers name them. */
export function podsForWorkload(workload: Record<string, any>, nodes: string[], isDns: boolean): KubeObject[] {
  const kind = workload.kind as string;
  const name = workload.metadata.name as string;
  const namespace = workload.metadata.namespace ?? 'default';
  const template = workload.spec?.template ?? {};
  const templateLabels: Record<string, string> = Object.fromEntries(
    Object.entries(template.metadata?.labels ?? {}).map(([k, v]) => [k, String(v)]),
  );
  const replicasWanted = kind === 'DaemonSet' ? nodes.length : kind === 'Job' ? (workload.spec?.parallelism ?? 1) : (workload.spec?.replicas ?? 1);
  const replicas = Math.min(isDns ? 1 : MAX_REPLICAS, Math.max(0, Number(replicasWanted)));
  const hash = shortHash(`${namespace}/${name}/${JSON.stringify(template)}`, 10);
  const pods: KubeObject[] = [];
  for (let i = 0; i < replicas; i++) {
    const labels = { ...templateLabels };
    let podName: string;
    let nodeName: string | undefined;
    switch (kind) {
      case 'Deployment':
        labels['pod-template-hash'] = hash;
        podName = `${name}-${hash}-${randomSuffix(5)}`;
        break;
      case 'StatefulSet':
        podName = `${name}-${i}`;
        labels['statefulset.kubernetes.io/pod-name'] = podName;
        break;
      case 'DaemonSet':
        podName = `${name}-${randomSuffix(5)}`;
        nodeName = nodes[i];
        break;
      case 'Job':
        podName = `${name}-${randomSuffix(5)}`;
        labels['job-name'] = name;
        labels['batch.kubernetes.io/job-name'] = name;
        break;
      default:
        podName = `${name}-${randomSuffix(5)}`;
        break;
    }
    const spec = structuredClone(template.spec ?? {});
    if (nodeName) spec.nodeName = nodeName;
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace,
        labels,
        annotations: { ...(template.metadata?.annotations ?? {}) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: kind === 'Deployment' ? 'ReplicaSet' : kind, name: kind === 'Deployment' ? `${name}-${hash}` : name, uid: shortHash(name, 8), controller: true }],
      } as unknown as KubeObject['metadata'],
      spec,
    });
  }
  return pods;
}
