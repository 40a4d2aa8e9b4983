/**
 * Live cluster -> ClusterSnapshot for the policy engine. With only namespace-scoped rights a
 * cluster-wide list is forbidden: read namespace by namespace, and record in `unknown` what could not
 * be read, rather than fail — a partial snapshot still decides most cells.
 */
import { ClusterError } from '../model/errors.js';
import {
  adminPolicyFromObject,
  compareAdminPolicies,
  compareOtherPolicies,
  compareStrings,
  itemsOfList,
  NAMESPACE_NAME_LABEL,
  namespaceFromObject,
  networkPolicyFromObject,
  nodeFromObject,
  otherPolicyFromObject,
  podFromObject,
  serviceFromObject,
} from '../policy/from-objects.js';
import { CLUSTER_NETWORK_POLICY_VERSIONS } from '../policy/cluster-network-policy.js';
import type { AdminPolicy, NamespaceInfo, NetworkPolicy, NodeInfo, OtherPolicy, PodInfo, ServiceInfo } from '../policy/types.js';
import { podStateFromObject } from './pod-state.js';
import type { Transport } from './transport.js';
import type { Inventory, InventoryOptions, NotVisible } from './types.js';

interface ListKind {
  resource: string;
  /** Path under the server for a namespace, or cluster-wide when namespace is undefined. */
  path: (namespace: string | undefined) => string;
}

const core = (plural: string): ListKind => ({
  resource: plural,
  path: (ns) => (ns === undefined ? `/api/v1/${plural}` : `/api/v1/namespaces/${encodeURIComponent(ns)}/${plural}`),
});
const grouped = (group: string, plural: string): ListKind => ({
  resource: plural,
  path: (ns) =>
    ns === undefined ? `/apis/${group}/${plural}` : `/apis/${group}/namespaces/${encodeURIComponent(ns)}/${plural}`,
});

const kinds = {
  pods: core('pods'),
  services: core('services'),
  endpointslices: grouped('discovery.k8s.io/v1', 'endpointslices'),
  networkpolicies: grouped('networking.k8s.io/v1', 'networkpolicies'),
};

type ListResult = { ok: true; items: unknown[] } | { ok: false; why: string };

async function listOnce(
  transport: Transport,
  kind: ListKind,
  namespace: string | undefined,
  signal: AbortSignal | undefined,
): Promise<ListResult> {
  try {
    const list = await transport.json<{ items?: unknown[] }>({
      verb: 'list',
      resource: kind.resource,
      namespace,
      method: 'GET',
      path: kind.path(namespace),
      signal,
    });
    return { ok: true, items: list.items ?? [] };
  } catch (error) {
    if (error instanceof ClusterError && error.reason === 'Forbidden') {
      return { ok: false, why: `forbidden: list ${kind.resource}` };
    }
    // A namespace that does not exist holds nothing (real API servers answer such lists with an empty list).
    if (error instanceof ClusterError && error.reason === 'NamespaceNotFound') return { ok: true, items: [] };
    // An API server without the resource (e.g. no discovery.k8s.io): say so, do not fail the run.
    if (error instanceof ClusterError && error.reason === 'NotFound') {
      return { ok: false, why: `${kind.resource} not served by the API server` };
    }
    throw error;
  }
}

/**
 * Per-namespace reads of a large cluster would otherwise fire hundreds of requests at once and earn 429s
 * from API priority and fairness; a few at a time per resource kind is as fast and polite.
 */
const perNamespaceConcurrency = 8;

async function mapBounded<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(perNamespaceConcurrency, items.length) }, worker));
  return results;
}

/** The command that shows `resource` in `namespaces` to someone with the rights netcheck lacks. */
export function commandToSee(resource: string, namespaces?: readonly string[]): string {
  const where = namespaces === undefined ? '' : namespaces.length === 1 ? ` -n ${namespaces[0]!}` : ' -A';
  switch (resource) {
    case 'namespaces':
      return 'kubectl get namespaces --show-labels';
    case 'nodes':
      return 'kubectl get nodes -o wide --show-labels';
    case 'pods':
      return `kubectl get pods${where} -o wide --show-labels`;
    case 'networkpolicies':
      return `kubectl describe networkpolicy${where}`;
    default:
      return `kubectl get ${resource}${where}`;
  }
}

