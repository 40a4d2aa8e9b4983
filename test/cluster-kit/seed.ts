/**
 * `--manifests`: the platform under test, applied to the real cluster as written, except that the images of
 * its workloads cannot be pulled here (no registry is reachable). Each container runs the local listener image
 * instead, listening on exactly the ports the container declares (TCP and UDP; HTTP 200 on any path), so its
 * Services get endpoints and its readiness probes pass. Labels, ports, names, probes and everything else stay.
 */
import { LISTENER_IMAGE } from './images.js';
import type { ManifestObject } from './manifests.js';


const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController']);

interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ containerPort?: number; protocol?: string }>;
}

/** The pod spec a workload object carries (its template's, or its own for a Pod). */
function podSpecOf(object: Record<string, any>): { containers?: Container[]; initContainers?: Container[] } | undefined {
  if (object.kind === 'Pod') return object.spec;
  if (POD_TEMPLATE_KINDS.has(object.kind)) return object.spec?.template?.spec;
  if (object.kind === 'CronJob') return object.spec?.jobTemplate?.spec?.template?.spec;
  return undefined;
}

export interface SeedPlan {
  objects: Record<string, any>[];
  /** Images replaced, for the one line that says so. */
  replacedImages: string[];
  /** Objects the cluster already provides (kube-system's CoreDNS), kept as the cluster runs them. */
  keptFromCluster: string[];
}

/** `kind/namespace/name` of objects the cluster installs itself; a manifest naming one describes it, nothing more. */
export type ProvidedObjects = ReadonlySet<string>;

export function objectKey(o: Record<string, any>): string {
  return `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Rewrites workload containers to the listener; init containers would never finish under it, so they go. */
export function planSeed(manifests: ManifestObject[], provided: ProvidedObjects): SeedPlan {
  const replaced = new Set<string>();
  const kept: string[] = [];
  const objects: Record<string, any>[] = [];
  for (const { object } of manifests) {
    const copy = structuredClone(object);
    if (provided.has(objectKey(copy))) {
      kept.push(`${copy.kind} ${copy.metadata.namespace}/${copy.metadata.name}`);
      continue;
    }
    const spec = podSpecOf(copy);
    if (spec !== undefined) {
      for (const container of spec.containers ?? []) {
        if (container.image !== undefined) replaced.add(container.image);
        container.image = LISTENER_IMAGE;
        container.command = ['node', '/listener.cjs'];
        container.args = (container.ports ?? []).filter((p) => p.containerPort !== undefined).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
      }
      for (const container of spec.initContainers ?? []) if (container.image !== undefined) replaced.add(container.image);
      delete spec.initContainers;
    }
    objects.push(copy);
  }
  return { objects, replacedImages: [...replaced].sort(), keptFromCluster: kept };
}

/** Namespaces first (everything else lives in one), then the rest in file order. */
export function applyOrder(objects: Record<string, any>[]): Record<string, any>[] {
  return [...objects.filter((o) => o.kind === 'Namespace'), ...objects.filter((o) => o.kind !== 'Namespace')];
}
