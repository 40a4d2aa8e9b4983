/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): kubectl get asks for a
 * Table and prints its columns as they come, so these mirror kube's printers for the resources we serve.
 */
import type { KubeObject } from './store.js';
import type { ResourceDef } from './resources.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (obj: KubeObject, now: number) => string | number;
}

/** kube's HumanDuration, roughly: 45s, 7m, 5h, 3d. */
export function formatAge(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

const nameColumn: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };
const ageColumn: Column = { name: 'Age', type: 'string', cell: (o, now) => formatAge(o.metadata.creationTimestamp, now) };

function selectorText(selector: Record<string, string> | undefined): string {
  const entries = Object.entries(selector ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** The STATUS column of `kubectl get pods`: a waiting/terminated reason wins over the phase. */
export function podStatusText(pod: KubeObject): string {
  const statuses: Array<Record<string, any>> = pod.status?.containerStatuses ?? [];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason) return waiting.reason;
    const terminated = cs.state?.terminated;
    if (terminated?.reason && pod.status?.phase !== 'Succeeded') return terminated.reason;
  }
  if (pod.status?.reason) return pod.status.reason;
  if (pod.status?.phase === 'Succeeded') return 'Completed';
  return pod.status?.phase ?? 'Pending';
}

const count = (name: string, read: (o: KubeObject) => unknown): Column => ({ name, type: 'integer', cell: (o) => Number(read(o) ?? 0) });
const containersColumns: Column[] = [
  { name: 'Containers', type: 'string', priority: 1, cell: (o) => (o.spec?.template?.spec?.containers ?? []).map((c: { name: string }) => c.name).join(',') },
  { name: 'Images', type: 'string', priority: 1, cell: (o) => (o.spec?.template?.spec?.containers ?? []).map((c: { image?: string }) => c.image ?? '').join(',') },
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    cell: (o) => selectorText(o.spec?.selector?.matchLabels as Record<string, string> | undefined),
  },
];

/** The Job STATUS column (kubectl 1.32): Complete, Failed, or Running. */
function jobStatusText(o: KubeObject): string {
  const conditions: Array<{ type?: string; status?: string }> = o.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
  if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) return 'Failed';
  return 'Running';
}

const COLUMNS: Record<string, Column[]> = {
  deployments: [
    nameColumn,
    { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}` },
    count('Up-to-date', (o) => o.status?.updatedReplicas),
    count('Available', (o) => o.status?.availableReplicas),
    ageColumn,
    ...containersColumns,
  ],
  replicasets: [
    nameColumn,
    count('Desired', (o) => o.spec?.replicas ?? 1),
    count('Current', (o) => o.status?.replicas),
    count('Ready', (o) => o.status?.readyReplicas),
    ageColumn,
    ...containersColumns,
  ],
  statefulsets: [nameColumn, { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}` }, ageColumn, ...containersColumns.slice(0, 2)],
  daemonsets: [
    nameColumn,
    count('Desired', (o) => o.status?.desiredNumberScheduled),
    count('Current', (o) => o.status?.currentNumberScheduled),
    count('Ready', (o) => o.status?.numberReady),
    count('Up-to-date', (o) => o.status?.updatedNumberScheduled),
    count('Available', (o) => o.status?.numberAvailable),
    { name: 'Node Selector', type: 'string', cell: (o) => selectorText(o.spec?.template?.spec?.nodeSelector) },
    ageColumn,
    ...containersColumns,
  ],
  jobs: [
    nameColumn,
    { name: 'Status', type: 'string', cell: jobStatusText },
    { name: 'Completions', type: 'string', cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}` },
    {
      name: 'Duration',
      type: 'string',
      cell: (o, now) => {
        const start = o.status?.startTime as string | undefined;
        if (!start) return '';
        const end = o.status?.completionTime ? Date.parse(o.status.completionTime as string) : now;
        return formatAge(start, end);
      },
    },
    ageColumn,
    ...containersColumns,
  ],

  pods: [
    nameColumn,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses: Array<{ ready?: boolean }> = o.status?.containerStatuses ?? [];
        const total = (o.spec?.containers ?? []).length;
        return `${statuses.filter((s) => s.ready).length}/${total}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatusText },
    { name: 'Restarts', type: 'string', cell: () => '0' },
    ageColumn,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
  ],
  namespaces: [nameColumn, { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? 'Active' }, ageColumn],
  services: [
    nameColumn,
    { name: 'Type', type: 'string', cell: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => o.spec?.clusterIP ?? '<none>' },
    {
      name: 'External-IP',
      type: 'string',
      cell: (o) => {
        const ips = (o.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string }) => i.ip).filter(Boolean);
        if (ips.length > 0) return ips.join(',');
        return o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>';
      },
    },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) =>
        (o.spec?.ports ?? [])
          .map((p: { port: number; protocol?: string; nodePort?: number }) =>
            p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`,
          )
          .join(',') || '<none>',
    },
    ageColumn,
    { name: 'Selector', type: 'string', priority: 1, cell: (o) => selectorText(o.spec?.selector) },
  ],
  endpoints: [
    nameColumn,
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) => {
        const list: string[] = [];
        for (const subset of o.subsets ?? []) {
          for (const a of subset.addresses ?? []) for (const p of subset.ports ?? []) list.push(`${a.ip}:${p.port}`);
        }
        return list.length === 0 ? '<none>' : list.join(',');
      },
    },
    ageColumn,
  ],
  nodes: [
    nameColumn,
    { name: 'Status', type: 'string', cell: () => 'Ready' },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    ageColumn,
    { name: 'Version', type: 'string', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
  ],
  events: [
    { name: 'Last Seen', type: 'string', cell: (o, now) => formatAge(o.lastTimestamp ?? o.metadata.creationTimestamp, now) },
    { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? '' },
  ],
  networkpolicies: [
    nameColumn,
    {
      name: 'Pod-Selector',
      type: 'string',
      cell: (o) => {
        const sel = o.spec?.podSelector ?? {};
        const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`);
        for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
        return parts.length === 0 ? '<none>' : parts.join(',');
      },
    },
    ageColumn,
  ],
  endpointslices: [
    nameColumn,
    { name: 'AddressType', type: 'string', cell: (o) => o.addressType ?? 'IPv4' },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) => (o.ports ?? []).map((p: { port?: number }) => String(p.port)).join(',') || '<unset>',
    },
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) => (o.endpoints ?? []).flatMap((e: { addresses?: string[] }) => e.addresses ?? []).join(',') || '<unset>',
    },
    ageColumn,
  ],
};

function columnsFor(def: ResourceDef): Column[] {
  return COLUMNS[def.plural] ?? [nameColumn, ageColumn];
}

/** `includeObject=Object` embeds whole objects; the default is PartialObjectMetadata (enough for -A and --show-labels). */
function rowObject(obj: KubeObject, includeObject: string | null): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function renderTable(def: ResourceDef, items: KubeObject[], resourceVersion: string, includeObject: string | null): unknown {
  const now = Date.now();
  const columns = columnsFor(def);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((obj) => {
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(obj, now)) };
      const embedded = rowObject(obj, includeObject);
      if (embedded !== undefined) row.object = embedded;
      return row;
    }),
  };
}

export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}