/** "not visible with these rights: X (why) — ask the platform team to run `cmd`": one line for reports. */
export function describeNotVisible(n: NotVisible): string {
  return `not visible with these rights: ${n.what} (${n.why}) — ask the platform team to run \`${n.command}\``;
}

/** Namespace by namespace; unreadable namespaces go to `unknown` (and, when forbidden, to `notVisible`). */
async function listEverywhere(
  transport: Transport,
  kind: ListKind,
  namespaces: string[],
  signal: AbortSignal | undefined,
  unknown: string[],
  notVisible: NotVisible[],
): Promise<unknown[]> {
  const results = await mapBounded(namespaces, (ns) => listOnce(transport, kind, ns, signal));
  const items: unknown[] = [];
  // One line per reason, not per namespace: a Role in one namespace of fifty would otherwise print 49 lines.
  const unreadable = new Map<string, string[]>();
  results.forEach((r, i) => {
    if (r.ok) items.push(...r.items);
    else unreadable.set(r.why, [...(unreadable.get(r.why) ?? []), namespaces[i]!]);
  });
  for (const [why, where] of unreadable) {
    unknown.push(`${kind.resource} in namespace${where.length === 1 ? '' : 's'} ${where.join(', ')} (${why})`);
    if (why.startsWith('forbidden')) {
      notVisible.push({ what: `${kind.resource} in ${where.join(', ')}`, why, command: commandToSee(kind.resource, where), resource: kind.resource, namespaces: where });
    }
  }
  return items;
}

