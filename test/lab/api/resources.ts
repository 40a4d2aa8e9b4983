/**
 * The resources the lab serves and their discovery documents. kubectl builds its REST mapping from
 * these (kind, namespaced, verbs, shortNames), so they mirror a real v1.32 API server.
 */
export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  categories?: string[];
  subresources: Array<{ name: string; kind: string; verbs: string[] }>;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [{ name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    verbs: ALL_VERBS,
    subresources: [{ name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    kind: 'NetworkPolicy',
    namespaced: true,
    shortNames: ['netpol'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    subresources: [],
  },
  // Workloads come last: RESOURCE indexes the ones above by position.
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'Deployment', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    singular: 'statefulset',
    kind: 'StatefulSet',
    namespaced: true,
    shortNames: ['sts'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'StatefulSet', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'daemonsets',
    singular: 'daemonset',
    kind: 'DaemonSet',
    namespaced: true,
    shortNames: ['ds'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'DaemonSet', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'ReplicaSet', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'batch',
    version: 'v1',
    plural: 'jobs',
    singular: 'job',
    kind: 'Job',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [{ name: 'status', kind: 'Job', verbs: ['get', 'patch', 'update'] }],
  },
];

export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export const RESOURCE = {
  namespaces: RESOURCES[0]!,
  pods: RESOURCES[1]!,
  services: RESOURCES[2]!,
  endpoints: RESOURCES[3]!,
  nodes: RESOURCES[4]!,
  events: RESOURCES[5]!,
  networkpolicies: RESOURCES[6]!,
  endpointslices: RESOURCES[7]!,
  deployments: RESOURCES[8]!,
  statefulsets: RESOURCES[9]!,
  daemonsets: RESOURCES[10]!,
  replicasets: RESOURCES[11]!,
  jobs: RESOURCES[12]!,
} as const;

/** The workload resources whose controllers the lab runs (they make pods). */
export const WORKLOAD_RESOURCES: readonly ResourceDef[] = [RESOURCE.deployments, RESOURCE.statefulsets, RESOURCE.daemonsets, RESOURCE.replicasets, RESOURCE.jobs];

const GROUPS = ['apps', 'batch', 'networking.k8s.io', 'discovery.k8s.io'];

export function versionDocument(): unknown {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-netcheck-lab',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersionsDocument(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupListDocument(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: GROUPS.map((name) => apiGroupDocument(name)),
  };
}

export function apiGroupDocument(name: string): unknown {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: [gv], preferredVersion: gv };
}

export function isKnownGroup(name: string): boolean {
  return GROUPS.includes(name);
}

export function apiResourceListDocument(group: string, version: string): unknown | undefined {
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (defs.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const d of defs) {
    const entry: Record<string, unknown> = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames.length > 0) entry.shortNames = d.shortNames;
    if (d.categories) entry.categories = d.categories;
    resources.push(entry);
    for (const sub of d.subresources) {
      resources.push({ name: `${d.plural}/${sub.name}`, singularName: '', namespaced: d.namespaced, kind: sub.kind, verbs: sub.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
