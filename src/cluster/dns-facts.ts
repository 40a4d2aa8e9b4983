/**
 * What the API shows of the cluster's DNS, for the DNS chain (src/diagnose/dns-chain.ts): the Services,
 * EndpointSlices and pods of the DNS namespace (kube-system), and its Deployment coredns. Each read that is forbidden (a
 * namespace-scoped Role) becomes "not visible" with its reason, never an error: the chain then says whom to ask.
 */
import { ClusterError } from '../model/errors.js';
import type { DnsClusterFacts, DnsDeploymentFact, DnsEndpointFact, DnsPodFact, DnsServiceFact, Visible } from '../model/dns-chain.js';
import { podStateFromObject } from './pod-state.js';
import type { Transport } from './transport.js';

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

async function list<T>(transport: Transport, resource: string, path: string, namespace: string, signal?: AbortSignal): Promise<Visible<T[]>> {
  try {
    const body = await transport.json<{ items?: T[] }>({ verb: 'list', resource, namespace, method: 'GET', path, signal });
    return body.items ?? [];
  } catch (error) {
    if (error instanceof ClusterError && error.reason === 'Forbidden') return { notVisible: `forbidden: list ${resource} in ${namespace}` };
    if (error instanceof ClusterError && error.reason === 'NotFound') return { notVisible: `${resource} not served by the API server` };
    throw error;
  }
}

function map<T, R>(value: Visible<T[]>, fn: (item: T) => R): Visible<R[]> {
  return Array.isArray(value) ? value.map(fn) : value;
}

export async function readDnsFacts(transport: Transport, namespace = 'kube-system', signal?: AbortSignal): Promise<DnsClusterFacts> {
  const ns = encodeURIComponent(namespace);
  type RawService = { metadata?: Meta; spec?: { clusterIP?: string; selector?: Record<string, string> } };
  type RawSlice = {
    metadata?: Meta;
    endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean }; nodeName?: string; targetRef?: { kind?: string; name?: string; namespace?: string } }>;
  };
  type RawDeployment = { metadata?: Meta; spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } }; status?: { readyReplicas?: number } };
  const [services, slices, pods, deployments] = await Promise.all([
    list<RawService>(transport, 'services', `/api/v1/namespaces/${ns}/services`, namespace, signal),
    list<RawSlice>(transport, 'endpointslices', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, namespace, signal),
    list<unknown>(transport, 'pods', `/api/v1/namespaces/${ns}/pods`, namespace, signal),
    // `get` the one Deployment kubeadm and most distributions name coredns: RBAC grants get on deployments, not list.
    transport
      .json<RawDeployment>({ verb: 'get', resource: 'deployments', namespace, name: 'coredns', method: 'GET', path: `/apis/apps/v1/namespaces/${ns}/deployments/coredns`, signal })
      .then(
        (d): Visible<RawDeployment[]> => [d],
        (error: unknown): Visible<RawDeployment[]> => {
          if (error instanceof ClusterError && error.reason === 'NotFound') return [];
          if (error instanceof ClusterError && error.reason === 'Forbidden') return { notVisible: `forbidden: get deployments in ${namespace}` };
          throw error;
        },
      ),
  ]);
  const endpoints: Visible<Record<string, DnsEndpointFact[]>> = Array.isArray(slices)
    ? slices.reduce<Record<string, DnsEndpointFact[]>>((byService, slice) => {
        const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
        if (service === undefined) return byService;
        for (const e of slice.endpoints ?? []) {
          for (const ip of e.addresses ?? []) {
            const ref = e.targetRef?.kind === 'Pod' && e.targetRef.name ? `${e.targetRef.namespace ?? namespace}/${e.targetRef.name}` : undefined;
            // EndpointSlice: a nil ready condition means ready.
            (byService[service] ??= []).push({ ip, ready: e.conditions?.ready !== false, ...(e.nodeName ? { node: e.nodeName } : {}), ...(ref ? { pod: ref } : {}) });
          }
        }
        return byService;
      }, {})
    : slices;
  // A pod being deleted (CoreDNS scaled down) is leaving the Service: it is no CoreDNS pod to count on or ask.
  const livePods: Visible<unknown[]> = Array.isArray(pods) ? pods.filter((raw) => !podStateFromObject(raw).deleting) : pods;
  return {
    namespace,
    services: map(services, (s): DnsServiceFact => ({
      namespace: s.metadata?.namespace ?? namespace,
      name: s.metadata?.name ?? '?',
      ...(s.spec?.clusterIP && s.spec.clusterIP !== 'None' ? { clusterIP: s.spec.clusterIP } : {}),
      ...(s.spec?.selector ? { selector: s.spec.selector } : {}),
    })),
    endpoints,
    pods: map(livePods, (raw): DnsPodFact => {
      const p = podStateFromObject(raw);
      return { namespace: p.namespace, name: p.name, labels: p.labels, ready: p.ready, phase: p.phase, ...(p.podIP ? { ip: p.podIP } : {}), ...(p.nodeName ? { node: p.nodeName } : {}) };
    }),
    deployments: map(deployments, (d): DnsDeploymentFact => ({
      namespace: d.metadata?.namespace ?? namespace,
      name: d.metadata?.name ?? '?',
      replicas: d.spec?.replicas ?? 1,
      readyReplicas: d.status?.readyReplicas ?? 0,
      selector: d.spec?.selector?.matchLabels ?? {},
    })),
  };
}