export async function readInventory(
  transport: Transport,
  contextNamespace: string,
  options: InventoryOptions,
): Promise<Inventory> {
  const { signal } = options;
  const unknown: string[] = [];
  const notVisible: NotVisible[] = [];
  const missingNamespaces: string[] = [];

  // Namespaces one by one: those that do not exist are dropped (and named), those whose labels are hidden keep
  // only the name label the API server sets.
  const readEach = async (names: string[]): Promise<NamespaceInfo[]> => {
    const read = await mapBounded(names, (ns) => readNamespace(transport, ns, signal, unknown));
    const hidden: string[] = [];
    const found: NamespaceInfo[] = [];
    read.forEach((r, i) => {
      if (r === 'missing') missingNamespaces.push(names[i]!);
      else {
        if (r.labelsHidden) hidden.push(r.info.name);
        found.push(r.info);
      }
    });
    if (hidden.length > 0) {
      notVisible.push({
        what: `namespace labels (of ${hidden.join(', ')} and every other namespace): a namespaceSelector on any label but ${NAMESPACE_NAME_LABEL} cannot be matched`,
        why: 'forbidden: list namespaces',
        command: commandToSee('namespaces'),
        resource: 'namespaces',
      });
    }
    return found;
  };

  // Namespaces first: they decide whether the rest is read cluster-wide or namespace by namespace.
  let namespaces: NamespaceInfo[];
  let scope: string[] | undefined;
  let namespacesListed = false;
  if (options.namespaces !== undefined) {
    scope = [...new Set(options.namespaces)].sort(compareStrings);
    namespaces = await readEach(scope);
  } else {
    const all = await listOnce(transport, { resource: 'namespaces', path: () => '/api/v1/namespaces' }, undefined, signal);
    if (all.ok) {
      namespaces = all.items.map((o) => namespaceFromObject(o));
      namespacesListed = true;
    } else {
      // The context's namespace (in a pod: its ServiceAccount's), and those the caller needs (the scenario's).
      const wanted = [...new Set([contextNamespace, ...(options.alsoNamespaces ?? [])])].sort(compareStrings);
      unknown.push(`namespace labels (${all.why}); read only namespace${wanted.length === 1 ? '' : 's'} ${wanted.join(', ')}`);
      namespaces = await readEach(wanted);
      scope = namespaces.map((n) => n.name);
    }
  }

  // Cluster-wide lists when no scope was given; if one is forbidden, fall back to per-namespace reads.
  const read = async (kind: ListKind): Promise<unknown[]> => {
    if (scope !== undefined) return listEverywhere(transport, kind, scope, signal, unknown, notVisible);
    const all = await listOnce(transport, kind, undefined, signal);
    if (all.ok) return all.items;
    const perNamespace = namespaces.map((n) => n.name);
    return listEverywhere(transport, kind, perNamespace, signal, unknown, notVisible);
  };

  const [rawPods, rawServices, rawSlices, rawPolicies, rawNodes, rawDaemonSets, beyond] = await Promise.all([
    read(kinds.pods),
    read(kinds.services),
    read(kinds.endpointslices),
    read(kinds.networkpolicies),
    listOnce(transport, { resource: 'nodes', path: () => '/api/v1/nodes' }, undefined, signal),
    // Only to name the CNI in snapshots: not readable is not worth a line in `unknown`.
    listOnce(transport, { resource: 'daemonsets', path: () => '/apis/apps/v1/daemonsets' }, undefined, signal),
    readPoliciesBeyondNetworkPolicy(transport, signal, unknown, notVisible),
  ]);

  const pods: PodInfo[] = rawPods
    .filter((o) => {
      const state = podStateFromObject(o);
      // netcheck's own probe pods (netcheck.io/run, see src/probe/pod-spec.ts) carry cloned labels;
      // terminated pods receive no traffic.
      return state.labels['netcheck.io/run'] === undefined && state.phase !== 'Succeeded' && state.phase !== 'Failed';
    })
    .map((o) => podFromObject(o));

  const slicesReadable = !unknown.some((u) => u.startsWith('endpointslices'));
  const ready = countReadyEndpoints(rawSlices);
  const services: ServiceInfo[] = rawServices.map((o) => {
    const svc = serviceFromObject(o);
    if (slicesReadable) svc.readyEndpoints = ready.get(`${svc.namespace}/${svc.name}`) ?? 0;
    return svc;
  });
  const policies: NetworkPolicy[] = rawPolicies.map((o) => networkPolicyFromObject(o));
  const resourceVersions: Record<string, string> = {};
  for (const raw of rawPolicies) {
    const meta = (raw as { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }).metadata;
    if (meta?.name && meta.resourceVersion) resourceVersions[`NetworkPolicy:${meta.namespace ?? ''}/${meta.name}`] = meta.resourceVersion;
  }
  let nodes: NodeInfo[] = [];
  if (rawNodes.ok) nodes = rawNodes.items.map((o) => ({ ...nodeFromObject(o), ...nodeSchedulingOf(o) }));
  else {
    unknown.push(`nodes (${rawNodes.why})`);
    if (rawNodes.why.startsWith('forbidden')) notVisible.push({ what: 'nodes (names, readiness, addresses)', why: rawNodes.why, command: commandToSee('nodes'), resource: 'nodes' });
  }

  const byName = <T extends { name: string }>(a: T, b: T): number => compareStrings(a.name, b.name);
  const byNsName = <T extends { namespace: string; name: string }>(a: T, b: T): number =>
    compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
  return {
    namespaces: namespaces.sort(byName),
    pods: pods.sort(byNsName),
    services: services.sort(byNsName),
    policies: policies.sort(byNsName),
    nodes: nodes.sort(byName),
    ...(beyond.adminPolicies.length > 0 ? { adminPolicies: beyond.adminPolicies.sort(compareAdminPolicies) } : {}),
    ...(beyond.otherPolicies.length > 0 ? { otherPolicies: beyond.otherPolicies.sort(compareOtherPolicies) } : {}),
    unknown,
    resourceVersions: { ...resourceVersions, ...beyond.resourceVersions },
    ...(rawDaemonSets.ok ? { cni: recogniseCni(rawDaemonSets.items, rawNodes.ok ? nodes : undefined) } : {}),
    ...(notVisible.length > 0 ? { notVisible } : {}),
    ...(namespacesListed ? { namespacesListed } : {}),
    ...(missingNamespaces.length > 0 ? { missingNamespaces: missingNamespaces.sort(compareStrings) } : {}),
  };
}

/**
 * Policies that decide flows besides NetworkPolicies, read only where the API server serves them (discovery):
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy and ClusterNetworkPolicy (evaluated by the engine) and Calico's GlobalNetworkPolicy /
 * NetworkPolicy (which the engine cannot evaluate; cells they may decide say so). Calico's own API server
 * (projectcalico.org/v3) serves the objects its CRDs (crd.projectcalico.org/v1) store, so only one is read.
 * Not readable: named in `unknown`, since the verdicts would be missing a decider.
 */
