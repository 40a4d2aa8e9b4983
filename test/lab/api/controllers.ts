/**
 * The in-process control plane: seeding from manifests, the scheduler, a kubelet that hands pods to the data
 * plane, the endpoints/EndpointSlice controller, and the loop that keeps the data plane converged
 * (debounced, serialized `sync` calls). Pure pieces live beside it: workloads.ts, endpoints.ts, cluster-ip.ts.
 */
import { NAMESPACE_NAME_LABEL, serviceFromObject, snapshotFromObjects } from '../../../src/policy/from-objects.js';
import type { DataPlane, DataPlaneState, Faults, PodRunSpec, ServiceEndpoints } from '../types.js';
import { admitCreate, type AdmissionContext } from './admission.js';
import { ClusterIPAllocator } from './cluster-ip.js';
import { groupEndpoints, type EndpointGroup } from './endpoints.js';
import type { ManifestObject } from '../../cluster-kit/manifests.js';
import { PodLog } from './pod-logs.js';
import { currentTimestamp, mergeConditions, readinessGatesMet, signalNumber, unmetGates } from './pod-status.js';
import { RESOURCE, WORKLOAD_RESOURCES, type ResourceDef } from './resources.js';
import { ApiError } from './status.js';
import { randomSuffix, type KubeObject, type ObjectStore, type StoreEvent } from './store.js';
import { podsForWorkload, replicaSetForDeployment, shortHash, workloadStatus } from './workloads.js';

const IMAGE_BACKOFF_MS = 1000;
const SYNC_DEBOUNCE_MS = 5;
/** Marks objects the lab seeded from manifests (value: file:line). */
export const SEEDED_ANNOTATION = 'lab.netcheck.io/seeded';

interface KubeletPod {
  uid: string;
  namespace: string;
  name: string;
  log: PodLog | undefined;
  /** Stopped by deletion, deadline or lab stop: nothing more may be written for it. */
  finished: boolean;
  removed: boolean;
  timers: NodeJS.Timeout[];
}

export interface ControllerOptions {
  store: ObjectStore;
  dataPlane: DataPlane;
  nodes: string[];
  faults: Faults;
  /** Called when a background step fails (a bug or a data-plane error); the lab logs it. */
  onError?: (error: unknown) => void;
}

type ContainerSpec = { name: string; image?: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string }>; ports?: Array<{ containerPort: number; protocol?: string }> };

export class Controllers {
  readonly allocator = new ClusterIPAllocator();
  readonly admission: AdmissionContext;
  private readonly store: ObjectStore;
  private readonly dataPlane: DataPlane;
  private readonly nodes: string[];
  private faultSet: Faults;
  private readonly kubelet = new Map<string, KubeletPod>();
  private readonly seeded = new Set<string>();
  private dnsPodUid: string | undefined;
  private nextNode = 0;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly onError: (error: unknown) => void;

  // Data-plane sync: a dirty flag, a debounce timer and one in-flight sync at a time.
  private syncDirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncRunning: Promise<void> | undefined;
  private reconcileQueued = false;
  private synced: DataPlaneState | undefined;

  constructor(options: ControllerOptions) {
    this.store = options.store;
    this.dataPlane = options.dataPlane;
    this.nodes = options.nodes;
    this.faultSet = { ...options.faults };
    this.onError = options.onError ?? ((error) => process.stderr.write(`lab: ${String((error as Error)?.stack ?? error)}\n`));
    this.admission = {
      faults: () => this.faultSet,
      allocateClusterIP: (requested, service) => this.allocator.allocate(requested, service),
      releaseClusterIP: (ip) => this.allocator.release(ip),
    };
    this.allocator.reserve('10.96.0.1');
    this.allocator.reserve(this.dataPlane.dnsServiceIP);
  }

  get faults(): Faults {
    return this.faultSet;
  }

  podLog(uid: string): PodLog | undefined {
    return this.kubelet.get(uid)?.log;
  }

