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

function templateLabelsOf(workload: Record<string, any>): Record<string, string> {
  return Object.fromEntries(Object.entries(workload.spec?.template?.metadata?.labels ?? {}).map(([k, v]) => [k, String(v)]));
}

/** `controller: true` owner reference to a stored workload object, as its controller writes it. */
export function ownerReferenceTo(owner: Record<string, any>): Record<string, unknown> {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/**
 * The ReplicaSet a Deployment controller makes for the Deployment's template, named `<name>-<pod-template-hash>`
 * with that hash in its selector and template labels (src/cluster finds a Deployment's pods through it).
 */
export function replicaSetForDeployment(deployment: Record<string, any>): KubeObject {
  const name = deployment.metadata.name as string;
  const namespace = deployment.metadata.namespace ?? 'default';
  const template = deployment.spec?.template ?? {};
  const hash = shortHash(`${namespace}/${name}/${JSON.stringify(template)}`, 10);
  const labels = { ...templateLabelsOf(deployment), 'pod-template-hash': hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace,
      labels,
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      ...(deployment.metadata.uid ? { ownerReferences: [ownerReferenceTo(deployment)] } : {}),
    } as unknown as KubeObject['metadata'],
    spec: {
      replicas: deployment.spec?.replicas ?? 1,
      selector: { matchLabels: { ...(deployment.spec?.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
      template: { ...structuredClone(template), metadata: { ...structuredClone(template.metadata ?? {}), labels } },
    },
  };
}

/**
 * Pods a workload controller would create, named as those controllers name them. A Deployment's pods are its
 * ReplicaSet's (replicaSetForDeployment): pass the ReplicaSet. When the workload is a stored object (it has
 * a uid) the pods carry a controller owner reference to it.
 */
export function podsForWorkload(workload: Record<string, any>, nodes: string[], isDns: boolean): KubeObject[] {
  const kind = workload.kind as string;
  const name = workload.metadata.name as string;
  const namespace = workload.metadata.namespace ?? 'default';
  const template = workload.spec?.template ?? {};
  const templateLabels = templateLabelsOf(workload);
  const replicasWanted = kind === 'DaemonSet' ? nodes.length : kind === 'Job' ? (workload.spec?.parallelism ?? 1) : (workload.spec?.replicas ?? 1);
  const replicas = Math.min(isDns ? 1 : MAX_REPLICAS, Math.max(0, Number(replicasWanted)));
  const pods: KubeObject[] = [];
  for (let i = 0; i < replicas; i++) {
    const labels = { ...templateLabels };
    let podName: string;
    let nodeName: string | undefined;
    switch (kind) {
      case 'StatefulSet':
        podName = `${name}-${i}`;
        labels['statefulset.kubernetes.io/pod-name'] = podName;
        labels['apps.kubernetes.io/pod-index'] = String(i);
        break;
      case 'DaemonSet':
        podName = `${name}-${randomSuffix(5)}`;
        nodeName = nodes[i];
        break;
      case 'Job':
        podName = `${name}-${randomSuffix(5)}`;
        labels['job-name'] = name;
        labels['batch.kubernetes.io/job-name'] = name;
        if (workload.metadata.uid) {
          labels['controller-uid'] = workload.metadata.uid;
          labels['batch.kubernetes.io/controller-uid'] = workload.metadata.uid;
        }
        break;
      case 'ReplicaSet':
        podName = `${name}-${randomSuffix(5)}`;
        break;
      default:
        throw new Error(`lab: no workload controller for kind ${kind}${kind === 'Deployment' ? ' (pass its ReplicaSet)' : ''}`);
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
        ...(workload.metadata.uid ? { ownerReferences: [ownerReferenceTo(workload)] } : {}),
      } as unknown as KubeObject['metadata'],
      spec,
    });
  }
  return pods;
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Zero counts are left out, as the API server's omitempty leaves them out. */
function counts(entries: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(entries).filter(([, n]) => n > 0));
}

/** The status a workload's controller reports from the pods it owns (a Deployment: its ReplicaSets' pods). */
export function workloadStatus(workload: KubeObject, owned: KubeObject[], nodeCount: number): Record<string, unknown> {
  const live = owned.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const ready = live.filter(isReady).length;
  const observedGeneration = Number(workload.metadata.generation ?? 1);
  switch (workload.kind) {
    case 'Deployment':
      return {
        observedGeneration,
        ...counts({ replicas: live.length, updatedReplicas: live.length, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: live.length - ready }),
        conditions: [
          ready > 0 || Number(workload.spec?.replicas ?? 1) === 0
            ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
            : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
        ],
      };
    case 'ReplicaSet':
      return { observedGeneration, replicas: live.length, ...counts({ fullyLabeledReplicas: live.length, readyReplicas: ready, availableReplicas: ready }) };
    case 'StatefulSet':
      return {
        observedGeneration,
        replicas: live.length,
        ...counts({ currentReplicas: live.length, updatedReplicas: live.length, readyReplicas: ready, availableReplicas: ready }),
        collisionCount: 0,
      };
    case 'DaemonSet':
      return {
        observedGeneration,
        desiredNumberScheduled: nodeCount,
        currentNumberScheduled: live.length,
        numberMisscheduled: 0,
        numberReady: ready,
        ...counts({ updatedNumberScheduled: live.length, numberAvailable: ready, numberUnavailable: nodeCount - ready }),
      };
    case 'Job': {
      const succeeded = owned.filter((p) => p.status?.phase === 'Succeeded').length;
      const failed = owned.filter((p) => p.status?.phase === 'Failed').length;
      const completions = Number(workload.spec?.completions ?? 1);
      const startTime = workload.status?.startTime ?? workload.metadata.creationTimestamp;
      const complete = succeeded >= completions;
      return {
        ...counts({ active: live.length, succeeded, failed }),
        ready,
        startTime,
        ...(complete
          ? {
              completionTime: workload.status?.completionTime ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              conditions: [{ type: 'Complete', status: 'True' }],
            }
          : {}),
      };
    }
    default:
      return workload.status ?? {};
  }
}