async function readPoliciesBeyondNetworkPolicy(
  transport: Transport,
  signal: AbortSignal | undefined,
  unknown: string[],
  notVisible: NotVisible[],
): Promise<{ adminPolicies: AdminPolicy[]; otherPolicies: OtherPolicy[]; resourceVersions: Record<string, string> }> {
  const found = { adminPolicies: [] as AdminPolicy[], otherPolicies: [] as OtherPolicy[], resourceVersions: {} as Record<string, string> };
  let groups: Array<{ name?: string; versions?: Array<{ groupVersion?: string }> }>;
  try {
    groups = (await transport.json<{ groups?: typeof groups }>({ verb: 'get', resource: 'apis', method: 'GET', path: '/apis', signal })).groups ?? [];
  } catch (error) {
    if (error instanceof ClusterError && (error.reason === 'Forbidden' || error.reason === 'NotFound')) return found;
    throw error;
  }
  const serves = (groupVersion: string) => groups.some((g) => g.versions?.some((v) => v.groupVersion === groupVersion));
  const lists: Array<{ groupVersion: string; resource: string; listKind: string }> = [];
  if (serves('policy.networking.k8s.io/v1alpha1')) {
    lists.push({ groupVersion: 'policy.networking.k8s.io/v1alpha1', resource: 'adminnetworkpolicies', listKind: 'AdminNetworkPolicyList' });
    lists.push({ groupVersion: 'policy.networking.k8s.io/v1alpha1', resource: 'baselineadminnetworkpolicies', listKind: 'BaselineAdminNetworkPolicyList' });
  }
  // ClusterNetworkPolicy: network-policy-api v0.3.0 serves the same objects as v1alpha2 and v1beta1 (one schema), so one is read.
  const cnpVersion = CLUSTER_NETWORK_POLICY_VERSIONS.find(serves);
  if (cnpVersion !== undefined) lists.push({ groupVersion: cnpVersion, resource: 'clusternetworkpolicies', listKind: 'ClusterNetworkPolicyList' });
  const calico = serves('projectcalico.org/v3') ? 'projectcalico.org/v3' : serves('crd.projectcalico.org/v1') ? 'crd.projectcalico.org/v1' : undefined;
  if (calico !== undefined) {
    lists.push({ groupVersion: calico, resource: 'globalnetworkpolicies', listKind: 'GlobalNetworkPolicyList' });
    lists.push({ groupVersion: calico, resource: 'networkpolicies', listKind: 'NetworkPolicyList' });
  }
  await Promise.all(
    lists.map(async ({ groupVersion, resource, listKind }) => {
      const result = await listOnce(transport, { resource: `${resource}.${groupVersion.split('/')[0]}`, path: () => `/apis/${groupVersion}/${resource}` }, undefined, signal);
      if (!result.ok) {
        unknown.push(`${resource}.${groupVersion.split('/')[0]} (${result.why}): flows they decide are judged without them`);
        if (result.why.startsWith('forbidden')) {
          notVisible.push({ what: `${resource}.${groupVersion.split('/')[0]} (flows they decide are judged without them)`, why: result.why, command: commandToSee(`${resource}.${groupVersion.split('/')[0]}`), resource });
        }
        return;
      }
      // API list items carry no kind or apiVersion: give them the list's, as the API machinery's decoder does.
      for (const item of itemsOfList({ apiVersion: groupVersion, kind: listKind, items: result.items }) ?? []) {
        const meta = (item as { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }).metadata;
        try {
          if (groupVersion.startsWith('policy.networking.k8s.io/')) found.adminPolicies.push(adminPolicyFromObject(item));
          else found.otherPolicies.push(otherPolicyFromObject(item));
        } catch (error) {
          unknown.push(`${listKind.replace(/List$/, '')} ${meta?.namespace ? `${meta.namespace}/` : ''}${meta?.name ?? '?'} (${error instanceof Error ? error.message : String(error)})`);
          continue;
        }
        if (meta?.name && meta.resourceVersion) found.resourceVersions[`${listKind.replace(/List$/, '')}:${meta.namespace ?? ''}/${meta.name}`] = meta.resourceVersion;
      }
    }),
  );
  return found;
}

/** DaemonSet names (any namespace) by which the common CNIs and policy enforcers are known. */
const CNI_DAEMONSETS: Array<[RegExp, string]> = [
  [/^calico-node$/, 'calico'],
  [/^(kube-)?flannel(-ds)?$/, 'flannel'],
  [/^canal$/, 'canal (calico + flannel)'],
  [/^cilium$/, 'cilium'],
  [/^kube-router$/, 'kube-router'],
  [/^weave-net$/, 'weave'],
  [/^antrea-agent$/, 'antrea'],
  [/^ovnkube-node$/, 'ovn-kubernetes'],
];