  /** Creates the built-in objects (nodes, system namespaces, kubernetes and kube-dns services), then seeds the manifests. */
  start(manifests: ManifestObject[]): void {
    this.unsubscribe = this.store.subscribe((event) => this.onEvent(event));
    for (const [i, name] of this.nodes.entries()) this.createNode(name, i);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.ensureNamespace(ns, {});
    this.create(RESOURCE.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } } as unknown as KubeObject['metadata'],
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    }, '10.96.0.1');
    this.seed(manifests);
  }

  private createNode(name: string, index: number): void {
    this.store.create(RESOURCE.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
      } as unknown as KubeObject['metadata'],
      spec: {},
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: currentTimestamp(), lastTransitionTime: currentTimestamp() }],
        addresses: [
          { type: 'InternalIP', address: `172.31.0.${index + 2}` },
          { type: 'Hostname', address: name },
        ],
        nodeInfo: { kubeletVersion: 'v1.32.0', containerRuntimeVersion: 'netcheck-lab://1', osImage: 'netcheck lab', operatingSystem: 'linux', architecture: 'amd64' },
      },
    } as KubeObject);
  }

  private ensureNamespace(name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> }): void {
    const existing = this.store.find(RESOURCE.namespaces, undefined, name);
    if (existing) {
      if (meta.labels || meta.annotations) {
        this.store.mutate(RESOURCE.namespaces, undefined, name, (ns) => {
          ns.metadata.labels = { ...(ns.metadata.labels ?? {}), ...(meta.labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
          if (meta.annotations) ns.metadata.annotations = { ...(ns.metadata.annotations ?? {}), ...meta.annotations };
        });
      }
      return;
    }
    this.create(RESOURCE.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...meta } as unknown as KubeObject['metadata'] });
  }

  /** Creates through admission, as a client would; `clusterIP` pins an address the lab reserved itself. */
  private create(def: ResourceDef, obj: KubeObject, reservedClusterIP?: string): KubeObject {
    if (reservedClusterIP) this.allocator.release(reservedClusterIP);
    // Seeded objects stand for what was already running when the faults were switched on: PodSecurity
    // enforcement applies to pods created afterwards, as enabling it on a live namespace does.
    admitCreate(def, obj, this.admission, { skipPodSecurity: true });
    return this.store.create(def, obj);
  }

  private seed(manifests: ManifestObject[]): void {
    const byKind = (kinds: string[]): ManifestObject[] => manifests.filter((m) => kinds.includes(m.object.kind));
    const namespaceOf = (o: Record<string, any>): string => o.metadata?.namespace ?? 'default';

    for (const m of byKind(['Namespace'])) this.ensureNamespace(m.object.metadata.name, { labels: m.object.metadata.labels, annotations: m.object.metadata.annotations });
    for (const m of manifests) {
      if (['Service', 'NetworkPolicy', 'Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(m.object.kind)) {
        this.ensureNamespace(namespaceOf(m.object), {});
      }
    }

    const hasOwnDnsService = byKind(['Service']).some((m) => m.object.metadata?.name === 'kube-dns' && namespaceOf(m.object) === 'kube-system');
    if (!hasOwnDnsService) {
      this.create(RESOURCE.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } } as unknown as KubeObject['metadata'],
        spec: {
          selector: { 'k8s-app': 'kube-dns' },
          clusterIP: this.dataPlane.dnsServiceIP,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          ],
        },
      }, this.dataPlane.dnsServiceIP);
    }
    for (const m of byKind(['Service'])) {
      const obj = structuredClone(m.object) as KubeObject;
      obj.metadata.namespace = namespaceOf(obj);
      const isDns = obj.metadata.name === 'kube-dns' && obj.metadata.namespace === 'kube-system';
      if (isDns) obj.spec = { ...obj.spec, clusterIP: this.dataPlane.dnsServiceIP };
      this.createSeeded(RESOURCE.services, obj, m.source, isDns ? this.dataPlane.dnsServiceIP : undefined);
    }
    for (const m of byKind(['NetworkPolicy'])) {
      const obj = structuredClone(m.object) as KubeObject;
      obj.metadata.namespace = namespaceOf(obj);
      this.createSeeded(RESOURCE.networkpolicies, obj, m.source);
    }

    const isDnsTemplate = (o: Record<string, any>, labels: Record<string, string> | undefined): boolean =>
      namespaceOf(o) === 'kube-system' && labels?.['k8s-app'] === 'kube-dns';
    let dnsSeeded = false;
    for (const m of byKind(['Pod'])) {
      const obj = structuredClone(m.object) as KubeObject;
      obj.metadata.namespace = namespaceOf(obj);
      const isDns = !dnsSeeded && isDnsTemplate(obj, obj.metadata.labels);
      const pod = this.createSeeded(RESOURCE.pods, obj, m.source);
      if (pod) {
        this.seeded.add(pod.metadata.uid);
        if (isDns) {
          this.dnsPodUid = pod.metadata.uid;
          dnsSeeded = true;
        }
      }
    }
    for (const m of byKind(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'])) {
      const def = WORKLOAD_RESOURCES.find((d) => d.kind === m.object.kind)!;
      const obj = structuredClone(m.object) as KubeObject;
      obj.metadata.namespace = namespaceOf(obj);
      // Seeding is lenient where the API is not: a manifest without a selector selects its template's labels.
      if (def.group === 'apps' && obj.spec && !obj.spec.selector) obj.spec.selector = { matchLabels: { ...(obj.spec.template?.metadata?.labels ?? {}) } };
      const isDns = !dnsSeeded && isDnsTemplate(obj, obj.spec?.template?.metadata?.labels);
      const workload = this.createSeeded(def, obj, m.source);
      if (!workload) continue;
      const [first] = this.runWorkload(workload, isDns, m.source);
      if (isDns && first) {
        this.dnsPodUid = first.metadata.uid;
        dnsSeeded = true;
      }
    }
    if (!dnsSeeded) {
      const hash = shortHash('coredns', 10);
      const pod = this.create(RESOURCE.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `coredns-${hash}-${randomSuffix(5)}`,
          namespace: 'kube-system',
          labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': hash },
        } as unknown as KubeObject['metadata'],
        spec: {
          containers: [
            {
              name: 'coredns',
              image: 'registry.k8s.io/coredns/coredns:v1.11.3',
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
      });
      this.seeded.add(pod.metadata.uid);
      this.dnsPodUid = pod.metadata.uid;
    }
  }

  /**
   * The workload controllers, done at once: a Deployment gets its ReplicaSet, a ReplicaSet/StatefulSet/
   * DaemonSet/Job its pods (owner references to the stored objects, as kube-controller-manager writes them).
   * Their pods answer on their container ports like seeded ones. Returns the pods created.
   */
  private runWorkload(workload: KubeObject, isDns: boolean, seededFrom: string | undefined): KubeObject[] {
    const make = (def: ResourceDef, obj: KubeObject): KubeObject => (seededFrom === undefined ? this.create(def, obj) : this.createSeeded(def, obj, seededFrom));
    let owner = workload;
    if (workload.kind === 'Deployment') {
      const rs = replicaSetForDeployment(workload);
      owner = this.store.find(RESOURCE.replicasets, rs.metadata.namespace, rs.metadata.name) ?? make(RESOURCE.replicasets, rs);
    }
    const pods: KubeObject[] = [];
    for (const pod of podsForWorkload(owner, this.nodes, isDns)) {
      const created = make(RESOURCE.pods, pod);
      this.seeded.add(created.metadata.uid);
      pods.push(created);
    }
    return pods;
  }

  /** Owner references are followed at once on deletion: the garbage collector's foreground cascade. */
  private deleteOwnedBy(owner: KubeObject): void {
    const ns = owner.metadata.namespace;
    for (const def of [RESOURCE.replicasets, RESOURCE.pods]) {
      for (const o of this.store.list(def, ns)) {
        const owned = (o.metadata.ownerReferences as Array<{ uid?: string }> | undefined)?.some((r) => r.uid === owner.metadata.uid);
        if (owned && this.store.find(def, ns, o.metadata.name)) this.store.delete(def, ns, o.metadata.name);
      }
    }
  }

  /** Workload status (replica counts) from the pods each workload owns, written only when it changed. */
  private reconcileWorkloadStatus(): void {
    const podsByOwner = new Map<string, KubeObject[]>();
    for (const pod of this.store.list(RESOURCE.pods)) {
      for (const ref of (pod.metadata.ownerReferences ?? []) as Array<{ uid?: string; controller?: boolean }>) {
        if (ref.controller && ref.uid) podsByOwner.set(ref.uid, [...(podsByOwner.get(ref.uid) ?? []), pod]);
      }
    }
    const replicaSets = this.store.list(RESOURCE.replicasets);
    for (const def of WORKLOAD_RESOURCES) {
      for (const workload of this.store.list(def)) {
        const owned =
          def === RESOURCE.deployments
            ? replicaSets
                .filter((rs) => (rs.metadata.ownerReferences as Array<{ uid?: string }> | undefined)?.some((r) => r.uid === workload.metadata.uid))
                .flatMap((rs) => podsByOwner.get(rs.metadata.uid) ?? [])
            : (podsByOwner.get(workload.metadata.uid) ?? []);
        const status = workloadStatus(workload, owned, this.nodes.length);
        if (JSON.stringify(workload.status ?? {}) === JSON.stringify(status)) continue;
        this.store.mutate(def, workload.metadata.namespace, workload.metadata.name, (w) => {
          w.status = status;
        });
      }
    }
  }

  private createSeeded(def: ResourceDef, obj: KubeObject, source: string, reservedClusterIP?: string): KubeObject {
    obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [SEEDED_ANNOTATION]: source };
    delete obj.status;
    try {
      return this.create(def, obj, reservedClusterIP);
    } catch (error) {
      if (error instanceof ApiError) throw new Error(`${source}: ${def.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}: ${error.message}`);
      throw error;
    }
  }

  /** Replaces the faults (merged); resolves once the data plane has converged to them. */
  async setFaults(faults: Partial<Faults>): Promise<void> {
    this.faultSet = { ...this.faultSet, ...faults };
    this.queueReconcile();
    await this.flush();
  }

  private onEvent(event: StoreEvent): void {
    if (this.stopped) return;
    const plural = event.resource.plural;
    if (plural === 'pods') {
      const pod = event.object;
      if (event.type === 'DELETED') {
        void this.killPod(pod.metadata.uid, 'deleted');
      } else if (!pod.spec?.nodeName && event.type === 'ADDED') {
        setImmediate(() => this.guard(() => this.schedule(pod)));
      } else if (event.type === 'MODIFIED' && pod.status?.phase === 'Running' && (pod.spec?.readinessGates ?? []).length > 0) {
        setImmediate(() => this.guard(() => this.updateReadiness(pod)));
      }
      if (event.type !== 'DELETED' && pod.spec?.nodeName && !this.kubelet.has(pod.metadata.uid)) {
        const entry: KubeletPod = { uid: pod.metadata.uid, namespace: pod.metadata.namespace!, name: pod.metadata.name, log: undefined, finished: false, removed: false, timers: [] };
        this.kubelet.set(pod.metadata.uid, entry);
        setImmediate(() => {
          this.runKubelet(entry).catch((error: unknown) => this.onError(error));
        });
      }
    }
    const workloadDef = WORKLOAD_RESOURCES.find((d) => d === event.resource);
    if (workloadDef && event.type === 'ADDED' && event.object.metadata.annotations?.[SEEDED_ANNOTATION] === undefined && !this.ownedByWorkload(event.object)) {
      // Created through the API: the controller makes its pods (seeded ones were expanded during seeding).
      const workload = event.object;
      setImmediate(() => this.guard(() => {
        if (this.store.find(workloadDef, workload.metadata.namespace, workload.metadata.name)?.metadata.uid === workload.metadata.uid) {
          this.runWorkload(workload, false, undefined);
        }
      }));
    }
    if (workloadDef && event.type === 'DELETED') setImmediate(() => this.guard(() => this.deleteOwnedBy(event.object)));
    if (workloadDef && event.type === 'ADDED') this.queueReconcile();
    if (plural === 'services' && event.type === 'DELETED') {
      const ip = event.object.spec?.clusterIP;
      if (ip && ip !== 'None') this.allocator.release(ip);
      this.deleteEndpointsFor(event.object);
    }
    if (['pods', 'services', 'namespaces', 'networkpolicies', 'nodes'].includes(plural)) this.queueReconcile();
  }

  /** A ReplicaSet a Deployment made (its pods come from runWorkload on the Deployment). */
  private ownedByWorkload(obj: KubeObject): boolean {
    return ((obj.metadata.ownerReferences ?? []) as Array<{ controller?: boolean }>).some((r) => r.controller === true);
  }

  /** Background steps report failures instead of crashing the process that hosts the lab. */
  private guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.onError(error);
    }
  }

  // --- scheduler ---

  private schedule(pod: KubeObject): void {
    if (this.stopped) return;
    const current = this.store.find(RESOURCE.pods, pod.metadata.namespace, pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid || current.spec?.nodeName) return;
    const wanted = current.spec?.nodeSelector?.['kubernetes.io/hostname'] as string | undefined;
    let node: string | undefined;
    if (wanted !== undefined) {
      node = this.nodes.includes(wanted) ? wanted : undefined;
    } else {
      node = this.nodes[this.nextNode % this.nodes.length];
      this.nextNode++;
    }
    if (node === undefined) {
      const message = `0/${this.nodes.length} nodes are available: ${this.nodes.length} node(s) didn't match Pod's node affinity/selector. preemption: 0/${this.nodes.length} nodes are available: ${this.nodes.length} Preemption is not helpful for scheduling.`;
      this.store.mutate(RESOURCE.pods, current.metadata.namespace, current.metadata.name, (p) => {
        p.status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: currentTimestamp() }];
      });
      this.recordEvent(current, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      return;
    }
    this.store.mutate(RESOURCE.pods, current.metadata.namespace, current.metadata.name, (p) => {
      p.spec.nodeName = node;
      p.status.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: currentTimestamp() }];
    });
    this.recordEvent(current, 'Normal', 'Scheduled', `Successfully assigned ${current.metadata.namespace}/${current.metadata.name} to ${node}`, 'default-scheduler');
  }

  /** A readiness gate's condition set through pods/status flips Ready, as the kubelet's status manager does. */
  private updateReadiness(pod: KubeObject): void {
    const entry = this.kubelet.get(pod.metadata.uid);
    if (!entry || entry.finished) return;
    const current = this.store.find(RESOURCE.pods, entry.namespace, entry.name);
    if (!current || current.status?.phase !== 'Running') return;
    const want = readinessGatesMet(current) ? 'True' : 'False';
    const ready = (current.status.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
    if (ready?.status === want) return;
    this.updatePod(entry, (p) => {
      p.status.conditions = mergeConditions(p.status.conditions, [
        want === 'True'
          ? { type: 'Ready', status: 'True' }
          : { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${unmetGates(p).join('", "')}" does not exist.` },
      ]);
    });
  }

  // --- kubelet ---

  private updatePod(entry: KubeletPod, change: (pod: KubeObject) => void): KubeObject | undefined {
    if (entry.removed) return undefined;
    const current = this.store.find(RESOURCE.pods, entry.namespace, entry.name);
    if (!current || current.metadata.uid !== entry.uid) return undefined;
    return this.store.mutate(RESOURCE.pods, entry.namespace, entry.name, change);
  }

  private sleep(entry: KubeletPod, ms: number): Promise<void> {
    return new Promise((resolve) => {
      entry.timers.push(setTimeout(resolve, ms));
    });
  }

  private async runKubelet(entry: KubeletPod): Promise<void> {
    const pod = this.store.find(RESOURCE.pods, entry.namespace, entry.name);
    if (!pod || pod.metadata.uid !== entry.uid || entry.finished) return;
    const node = pod.spec.nodeName as string;
    const containers: ContainerSpec[] = pod.spec.containers;
    const startTime = currentTimestamp();
    const waiting = (reason: string, message?: string): unknown[] =>
      containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: message ? { reason, message } : { reason } } }));
    this.updatePod(entry, (p) => {
      p.status.startTime = startTime;
      p.status.hostIP = this.hostIP(node);
      p.status.hostIPs = [{ ip: this.hostIP(node) }];
      p.status.containerStatuses = waiting('ContainerCreating');
      p.status.conditions = mergeConditions(p.status.conditions, [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` },
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` },
      ]);
    });

    // activeDeadlineSeconds counts from the kubelet accepting the pod (status.startTime), pending or not.
    const deadline = pod.spec.activeDeadlineSeconds as number | undefined;
    if (deadline !== undefined) {
      entry.timers.push(setTimeout(() => void this.deadlineExceeded(entry).catch((e: unknown) => this.onError(e)), deadline * 1000));
    }

    const badImage = containers.find((c) => c.image !== undefined && (this.faultSet.imagePullFailure ?? []).includes(c.image));
    if (badImage) {
      await this.failImagePull(entry, pod, containers, badImage);
      return;
    }

    const slow = this.faultSet.slowPodStartMs ?? 0;
    if (slow > 0) await this.sleep(entry, slow);
    if (entry.finished) return;

    const spec = this.runSpec(pod, node);
    if (typeof spec === 'string') {
      this.terminate(entry, containers, { exitCode: 128, reason: 'StartError', message: spec }, 'Failed');
      this.recordEvent(pod, 'Warning', 'Failed', `Error: ${spec}`, 'kubelet', node);
      return;
    }
    for (const c of containers) this.recordEvent(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet', node);

    const log = new PodLog();
    entry.log = log;
    let handle;
    try {
      handle = await this.dataPlane.runPod(spec, (chunk) => log.append(chunk));
    } catch (error) {
      if (entry.finished) return;
      const message = `failed to start container "${containers[0]!.name}": ${(error as Error).message ?? String(error)}`;
      log.end();
      this.terminate(entry, containers, { exitCode: 128, reason: 'StartError', message }, 'Failed');
      this.recordEvent(pod, 'Warning', 'Failed', `Error: ${message}`, 'kubelet', node);
      return;
    }
    if (entry.finished) {
      // Deleted (or stopped) while the data plane was starting it.
      await this.removeFromDataPlane(entry);
      return;
    }
    const startedAt = currentTimestamp();
    for (const c of containers) {
      this.recordEvent(pod, 'Normal', 'Created', `Created container ${c.name}`, 'kubelet', node);
      this.recordEvent(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', node);
    }
    this.updatePod(entry, (p) => {
      const ready = readinessGatesMet(p);
      p.status.phase = 'Running';
      p.status.podIP = handle.ip;
      p.status.podIPs = [{ ip: handle.ip }];
      p.status.containerStatuses = containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image ?? ''}@sha256:${shortHash(c.image ?? '', 16)}`,
        containerID: `lab://${entry.uid}/${c.name}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt } },
      }));
      const notReady = ready
        ? { type: 'Ready', status: 'True' }
        : { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${unmetGates(p).join('", "')}" does not exist.` };
      p.status.conditions = mergeConditions(p.status.conditions, [
        { type: 'PodReadyToStartContainers', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
        notReady,
      ]);
    });
    const exit = await handle.exited;
    if (entry.finished) return;
    log.end();
    const code = exit.code ?? (exit.signal ? 128 + signalNumber(exit.signal) : 1);
    this.terminate(
      entry,
      containers,
      { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt },
      code === 0 ? 'Succeeded' : 'Failed',
    );
    await this.removeFromDataPlane(entry);
  }

  /** What the data plane should run, or why the lab cannot run this container. */
  private runSpec(pod: KubeObject, node: string): PodRunSpec | string {
    const containers: ContainerSpec[] = pod.spec.containers;
    const first = containers[0]!;
    const env: Record<string, string> = {};
    for (const e of first.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const base = { uid: pod.metadata.uid, namespace: pod.metadata.namespace!, name: pod.metadata.name, node, env };
    const ports = containers.flatMap((c) => (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: (p.protocol === 'UDP' ? 'UDP' : 'TCP') as 'TCP' | 'UDP' })));
    if (pod.metadata.uid === this.dnsPodUid) return { ...base, argv: [], role: 'dns', respondOn: ports };
    if (this.seeded.has(pod.metadata.uid)) return { ...base, argv: [], respondOn: ports };
    const argv = [...(first.command ?? []), ...(first.args ?? [])];
    const program = argv[0]?.split('/').pop();
    if (program === 'node' || program === 'nodejs') return { ...base, argv };
    return `the netcheck lab runs only "node" commands (any image); container "${first.name}" (image "${first.image ?? ''}") has command ${JSON.stringify(argv)}`;
  }

  private async failImagePull(entry: KubeletPod, pod: KubeObject, containers: ContainerSpec[], bad: ContainerSpec): Promise<void> {
    const node = pod.spec.nodeName as string;
    const image = bad.image!;
    const ref = image.includes('/') ? image : `docker.io/library/${image}`;
    const pullError = `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
    const setWaiting = (reason: string, message: string): void => {
      this.updatePod(entry, (p) => {
        p.status.containerStatuses = containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: c === bad ? { reason, message } : { reason: 'PodInitializing' } },
        }));
      });
    };
    this.recordEvent(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, 'kubelet', node);
    setWaiting('ErrImagePull', pullError);
    this.recordEvent(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${pullError}`, 'kubelet', node);
    this.recordEvent(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet', node);
    await this.sleep(entry, IMAGE_BACKOFF_MS);
    if (entry.finished) return;
    setWaiting('ImagePullBackOff', `Back-off pulling image "${image}"`);
    this.recordEvent(pod, 'Warning', 'BackOff', `Back-off pulling image "${image}"`, 'kubelet', node);
    this.recordEvent(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', node);
  }

  private terminate(
    entry: KubeletPod,
    containers: ContainerSpec[],
    state: { exitCode: number; reason: string; message?: string; startedAt?: string },
    phase: 'Succeeded' | 'Failed',
    podReason?: { reason: string; message: string },
  ): void {
    entry.finished = true;
    for (const t of entry.timers) clearTimeout(t);
    entry.log?.end();
    const finishedAt = currentTimestamp();
    this.updatePod(entry, (p) => {
      p.status.phase = phase;
      if (podReason) {
        p.status.reason = podReason.reason;
        p.status.message = podReason.message;
      }
      p.status.containerStatuses = containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: `lab://${entry.uid}/${c.name}`,
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { ...state, startedAt: state.startedAt ?? finishedAt, finishedAt, containerID: `lab://${entry.uid}/${c.name}` } },
      }));
      const reason = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
      p.status.conditions = mergeConditions(p.status.conditions, [
        { type: 'Ready', status: 'False', reason },
        { type: 'ContainersReady', status: 'False', reason },
      ]);
    });
  }

  private async deadlineExceeded(entry: KubeletPod): Promise<void> {
    if (entry.finished) return;
    const pod = this.store.find(RESOURCE.pods, entry.namespace, entry.name);
    if (!pod) return;
    const message = 'Pod was active on the node longer than the specified deadline';
    const running = pod.status?.phase === 'Running';
    this.terminate(
      entry,
      pod.spec.containers,
      running ? { exitCode: 137, reason: 'Error' } : { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' },
      'Failed',
      { reason: 'DeadlineExceeded', message },
    );
    this.recordEvent(pod, 'Warning', 'DeadlineExceeded', message, 'kubelet', pod.spec.nodeName);
    await this.removeFromDataPlane(entry);
  }

  private async removeFromDataPlane(entry: KubeletPod): Promise<void> {
    if (entry.removed) return;
    entry.removed = entry.removed || this.store.find(RESOURCE.pods, entry.namespace, entry.name)?.metadata.uid !== entry.uid;
    await this.dataPlane.removePod(entry.uid).catch((error: unknown) => this.onError(error));
  }

  private async killPod(uid: string, why: 'deleted' | 'stopped'): Promise<void> {
    const entry = this.kubelet.get(uid);
    if (!entry) return;
    entry.finished = true;
    entry.removed = true;
    for (const t of entry.timers) clearTimeout(t);
    entry.log?.end();
    if (why === 'deleted') this.kubelet.delete(uid);
    await this.dataPlane.removePod(uid).catch((error: unknown) => this.onError(error));
  }

  private hostIP(node: string): string {
    return `172.31.0.${this.nodes.indexOf(node) + 2}`;
  }

  private recordEvent(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string): void {
    if (this.stopped) return;
    const ns = pod.metadata.namespace!;
    if (!this.store.find(RESOURCE.namespaces, undefined, ns)) return;
    const time = currentTimestamp();
    this.store.create(RESOURCE.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${pod.metadata.name}.${randomSuffix(16)}`, namespace: ns } as unknown as KubeObject['metadata'],
      involvedObject: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1', fieldPath: `spec.containers{${pod.spec?.containers?.[0]?.name ?? ''}}` },
      reason,
      message,
      type,
      source: host ? { component, host } : { component },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      reportingComponent: component,
      reportingInstance: host ?? '',
    });
  }

  // --- endpoints controller + data-plane sync ---

  private queueReconcile(): void {
    if (this.reconcileQueued || this.stopped) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      if (this.stopped) return;
      try {
        this.reconcileEndpoints();
        this.reconcileWorkloadStatus();
      } catch (error) {
        this.onError(error);
      }
      this.requestSync();
    });
  }

  private deleteEndpointsFor(svc: KubeObject): void {
    const ns = svc.metadata.namespace!;
    if (this.store.find(RESOURCE.endpoints, ns, svc.metadata.name)) this.store.delete(RESOURCE.endpoints, ns, svc.metadata.name);
    for (const slice of this.store.list(RESOURCE.endpointslices, ns)) {
      if (slice.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name) this.store.delete(RESOURCE.endpointslices, ns, slice.metadata.name);
    }
  }

  private reconcileEndpoints(): void {
    const pods = this.store.list(RESOURCE.pods);
    for (const svc of this.store.list(RESOURCE.services)) {
      if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) continue;
      const groups = groupEndpoints(svc, pods, this.faultSet.servicesWithoutEndpoints ?? []);
      this.writeEndpoints(svc, groups);
      this.writeEndpointSlices(svc, groups);
    }
  }

  private writeEndpoints(svc: KubeObject, groups: EndpointGroup[]): void {
    const address = (p: KubeObject): unknown => ({
      ip: p.status.podIP,
      nodeName: p.spec.nodeName,
      targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
    });
    const subsets = groups
      .filter((g) => g.ready.length + g.notReady.length > 0)
      .map((g) => {
        const subset: Record<string, unknown> = { ports: g.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })) };
        if (g.ready.length > 0) subset.addresses = g.ready.map(address);
        if (g.notReady.length > 0) subset.notReadyAddresses = g.notReady.map(address);
        return subset;
      });
    const ns = svc.metadata.namespace!;
    const existing = this.store.find(RESOURCE.endpoints, ns, svc.metadata.name);
    const labels = { ...(svc.metadata.labels ?? {}) };
    if (!existing) {
      this.store.create(RESOURCE.endpoints, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: svc.metadata.name, namespace: ns, labels } as unknown as KubeObject['metadata'],
        ...(subsets.length > 0 ? { subsets } : {}),
      });
    } else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(subsets)) {
      this.store.mutate(RESOURCE.endpoints, ns, svc.metadata.name, (ep) => {
        if (subsets.length > 0) ep.subsets = subsets;
        else delete ep.subsets;
      });
    }
  }

  private writeEndpointSlices(svc: KubeObject, groups: EndpointGroup[]): void {
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name;
    const wanted = (groups.length === 0 ? [{ ports: [], ready: [], notReady: [] } as EndpointGroup] : groups).map((g, i) => ({
      name: `${name}-${shortHash(`${ns}/${name}/${i}`, 5)}`,
      body: {
        addressType: 'IPv4',
        endpoints: [...g.ready.map((p) => ({ p, ready: true })), ...g.notReady.map((p) => ({ p, ready: false }))].map(({ p, ready }) => ({
          addresses: [p.status.podIP],
          conditions: { ready, serving: ready, terminating: false },
          nodeName: p.spec.nodeName,
          targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
        })),
        ports: g.ports.map((p) => ({ ...(p.name ? { name: p.name } : { name: '' }), port: p.port, protocol: p.protocol })),
      },
    }));
    const keep = new Set(wanted.map((w) => w.name));
    for (const slice of this.store.list(RESOURCE.endpointslices, ns)) {
      if (slice.metadata.labels?.['kubernetes.io/service-name'] === name && !keep.has(slice.metadata.name)) {
        this.store.delete(RESOURCE.endpointslices, ns, slice.metadata.name);
      }
    }
    for (const w of wanted) {
      const existing = this.store.find(RESOURCE.endpointslices, ns, w.name);
      if (!existing) {
        this.store.create(RESOURCE.endpointslices, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: w.name,
            namespace: ns,
            labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
          } as unknown as KubeObject['metadata'],
          ...w.body,
        });
      } else if (JSON.stringify({ e: existing.endpoints, p: existing.ports }) !== JSON.stringify({ e: w.body.endpoints, p: w.body.ports })) {
        this.store.mutate(RESOURCE.endpointslices, ns, w.name, (s) => {
          s.endpoints = w.body.endpoints;
          s.ports = w.body.ports;
        });
      }
    }
  }

  /** The state the data plane converges to: a policy snapshot plus every service's ready endpoints. */
  buildState(): DataPlaneState {
    const namespaces = this.store.list(RESOURCE.namespaces);
    const pods = this.store.list(RESOURCE.pods);
    const services = this.store.list(RESOURCE.services);
    const policies = this.store.list(RESOURCE.networkpolicies);
    const nodes = this.store.list(RESOURCE.nodes);
    // A finished pod's IP goes back to the data plane's pool and may be reused: keep the pod, drop its IP.
    const live = pods.map((p) => {
      if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') return p;
      const copy = structuredClone(p);
      delete copy.status.podIP;
      delete copy.status.podIPs;
      return copy;
    });
    const snapshot = snapshotFromObjects([...namespaces, ...live, ...services, ...policies, ...nodes]);
    const endpoints: ServiceEndpoints[] = services
      .filter((svc) => svc.spec?.type !== 'ExternalName')
      .map((svc) => {
        const info = serviceFromObject(svc);
        const groups = groupEndpoints(svc, pods, this.faultSet.servicesWithoutEndpoints ?? []);
        return {
          namespace: info.namespace,
          name: info.name,
          ...(info.clusterIP ? { clusterIP: info.clusterIP } : {}),
          loadBalancerIPs: info.type === 'LoadBalancer' ? info.loadBalancerIPs : [],
          headless: svc.spec?.clusterIP === 'None',
          ports: info.ports.map((sp) => ({
            port: sp.port,
            protocol: sp.protocol,
            endpoints: groups.flatMap((g) => {
              const resolved = g.ports.find((p) => p.servicePort === sp.port && p.protocol === sp.protocol);
              return resolved ? g.ready.map((p) => ({ ip: p.status.podIP as string, port: resolved.port })) : [];
            }),
          })),
        };
      });
    return { snapshot, services: endpoints, faults: { ...this.faultSet } };
  }

  private requestSync(): void {
    if (this.stopped) return;
    this.syncDirty = true;
    if (this.syncTimer || this.syncRunning) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncRunning = this.runSyncs().finally(() => {
        this.syncRunning = undefined;
        if (this.syncDirty) this.requestSync();
      });
    }, SYNC_DEBOUNCE_MS);
  }

  private async runSyncs(): Promise<void> {
    while (this.syncDirty && !this.stopped) {
      this.syncDirty = false;
      try {
        const state = this.buildState();
        await this.dataPlane.sync(state);
        this.synced = state;
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** The state the data plane last converged to (undefined before the first successful sync). */
  get lastSyncedState(): DataPlaneState | undefined {
    return this.synced;
  }

  /** Resolves once pending reconciles and data-plane syncs have run. */
  async flush(): Promise<void> {
    for (let i = 0; i < 100 && !this.stopped; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.reconcileQueued) continue;
      if (this.syncTimer) {
        await new Promise((resolve) => setTimeout(resolve, SYNC_DEBOUNCE_MS + 1));
        continue;
      }
      if (this.syncRunning) {
        await this.syncRunning;
        continue;
      }
      if (!this.syncDirty) return;
    }
  }

  /** Stops every loop and timer; the data plane's own stop() removes the pods. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.syncTimer) clearTimeout(this.syncTimer);
    for (const entry of this.kubelet.values()) {
      entry.finished = true;
      for (const t of entry.timers) clearTimeout(t);
      entry.log?.end();
    }
  }

  /** Waits for an in-flight sync so stop() of the data plane does not race it. */
  async idle(): Promise<void> {
    await this.syncRunning;
  }
}

