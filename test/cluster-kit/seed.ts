/**
 * `--manifests`: the platform under test, applied to the real cluster as written, except that the images of
 * its workloads cannot be pulled here (no registry is reachable). Each container runs the local listener image
 * instead, listening on exactly the ports the container declares (TCP and UDP; HTTP 200 on any path), so its
 * Services get endpoints and its readiness probes pass. Labels, ports, names, probes and everything else stay.
 * An object the cluster provides itself (its CoreDNS) is not applied, but where the manifests place its pods is kept.
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
  /** Where the manifests put the pods of objects the cluster provides, by objectKey: the cluster's copy runs there. */
  placement: Record<string, Placement>;
}

/**
 * The pod spec fields that say where a pod runs. A manifest describing the cluster's own CoreDNS decides where it
 * runs (on the platform's system nodes, tolerating their taint): the cluster keeps its own image, Corefile and
 * RBAC, and takes these.
 */
export const PLACEMENT_FIELDS = ['nodeName', 'nodeSelector', 'affinity', 'tolerations', 'topologySpreadConstraints'] as const;
export type Placement = Partial<Record<(typeof PLACEMENT_FIELDS)[number], unknown>>;
type PlacementByKey = Readonly<Record<string, Placement>>;

function placementOf(object: Record<string, any>): Placement | undefined {
  const spec = podSpecOf(object);
  if (spec === undefined) return undefined;
  const placement: Placement = {};
  const fields = spec as Record<string, unknown>;
  for (const field of PLACEMENT_FIELDS) if (fields[field] !== undefined) placement[field] = structuredClone(fields[field]);
  return Object.keys(placement).length > 0 ? placement : undefined;
}

/**
 * The cluster's own objects with the manifests' placement written into their pod specs (replacing the cluster's
 * placement field by field); everything else stays the cluster's. Returns copies.
 */
export function withPlacement<T extends Record<string, any>>(objects: readonly T[], placement: PlacementByKey): T[] {
  return objects.map((object) => {
    const wanted = placement[objectKey(object)];
    const copy = structuredClone(object);
    const spec = podSpecOf(copy) as Record<string, unknown> | undefined;
    if (wanted === undefined || spec === undefined) return copy;
    Object.assign(spec, structuredClone(wanted));
    return copy;
  });
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
  const placement: Record<string, Placement> = {};
  const objects: Record<string, any>[] = [];
  for (const { object } of manifests) {
    const copy = structuredClone(object);
    if (provided.has(objectKey(copy))) {
      const where = placementOf(copy);
      if (where !== undefined) placement[objectKey(copy)] = where;
      const placed = where ? ` (placed as the manifests say: ${Object.keys(where).join(', ')})` : '';
      kept.push(`${copy.kind} ${copy.metadata.namespace}/${copy.metadata.name}${placed}`);
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
  return { objects, replacedImages: [...replaced].sort(), keptFromCluster: kept, placement };
}

/** Namespaces first (everything else lives in one), then the rest in file order. */
export function applyOrder(objects: Record<string, any>[]): Record<string, any>[] {
  return [...objects.filter((o) => o.kind === 'Namespace'), ...objects.filter((o) => o.kind !== 'Namespace')];
}