/**
 * Which CNIs run, and on which nodes: e.g. "calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a),
 * 1 ready". During a Flannel → Calico migration both DaemonSets carry a nodeSelector on the migration label, so
 * the nodes their template selects are the nodes each CNI owns; without the node list (not readable), the
 * DaemonSet's own counts ("1 of 1 scheduled", which says nothing about the nodes it leaves out).
 */
export function recogniseCni(daemonSets: unknown[], nodes?: ReadonlyArray<{ name: string; labels: Record<string, string> }>): string[] {
  const found: string[] = [];
  for (const raw of daemonSets) {
    const ds = raw as {
      metadata?: { namespace?: string; name?: string };
      spec?: { template?: { spec?: { nodeSelector?: Record<string, string> } } };
      status?: { currentNumberScheduled?: number; desiredNumberScheduled?: number; numberReady?: number };
    };
    const name = ds.metadata?.name ?? '';
    const cni = CNI_DAEMONSETS.find(([pattern]) => pattern.test(name))?.[1];
    if (cni === undefined) continue;
    const ready = ds.status?.numberReady !== undefined ? `, ${ds.status.numberReady} ready` : '';
    let placement = '';
    if (nodes !== undefined && nodes.length > 0) {
      const selector = ds.spec?.template?.spec?.nodeSelector ?? {};
      const on = nodes.filter((n) => Object.entries(selector).every(([k, v]) => n.labels[k] === v)).map((n) => n.name).sort(compareStrings);
      placement = `: on ${on.length} of ${nodes.length} nodes${on.length > 0 && on.length < nodes.length ? ` (${on.join(', ')})` : ''}${ready}`;
    } else if (ds.status?.desiredNumberScheduled !== undefined) {
      placement = `: ${ds.status.currentNumberScheduled ?? 0} of ${ds.status.desiredNumberScheduled} scheduled${ready}`;
    }
    found.push(`${cni} (DaemonSet ${ds.metadata?.namespace ?? ''}/${name})${placement}`);
  }
  return found.sort(compareStrings);
}

async function readNamespace(
  transport: Transport,
  name: string,
  signal: AbortSignal | undefined,
  unknown: string[],
): Promise<{ info: NamespaceInfo; labelsHidden: boolean } | 'missing'> {
  try {
    const raw = await transport.json<unknown>({
      verb: 'get',
      resource: 'namespaces',
      name,
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(name)}`,
      signal,
    });
    return { info: namespaceFromObject(raw), labelsHidden: false };
  } catch (error) {
    if (error instanceof ClusterError && error.reason === 'Forbidden') {
      // The name label is certain (the API server sets it); any other label is not known.
      unknown.push(`labels of namespace ${name} (forbidden: get namespaces)`);
      return { info: { name, labels: { [NAMESPACE_NAME_LABEL]: name } }, labelsHidden: true };
    }
    if (error instanceof ClusterError && (error.reason === 'NamespaceNotFound' || error.reason === 'NotFound')) return 'missing';
    throw error;
  }
}

/** Whether a node can run a pod pinned to it: the kubelet reports Ready and nobody cordoned it. */
export function nodeSchedulingOf(raw: unknown): { ready: boolean; unschedulable: boolean } {
  const node = (typeof raw === 'object' && raw !== null ? raw : {}) as {
    spec?: { unschedulable?: unknown };
    status?: { conditions?: Array<{ type?: unknown; status?: unknown }> };
  };
  const conditions = Array.isArray(node.status?.conditions) ? node.status.conditions : [];
  return {
    ready: conditions.some((c) => c?.type === 'Ready' && c.status === 'True'),
    unschedulable: node.spec?.unschedulable === true,
  };
}

/** Ready addresses per "namespace/service"; a nil ready condition means ready (discovery.k8s.io/v1). */
function countReadyEndpoints(slices: unknown[]): Map<string, number> {
  const counts = new Map<string, Set<string>>();
  for (const raw of slices) {
    const slice = raw as {
      metadata?: { namespace?: string; labels?: Record<string, string> };
      endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } }>;
    };
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    const set = counts.get(key) ?? new Set<string>();
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses ?? []) set.add(address);
    }
    counts.set(key, set);
  }
  return new Map([...counts].map(([k, v]) => [k, v.size]));
}
