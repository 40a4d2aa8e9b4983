/**
 * connectCluster: the ClusterClient that src/run and src/probe use. Everything here is plain data in,
 * plain data out; typed ClusterErrors name the verb, resource and namespace that failed.
 */
import { ClusterError } from '../model/errors.js';
import { readDnsFacts } from './dns-facts.js';
import { readInventory } from './inventory.js';
import { resolveKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { eventFromObject, podStateFromObject } from './pod-state.js';
import { Transport, defaultRetryPolicy, type RetryPolicy } from './transport.js';
import { podsPath, watchPodsStream } from './watch.js';
import type { ClusterClient, ClusterEvent, EphemeralContainerSpec, Labels, PodManifest, PodState, WorkloadKind } from './types.js';

export interface ConnectOptions extends KubeconfigOptions {
  /** Per-request timeout (default 15 s). Watches are exempt once the stream is open. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** Loads the kubeconfig and returns a client; does not contact the server (the first request does). */
export async function connectCluster(options: ConnectOptions = {}): Promise<ClusterClient> {
  const resolved = resolveKubeconfig(options);
  const transport = new Transport(resolved, options.requestTimeoutMs ?? 15_000, options.retry ?? defaultRetryPolicy);
  return new ApiClusterClient(transport, resolved.context, resolved.namespace);
}

const workloadPaths: Record<WorkloadKind, { group: string; plural: string }> = {
  deployment: { group: '/apis/apps/v1', plural: 'deployments' },
  statefulset: { group: '/apis/apps/v1', plural: 'statefulsets' },
  daemonset: { group: '/apis/apps/v1', plural: 'daemonsets' },
  replicaset: { group: '/apis/apps/v1', plural: 'replicasets' },
  job: { group: '/apis/batch/v1', plural: 'jobs' },
  pod: { group: '/api/v1', plural: 'pods' },
};

/**
 * Labels controllers stamp on their pods. Cloning them would let a controller adopt (and then delete or
 * count) the probe pod; no NetworkPolicy has a reason to select on them.
 */
const controllerLabels = [
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/job-completion-index',
];

interface OwnedPod {
  metadata?: {
    labels?: Labels;
    ownerReferences?: Array<{ kind?: string; name?: string; controller?: boolean }>;
  };
}

const ownerKinds: Record<Exclude<WorkloadKind, 'pod'>, string> = {
  deployment: 'ReplicaSet',
  statefulset: 'StatefulSet',
  daemonset: 'DaemonSet',
  replicaset: 'ReplicaSet',
  job: 'Job',
};

/** A Deployment's pods are owned by its ReplicaSet `<name>-<pod-template-hash>`. */
function ownedBy(ref: { kind?: string; name?: string }, pod: OwnedPod, kind: Exclude<WorkloadKind, 'pod'> | WorkloadKind, name: string): boolean {
  if (kind === 'pod' || ref.kind !== ownerKinds[kind]) return false;
  if (kind !== 'deployment') return ref.name === name;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  return hash !== undefined && ref.name === `${name}-${hash}`;
}

function withoutControllerLabels(labels: Labels): Labels {
  const copy = { ...labels };
  for (const key of controllerLabels) delete copy[key];
  return copy;
}

class ApiClusterClient implements ClusterClient {
  readonly server: string;

  constructor(
    private readonly transport: Transport,
    readonly context: string,
    readonly namespace: string,
  ) {
    this.server = transport.identity.server;
  }

  inventory: ClusterClient['inventory'] = (options = {}) => readInventory(this.transport, this.namespace, options);

  readDnsFacts: ClusterClient['readDnsFacts'] = (namespace, signal) => readDnsFacts(this.transport, namespace, signal);

  async getWorkloadLabels(namespace: string, kind: WorkloadKind, name: string, signal?: AbortSignal): Promise<Labels> {
    const where = workloadPaths[kind];
    let raw: {
      metadata?: { labels?: Labels };
      spec?: { template?: { metadata?: { labels?: Labels } } };
    };
    try {
      raw = await this.transport.json({
        verb: 'get',
        resource: where.plural,
        namespace,
        name,
        method: 'GET',
        path: `${where.group}/namespaces/${encodeURIComponent(namespace)}/${where.plural}/${encodeURIComponent(name)}`,
        signal,
      });
    } catch (error) {
      // Without `get deployments` (a narrow Role) or where only the pods are visible, the running pods
      // still carry the template's labels: read them from a pod the workload owns.
      if (kind !== 'pod' && error instanceof ClusterError && (error.reason === 'NotFound' || error.reason === 'Forbidden')) {
        const fromPods = await this.labelsOfOwnedPod(namespace, kind, name, signal).catch(() => undefined);
        if (fromPods) return fromPods;
      }
      if (error instanceof ClusterError && error.reason === 'NotFound') {
        throw new ClusterError(`${kind}/${name} not found in namespace ${namespace}`, {
          verb: 'get',
          resource: where.plural,
          namespace,
          reason: 'NotFound',
        }, { hint: `check the \`as: ${kind}/${name}\` in the scenario`, cause: error });
      }
      throw error;
    }
    return withoutControllerLabels((kind === 'pod' ? raw.metadata?.labels : raw.spec?.template?.metadata?.labels) ?? {});
  }

  private async labelsOfOwnedPod(namespace: string, kind: WorkloadKind, name: string, signal?: AbortSignal): Promise<Labels | undefined> {
    const list = await this.transport.json<{ items?: OwnedPod[] }>({
      verb: 'list',
      resource: 'pods',
      namespace,
      method: 'GET',
      path: podsPath(namespace),
      signal,
    });
    const owned = (list.items ?? []).find((pod) =>
      (pod.metadata?.ownerReferences ?? []).some((ref) => ref.controller === true && ownedBy(ref, pod, kind, name)),
    );
    return owned ? withoutControllerLabels(owned.metadata?.labels ?? {}) : undefined;
  }

  async createPod(manifest: PodManifest, signal?: AbortSignal): Promise<PodState> {
    const { namespace, name } = manifest.metadata;
    const subject = { verb: 'create', resource: 'pods', namespace, name, signal };
    try {
      return podStateFromObject(
        await this.transport.json({ ...subject, method: 'POST', path: podsPath(namespace), body: manifest }),
      );
    } catch (error) {
      // A create retried after a dropped connection may find its own first attempt.
      if (error instanceof ClusterError && error.reason === 'AlreadyExists') {
        const existing = await this.getPod(namespace, name, signal);
        const run = manifest.metadata.labels?.['netcheck.io/run'];
        if (existing && run !== undefined && existing.labels['netcheck.io/run'] === run) return existing;
      }
      throw error;
    }
  }

  async getPod(namespace: string, name: string, signal?: AbortSignal): Promise<PodState | undefined> {
    try {
      return podStateFromObject(
        await this.transport.json({
          verb: 'get',
          resource: 'pods',
          namespace,
          name,
          method: 'GET',
          path: `${podsPath(namespace)}/${encodeURIComponent(name)}`,
          signal,
        }),
      );
    } catch (error) {
      if (error instanceof ClusterError && (error.reason === 'NotFound' || error.reason === 'NamespaceNotFound')) return undefined;
      throw error;
    }
  }

  async deletePod(namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.transport.json({
        verb: 'delete',
        resource: 'pods',
        namespace,
        name,
        method: 'DELETE',
        path: `${podsPath(namespace)}/${encodeURIComponent(name)}`,
        query: { gracePeriodSeconds: 0 },
        signal,
      });
    } catch (error) {
      if (error instanceof ClusterError && (error.reason === 'NotFound' || error.reason === 'NamespaceNotFound')) return;
      throw error;
    }
  }

  async deletePods(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<string[]> {
    // list + delete rather than deletecollection: the RBAC in deploy/ grants only `delete pods`.
    const pods = await this.listPods(namespace, labelSelector, signal);
    await Promise.all(pods.map((p) => this.deletePod(p.namespace, p.name, signal)));
    return pods.map((p) => p.name).sort();
  }

  async listPods(namespace: string | undefined, labelSelector: string, signal?: AbortSignal): Promise<PodState[]> {
    const list = await this.transport.json<{ items?: unknown[] }>({
      verb: 'list',
      resource: 'pods',
      namespace,
      method: 'GET',
      path: podsPath(namespace),
      query: { labelSelector: labelSelector || undefined },
      signal,
    });
    return (list.items ?? []).map(podStateFromObject);
  }

  watchPods: ClusterClient['watchPods'] = (namespace, labelSelector, signal, onChange) =>
    watchPodsStream(this.transport, { namespace, labelSelector }, signal, onChange);

  serverNow(): Date | undefined {
    return this.transport.serverNow();
  }

  async readPodLog(namespace: string, name: string, signal?: AbortSignal, container?: string): Promise<string> {
    return this.transport.text({ ...podLogRequest(namespace, name), ...(container !== undefined ? { query: { container } } : {}), signal });
  }

  async addEphemeralContainer(namespace: string, pod: string, container: EphemeralContainerSpec, signal?: AbortSignal): Promise<PodState> {
    // A strategic merge patch of the subresource, as `kubectl debug` sends it: the list merges by name, so the
    // pod's earlier ephemeral containers stay (they can never be removed) and this one is added.
    return podStateFromObject(
      await this.transport.json({
        verb: 'patch',
        resource: 'pods/ephemeralcontainers',
        namespace,
        name: pod,
        method: 'PATCH',
        path: `${podsPath(namespace)}/${encodeURIComponent(pod)}/ephemeralcontainers`,
        contentType: 'application/strategic-merge-patch+json',
        body: { spec: { ephemeralContainers: [container] } },
        signal,
      }),
    );
  }

  async listWorkloadPods(namespace: string, kind: WorkloadKind, name: string, signal?: AbortSignal): Promise<PodState[]> {
    let pods: PodState[];
    if (kind === 'pod') {
      const pod = await this.getPod(namespace, name, signal);
      pods = pod ? [pod] : [];
    } else {
      const list = await this.transport.json<{ items?: unknown[] }>({ verb: 'list', resource: 'pods', namespace, method: 'GET', path: podsPath(namespace), signal });
      pods = (list.items ?? []).flatMap((raw) => {
        const pod = podStateFromObject(raw);
        return pod.controller && ownedBy(pod.controller, raw as OwnedPod, kind, name) ? [pod] : [];
      });
    }
    return pods.filter((p) => p.ready && !p.deleting && p.phase === 'Running').sort((a, b) => a.name.localeCompare(b.name));
  }

  async followPodLog(namespace: string, name: string, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
    const res = await this.transport.stream({ ...podLogRequest(namespace, name), query: { follow: true }, signal });
    // Aborting the signal destroys the request (and so this socket): the loop below ends with the abort reason.
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res) onText(decoder.decode(chunk as Buffer, { stream: true }));
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      res.destroy();
    }
    signal.throwIfAborted();
  }

  async listEvents(namespace: string, involvedObjectName: string, signal?: AbortSignal): Promise<ClusterEvent[]> {
    const list = await this.transport.json<{ items?: unknown[] }>({
      verb: 'list',
      resource: 'events',
      namespace,
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      query: { fieldSelector: `involvedObject.name=${involvedObjectName}` },
      signal,
    });
    // Filter again: not every server honours field selectors on events.
    return (list.items ?? []).map(eventFromObject).filter((e) => e.objectName === involvedObjectName);
  }
}

/** The request for a pod's log (`get pods/log`), read whole or followed. */
function podLogRequest(namespace: string, name: string) {
  return { verb: 'get', resource: 'pods/log', namespace, name, method: 'GET', path: `${podsPath(namespace)}/${encodeURIComponent(name)}/log` } as const;
}
