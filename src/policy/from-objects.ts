/**
 * Pure converters from plain Kubernetes JSON objects (as parsed from YAML manifests or returned by the
 * API server) to the snapshot types. They never throw on missing optional fields; they throw
 * `ObjectShapeError` (a plain Error carrying the offending path) when a field has the wrong shape, so
 * the caller (manifest loader, cluster inventory) can wrap it with its own location.
 */
import type {
  AdminAction,
  AdminPolicy,
  AdminPolicyKind,
  AdminPolicyPeer,
  AdminPolicyPort,
  AdminPolicyRule,
  AdminPolicySubject,
  ClusterSnapshot,
  ContainerPort,
  IPBlock,
  LabelSelector,
  LabelSelectorRequirement,
  NamespacedPodSelector,
  NamespaceInfo,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NodeInfo,
  OtherPolicy,
  PodInfo,
  Protocol,
  ServiceInfo,
  ServicePort,
} from './types.js';
import { CALICO_API_GROUPS, calicoPolicyFromObject, isCalicoPolicy } from './calico-objects.js';
import { clusterNetworkPolicyFromObject } from './cluster-network-policy.js';

/** A malformed field; `path` is a dotted path inside the object, e.g. "spec.ingress[0].ports[1].port". */
export class ObjectShapeError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ObjectShapeError';
    this.path = path;
  }
}

/** The label the API server sets on every namespace (since Kubernetes 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Kinds whose pod template stands for the pods they run. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Kinds `snapshotFromObjects` understands; everything else is skipped and counted. */
export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: unknown, path: string): Obj | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new ObjectShapeError(path, 'expected a mapping');
  return value;
}

export function arrayAt(value: unknown, path: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ObjectShapeError(path, 'expected a list');
  return value;
}

export function stringAt(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ObjectShapeError(path, 'expected a string');
  return value;
}

export function requiredString(value: unknown, path: string): string {
  const s = stringAt(value, path);
  if (s === undefined || s === '') throw new ObjectShapeError(path, 'is required');
  return s;
}

export function integerAt(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ObjectShapeError(path, 'expected an integer');
  return value;
}

export function portNumber(value: unknown, path: string): number {
  const n = integerAt(value, path);
  if (n === undefined) throw new ObjectShapeError(path, 'is required');
  if (n < 1 || n > 65535) throw new ObjectShapeError(path, `port ${n} is outside 1-65535`);
  return n;
}

/** A port given as a number or an IANA_SVC_NAME; numeric strings are numbers (YAML quoting). */
function numberOrName(value: unknown, path: string): number | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return portNumber(value, path);
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return portNumber(Number(value), path);
    if (value === '') throw new ObjectShapeError(path, 'empty port name');
    return value;
  }
  throw new ObjectShapeError(path, 'expected a port number or name');
}

function protocolAt(value: unknown, path: string): Protocol {
  if (value === undefined || value === null) return 'TCP';
  if (value === 'TCP' || value === 'UDP' || value === 'SCTP') return value;
  throw new ObjectShapeError(path, `protocol must be TCP, UDP or SCTP, got ${JSON.stringify(value)}`);
}

function labelsAt(value: unknown, path: string): Record<string, string> {
  const o = objectAt(value, path);
  if (!o) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    // YAML turns `team: true` or `tier: 1` into non-strings; the API server would reject them, we coerce.
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else if (v === null) out[k] = '';
    else throw new ObjectShapeError(`${path}.${k}`, 'label values must be strings');
  }
  return out;
}

export function metadataOf(obj: Obj): Obj {
  return objectAt(obj.metadata, 'metadata') ?? {};
}

export function selectorFromObject(value: unknown, path: string): LabelSelector | undefined {
  const o = objectAt(value, path);
  if (!o) return undefined;
  const selector: LabelSelector = {};
  if (o.matchLabels !== undefined && o.matchLabels !== null) {
    selector.matchLabels = labelsAt(o.matchLabels, `${path}.matchLabels`);
  }
  const exprs = arrayAt(o.matchExpressions, `${path}.matchExpressions`);
  if (exprs) {
    selector.matchExpressions = exprs.map((e, i): LabelSelectorRequirement => {
      const p = `${path}.matchExpressions[${i}]`;
      const eo = objectAt(e, p) ?? {};
      const key = requiredString(eo.key, `${p}.key`);
      const operator = eo.operator;
      if (operator !== 'In' && operator !== 'NotIn' && operator !== 'Exists' && operator !== 'DoesNotExist') {
        throw new ObjectShapeError(`${p}.operator`, `must be In, NotIn, Exists or DoesNotExist, got ${JSON.stringify(operator)}`);
      }
      const values = arrayAt(eo.values, `${p}.values`)?.map((v, j) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        throw new ObjectShapeError(`${p}.values[${j}]`, 'expected a string');
      });
      if ((operator === 'In' || operator === 'NotIn') && (!values || values.length === 0)) {
        throw new ObjectShapeError(`${p}.values`, `operator ${operator} needs at least one value`);
      }
      const req: LabelSelectorRequirement = { key, operator };
      if (values && (operator === 'In' || operator === 'NotIn')) req.values = values;
      return req;
    });
  }
  return selector;
}

export function namespaceFromObject(obj: unknown): NamespaceInfo {
  const o = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const name = requiredString(meta.name, 'metadata.name');
  // The API server always sets this label, overriding any value a manifest gives it.
  return { name, labels: { ...labelsAt(meta.labels, 'metadata.labels'), [NAMESPACE_NAME_LABEL]: name } };
}

function containerPortsOf(podSpec: Obj, path: string): ContainerPort[] {
  const ports: ContainerPort[] = [];
  for (const field of ['initContainers', 'containers'] as const) {
    const containers = arrayAt(podSpec[field], `${path}.${field}`) ?? [];
    containers.forEach((c, i) => {
      const cp = `${path}.${field}[${i}]`;
      const co = objectAt(c, cp) ?? {};
      // Only sidecar-style init containers (restartPolicy: Always) keep serving after start-up.
      if (field === 'initContainers' && co.restartPolicy !== 'Always') return;
      (arrayAt(co.ports, `${cp}.ports`) ?? []).forEach((p, j) => {
        const pp = `${cp}.ports[${j}]`;
        const po = objectAt(p, pp) ?? {};
        const port: ContainerPort = {
          containerPort: portNumber(po.containerPort, `${pp}.containerPort`),
          protocol: protocolAt(po.protocol, `${pp}.protocol`),
        };
        const name = stringAt(po.name, `${pp}.name`);
        if (name) port.name = name;
        ports.push(port);
      });
    });
  }
  return ports;
}

export function namespaceOf(meta: Obj, fallback: string): string {
  return stringAt(meta.namespace, 'metadata.namespace') || fallback;
}

export interface ObjectOptions {
  /** Namespace for namespaced objects that do not name one (kubectl's -n). Default "default". */
  defaultNamespace?: string;
}

export function podFromObject(obj: unknown, source?: string, options: ObjectOptions = {}): PodInfo {
  const o = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const status = objectAt(o.status, 'status') ?? {};
  const pod: PodInfo = {
    namespace: namespaceOf(meta, options.defaultNamespace ?? 'default'),
    name: requiredString(meta.name, 'metadata.name'),
    labels: labelsAt(meta.labels, 'metadata.labels'),
    ports: containerPortsOf(spec, 'spec'),
  };
  const serviceAccount = serviceAccountOf(spec, 'spec');
  if (serviceAccount !== undefined) pod.serviceAccount = serviceAccount;
  const ip = stringAt(status.podIP, 'status.podIP');
  if (ip) pod.ip = ip;
  const node = stringAt(spec.nodeName, 'spec.nodeName');
  if (node) pod.node = node;
  if (source !== undefined) pod.source = source;
  return pod;
}

/** spec.serviceAccountName (or the deprecated serviceAccount); absent means "default", as the API server sets it. */
function serviceAccountOf(podSpec: Obj, path: string): string | undefined {
  return stringAt(podSpec.serviceAccountName, `${path}.serviceAccountName`) || stringAt(podSpec.serviceAccount, `${path}.serviceAccount`) || undefined;
}
/** Workload kinds whose spec.replicas counts their pods (1 when absent, as the API server defaults it). */
const REPLICATED_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'];

function isWorkloadKind(kind: unknown): kind is WorkloadKind {
  return typeof kind === 'string' && (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** One representative pod for a workload: its template's labels and ports, named after the workload. */
export function podFromWorkload(obj: unknown, source?: string, options: ObjectOptions = {}): PodInfo {
  const o = objectAt(obj, '') ?? {};
  const kind = o.kind;
  if (!isWorkloadKind(kind)) throw new ObjectShapeError('kind', `not a workload kind: ${JSON.stringify(kind)}`);
  const meta = metadataOf(o);
  const name = requiredString(meta.name, 'metadata.name');
  const spec = objectAt(o.spec, 'spec') ?? {};
  let templatePath = 'spec.template';
  let template: Obj | undefined;
  if (kind === 'CronJob') {
    const jobTemplate = objectAt(spec.jobTemplate, 'spec.jobTemplate') ?? {};
    const jobSpec = objectAt(jobTemplate.spec, 'spec.jobTemplate.spec') ?? {};
    templatePath = 'spec.jobTemplate.spec.template';
    template = objectAt(jobSpec.template, templatePath);
  } else {
    template = objectAt(spec.template, templatePath);
  }
  const tmeta = objectAt(template?.metadata, `${templatePath}.metadata`) ?? {};
  const tspec = objectAt(template?.spec, `${templatePath}.spec`) ?? {};
  const pod: PodInfo = {
    namespace: namespaceOf(meta, options.defaultNamespace ?? 'default'),
    name,
    labels: labelsAt(tmeta.labels, `${templatePath}.metadata.labels`),
    ports: containerPortsOf(tspec, `${templatePath}.spec`),
    owner: `${kind.toLowerCase()}/${name}`,
  };
  const serviceAccount = serviceAccountOf(tspec, `${templatePath}.spec`);
  if (serviceAccount !== undefined) pod.serviceAccount = serviceAccount;
  if (REPLICATED_KINDS.includes(kind)) pod.replicas = integerAt(spec.replicas, 'spec.replicas') ?? 1;
  const node = stringAt(tspec.nodeName, `${templatePath}.spec.nodeName`);
  if (node) pod.node = node;
  if (source !== undefined) pod.source = source;
  return pod;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const METALLB_ANNOTATIONS = ['metallb.universe.tf/loadBalancerIPs', 'metallb.io/loadBalancerIPs'];

export function serviceFromObject(obj: unknown, source?: string, options: ObjectOptions = {}): ServiceInfo {
  const o = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const rawType = spec.type ?? 'ClusterIP';
  if (!(SERVICE_TYPES as readonly unknown[]).includes(rawType)) {
    throw new ObjectShapeError('spec.type', `unknown service type ${JSON.stringify(rawType)}`);
  }
  const lbIPs: string[] = [];
  const addIP = (ip: string | undefined): void => {
    const trimmed = ip?.trim();
    if (trimmed && !lbIPs.includes(trimmed)) lbIPs.push(trimmed);
  };
  addIP(stringAt(spec.loadBalancerIP, 'spec.loadBalancerIP'));
  const annotations = objectAt(meta.annotations, 'metadata.annotations') ?? {};
  for (const key of METALLB_ANNOTATIONS) {
    const value = stringAt(annotations[key], `metadata.annotations.${key}`);
    for (const ip of value?.split(',') ?? []) addIP(ip);
  }
  const status = objectAt(o.status, 'status') ?? {};
  const lb = objectAt(status.loadBalancer, 'status.loadBalancer') ?? {};
  (arrayAt(lb.ingress, 'status.loadBalancer.ingress') ?? []).forEach((ing, i) => {
    addIP(stringAt(objectAt(ing, `status.loadBalancer.ingress[${i}]`)?.ip, `status.loadBalancer.ingress[${i}].ip`));
  });
  const ports = (arrayAt(spec.ports, 'spec.ports') ?? []).map((p, i): ServicePort => {
    const pp = `spec.ports[${i}]`;
    const po = objectAt(p, pp) ?? {};
    const port = portNumber(po.port, `${pp}.port`);
    const sp: ServicePort = {
      port,
      targetPort: numberOrName(po.targetPort, `${pp}.targetPort`) ?? port,
      protocol: protocolAt(po.protocol, `${pp}.protocol`),
    };
    const name = stringAt(po.name, `${pp}.name`);
    if (name) sp.name = name;
    const nodePort = integerAt(po.nodePort, `${pp}.nodePort`);
    if (nodePort !== undefined) sp.nodePort = nodePort;
    return sp;
  });
  const svc: ServiceInfo = {
    namespace: namespaceOf(meta, options.defaultNamespace ?? 'default'),
    name: requiredString(meta.name, 'metadata.name'),
    type: rawType as ServiceInfo['type'],
    loadBalancerIPs: lbIPs,
    ports,
  };
  if (spec.selector !== undefined && spec.selector !== null) svc.selector = labelsAt(spec.selector, 'spec.selector');
  const clusterIP = stringAt(spec.clusterIP, 'spec.clusterIP');
  if (clusterIP && clusterIP !== 'None') svc.clusterIP = clusterIP;
  const trafficPolicy = stringAt(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy');
  if (trafficPolicy === 'Local' || trafficPolicy === 'Cluster') svc.externalTrafficPolicy = trafficPolicy;
  if (source !== undefined) svc.source = source;
  return svc;
}

function ipBlockFromObject(value: unknown, path: string): IPBlock {
  const o = objectAt(value, path) ?? {};
  const block: IPBlock = { cidr: requiredString(o.cidr, `${path}.cidr`) };
  const except = arrayAt(o.except, `${path}.except`);
  if (except) block.except = except.map((e, i) => requiredString(e, `${path}.except[${i}]`));
  return block;
}

function peersFromObject(value: unknown, path: string): NetworkPolicyPeer[] | undefined {
  const list = arrayAt(value, path);
  if (!list) return undefined;
  return list.map((p, i) => {
    const pp = `${path}[${i}]`;
    const po = objectAt(p, pp) ?? {};
    const peer: NetworkPolicyPeer = {};
    const podSelector = selectorFromObject(po.podSelector, `${pp}.podSelector`);
    if (podSelector) peer.podSelector = podSelector;
    const namespaceSelector = selectorFromObject(po.namespaceSelector, `${pp}.namespaceSelector`);
    if (namespaceSelector) peer.namespaceSelector = namespaceSelector;
    if (po.ipBlock !== undefined && po.ipBlock !== null) {
      if (podSelector || namespaceSelector) {
        throw new ObjectShapeError(pp, 'ipBlock cannot be combined with podSelector or namespaceSelector');
      }
      peer.ipBlock = ipBlockFromObject(po.ipBlock, `${pp}.ipBlock`);
    }
    if (!podSelector && !namespaceSelector && !peer.ipBlock) {
      throw new ObjectShapeError(pp, 'a peer needs podSelector, namespaceSelector or ipBlock');
    }
    return peer;
  });
}

function policyPortsFromObject(value: unknown, path: string): NetworkPolicyPort[] | undefined {
  const list = arrayAt(value, path);
  if (!list) return undefined;
  return list.map((p, i) => {
    const pp = `${path}[${i}]`;
    const po = objectAt(p, pp) ?? {};
    const port: NetworkPolicyPort = { protocol: protocolAt(po.protocol, `${pp}.protocol`) };
    const num = numberOrName(po.port, `${pp}.port`);
    if (num !== undefined) port.port = num;
    const endPort = integerAt(po.endPort, `${pp}.endPort`);
    if (endPort !== undefined) {
      if (typeof num !== 'number') throw new ObjectShapeError(`${pp}.endPort`, 'endPort needs a numeric port');
      if (endPort < num) throw new ObjectShapeError(`${pp}.endPort`, `endPort ${endPort} is below port ${num}`);
      port.endPort = portNumber(endPort, `${pp}.endPort`);
    }
    return port;
  });
}

/** Ingress and egress rules differ only in the name of their peer list (`from` / `to`). */
function rulesFromObject<K extends 'from' | 'to'>(
  value: unknown,
  path: string,
  peerField: K,
): Array<{ [P in K]?: NetworkPolicyPeer[] } & { ports?: NetworkPolicyPort[] }> | undefined {
  const list = arrayAt(value, path);
  if (!list) return undefined;
  return list.map((r, i) => {
    const rp = `${path}[${i}]`;
    const ro = objectAt(r, rp) ?? {};
    const rule: { [P in K]?: NetworkPolicyPeer[] } & { ports?: NetworkPolicyPort[] } = {};
    const peers = peersFromObject(ro[peerField], `${rp}.${peerField}`);
    if (peers) rule[peerField] = peers as (typeof rule)[K];
    const ports = policyPortsFromObject(ro.ports, `${rp}.ports`);
    if (ports) rule.ports = ports;
    return rule;
  });
}

export function networkPolicyFromObject(obj: unknown, source?: string, options: ObjectOptions = {}): NetworkPolicy {
  const o = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const policy: NetworkPolicy = {
    name: requiredString(meta.name, 'metadata.name'),
    namespace: namespaceOf(meta, options.defaultNamespace ?? 'default'),
    // The API requires podSelector; `{}` and absent both mean "every pod in the namespace".
    podSelector: selectorFromObject(spec.podSelector, 'spec.podSelector') ?? {},
  };
  const types = arrayAt(spec.policyTypes, 'spec.policyTypes');
  if (types) {
    policy.policyTypes = types.map((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') {
        throw new ObjectShapeError(`spec.policyTypes[${i}]`, `must be Ingress or Egress, got ${JSON.stringify(t)}`);
      }
      return t;
    });
  }
  const ingress = rulesFromObject(spec.ingress, 'spec.ingress', 'from');
  if (ingress) policy.ingress = ingress;
  const egress = rulesFromObject(spec.egress, 'spec.egress', 'to');
  if (egress) policy.egress = egress;
  if (source !== undefined) policy.source = source;
  return policy;
}

const ADMIN_POLICY_KINDS = ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'] as const;

/** A LabelSelector that must not carry fields of other API versions (e.g. v1alpha1's early `sameLabels`). */
function strictSelector(value: unknown, path: string): LabelSelector | undefined {
  const o = objectAt(value, path);
  if (!o) return undefined;
  for (const key of Object.keys(o)) {
    if (key !== 'matchLabels' && key !== 'matchExpressions') {
      throw new ObjectShapeError(`${path}.${key}`, 'is not a field of a label selector (this netcheck reads network-policy-api v0.1 AdminNetworkPolicy)');
    }
  }
  return selectorFromObject(o, path);
}

function namespacedPodFromObject(value: unknown, path: string): NamespacedPodSelector {
  const o = objectAt(value, path) ?? {};
  return {
    namespaceSelector: strictSelector(o.namespaceSelector, `${path}.namespaceSelector`) ?? {},
    podSelector: strictSelector(o.podSelector, `${path}.podSelector`) ?? {},
  };
}

/** Exactly one of the listed fields is set (the API's MinProperties=1, MaxProperties=1). */
export function exactlyOne(o: Obj, fields: readonly string[], path: string): string {
  const set = fields.filter((f) => o[f] !== undefined && o[f] !== null);
  const unknown = Object.keys(o).filter((k) => !fields.includes(k));
  if (unknown.length > 0) throw new ObjectShapeError(`${path}.${unknown[0]}`, `unknown field; expected one of ${fields.join(', ')}`);
  if (set.length !== 1) throw new ObjectShapeError(path, `needs exactly one of ${fields.join(', ')}`);
  return set[0] as string;
}

function adminPeerFromObject(value: unknown, path: string, egress: boolean): AdminPolicyPeer {
  const o = objectAt(value, path) ?? {};
  const field = exactlyOne(o, egress ? ['namespaces', 'pods', 'nodes', 'networks'] : ['namespaces', 'pods'], path);
  switch (field) {
    case 'namespaces':
      return { namespaces: strictSelector(o.namespaces, `${path}.namespaces`) ?? {} };
    case 'pods':
      return { pods: namespacedPodFromObject(o.pods, `${path}.pods`) };
    case 'nodes':
      return { nodes: strictSelector(o.nodes, `${path}.nodes`) ?? {} };
    default: {
      const networks = (arrayAt(o.networks, `${path}.networks`) ?? []).map((c, i) => requiredString(c, `${path}.networks[${i}]`));
      if (networks.length === 0) throw new ObjectShapeError(`${path}.networks`, 'needs at least one CIDR');
      return { networks };
    }
  }
}

function adminPortFromObject(value: unknown, path: string): AdminPolicyPort {
  const o = objectAt(value, path) ?? {};
  const field = exactlyOne(o, ['portNumber', 'namedPort', 'portRange'], path);
  if (field === 'namedPort') {
    const name = requiredString(o.namedPort, `${path}.namedPort`);
    return { namedPort: name };
  }
  const p = `${path}.${field}`;
  const po = objectAt(o[field], p) ?? {};
  const protocol = protocolAt(po.protocol, `${p}.protocol`);
  if (field === 'portNumber') return { portNumber: { protocol, port: portNumber(po.port, `${p}.port`) } };
  const start = portNumber(po.start, `${p}.start`);
  const end = portNumber(po.end, `${p}.end`);
  if (end < start) throw new ObjectShapeError(`${p}.end`, `end ${end} is below start ${start}`);
  return { portRange: { protocol, start, end } };
}

function adminRulesFromObject(value: unknown, path: string, kind: AdminPolicyKind, egress: boolean): AdminPolicyRule[] {
  return (arrayAt(value, path) ?? []).map((r, i) => {
    const rp = `${path}[${i}]`;
    const ro = objectAt(r, rp) ?? {};
    const action = ro.action;
    const actions = kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
    if (typeof action !== 'string' || !actions.includes(action)) {
      throw new ObjectShapeError(`${rp}.action`, `must be ${actions.join(', ')} for a ${kind}, got ${JSON.stringify(action)}`);
    }
    const peerField = egress ? 'to' : 'from';
    const peers = (arrayAt(ro[peerField], `${rp}.${peerField}`) ?? []).map((p, j) => adminPeerFromObject(p, `${rp}.${peerField}[${j}]`, egress));
    if (peers.length === 0) throw new ObjectShapeError(`${rp}.${peerField}`, 'needs at least one peer');
    const rule: AdminPolicyRule = { action: action as AdminAction, peers };
    const name = stringAt(ro.name, `${rp}.name`);
    if (name) rule.name = name;
    const ports = arrayAt(ro.ports, `${rp}.ports`);
    if (ports) rule.ports = ports.map((p, j) => adminPortFromObject(p, `${rp}.ports[${j}]`));
    return rule;
  });
}

export function isAdminPolicyKind(kind: unknown): kind is AdminPolicyKind {
  return typeof kind === 'string' && (ADMIN_POLICY_KINDS as readonly string[]).includes(kind);
}

/** An AdminNetworkPolicy or BaselineAdminNetworkPolicy (network-policy-api v0.1, policy.networking.k8s.io/v1alpha1). */
export function adminPolicyFromObject(obj: unknown, source?: string): AdminPolicy {
  const o = objectAt(obj, '') ?? {};
  const kind = o.kind;
  if (!isAdminPolicyKind(kind)) throw new ObjectShapeError('kind', `not an admin policy kind: ${JSON.stringify(kind)}`);
  if (kind === 'ClusterNetworkPolicy') return clusterNetworkPolicyFromObject(obj, source);
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const subjectObj = objectAt(spec.subject, 'spec.subject') ?? {};
  const subjectField = exactlyOne(subjectObj, ['namespaces', 'pods'], 'spec.subject');
  const subject: AdminPolicySubject =
    subjectField === 'namespaces'
      ? { namespaces: strictSelector(subjectObj.namespaces, 'spec.subject.namespaces') ?? {} }
      : { pods: namespacedPodFromObject(subjectObj.pods, 'spec.subject.pods') };
  const policy: AdminPolicy = {
    kind,
    name: requiredString(meta.name, 'metadata.name'),
    subject,
    ingress: adminRulesFromObject(spec.ingress, 'spec.ingress', kind, false),
    egress: adminRulesFromObject(spec.egress, 'spec.egress', kind, true),
  };
  if (kind === 'AdminNetworkPolicy') {
    const priority = integerAt(spec.priority, 'spec.priority');
    if (priority === undefined) throw new ObjectShapeError('spec.priority', 'is required');
    if (priority < 0 || priority > 1000) throw new ObjectShapeError('spec.priority', `priority ${priority} is outside 0-1000`);
    policy.priority = priority;
  }
  if (source !== undefined) policy.source = source;
  return policy;
}

export { CALICO_API_GROUPS, isCalicoPolicy };

/** A Calico policy, converted and checked by calico-objects.ts (kept here: every kind's converter is reachable from this module). */
export function otherPolicyFromObject(obj: unknown, source?: string, options: ObjectOptions = {}): OtherPolicy {
  return calicoPolicyFromObject(obj, source, options);
}

export function nodeFromObject(obj: unknown): NodeInfo {
  const o = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const node: NodeInfo = { name: requiredString(meta.name, 'metadata.name'), labels: labelsAt(meta.labels, 'metadata.labels') };
  const status = objectAt(o.status, 'status') ?? {};
  const addresses = (arrayAt(status.addresses, 'status.addresses') ?? [])
    .map((a, i) => objectAt(a, `status.addresses[${i}]`) ?? {})
    .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
    .map((a) => stringAt(a.address, 'status.addresses[].address'))
    .filter((a): a is string => a !== undefined && a !== '');
  if (addresses.length > 0) node.addresses = addresses;
  const spec = objectAt(o.spec, 'spec') ?? {};
  const podCIDRs = (arrayAt(spec.podCIDRs, 'spec.podCIDRs') ?? []).map((c, i) => requiredString(c, `spec.podCIDRs[${i}]`));
  const podCIDR = stringAt(spec.podCIDR, 'spec.podCIDR');
  if (podCIDRs.length > 0) node.podCIDRs = podCIDRs;
  else if (podCIDR) node.podCIDRs = [podCIDR];
  return node;
}

/**
 * The items of a list object (`kind: List`, or a typed list such as `NamespaceList` / `PodList` as
 * `kubectl get -o yaml` and the API server return them); undefined when `obj` is not a list.
 * Items of a typed list carry no `kind` of their own: like apimachinery's decoder, each such item gets the
 * list's item kind (`XList` → `X`) and the list's apiVersion. A generic `List` names no item kind, so its
 * items keep what they have (an item without kind stays without one and is reported as such).
 */
export function itemsOfList(obj: unknown): unknown[] | undefined {
  if (!isObject(obj) || typeof obj.kind !== 'string' || !obj.kind.endsWith('List')) return undefined;
  const items = arrayAt(obj.items, 'items');
  if (!items) return undefined;
  const itemKind = obj.kind === 'List' ? undefined : obj.kind.slice(0, -'List'.length);
  if (!itemKind) return items;
  return items.map((item) => {
    if (!isObject(item) || (typeof item.kind === 'string' && item.kind !== '')) return item;
    const typed: Obj = { ...item, kind: itemKind };
    if (typed.apiVersion === undefined && obj.apiVersion !== undefined) typed.apiVersion = obj.apiVersion;
    return typed;
  });
}

export interface SnapshotOptions extends ObjectOptions {
  /** Where each object came from (same index as `objects`), e.g. "file.yaml:12"; used for `source`. */
  sources?: Array<string | undefined>;
}

export interface SnapshotFromObjectsResult {
  snapshot: ClusterSnapshot;
  /** Kinds not understood, with counts. */
  skipped: Record<string, number>;
}

/** Raised by `snapshotFromObjectsDetailed` with the index of the object that failed. */
export class ObjectConversionError extends Error {
  readonly index: number;
  readonly path: string;
  constructor(index: number, path: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ObjectConversionError';
    this.index = index;
    this.path = path;
  }
}

/**
 * Converts a list of objects (items of `kind: List` and typed lists such as `PodList` flattened, see `itemsOfList`), skipping unknown kinds, and adds namespaces
 * that are referenced but not declared (labelled only with kubernetes.io/metadata.name, as the API server
 * would). Output order is deterministic: sorted by namespace then name.
 */
export function snapshotFromObjectsDetailed(objects: unknown[], options: SnapshotOptions = {}): SnapshotFromObjectsResult {
  const namespaces = new Map<string, NamespaceInfo>();
  const pods: PodInfo[] = [];
  const services: ServiceInfo[] = [];
  const policies: NetworkPolicy[] = [];
  const nodes: NodeInfo[] = [];
  const adminPolicies: AdminPolicy[] = [];
  const otherPolicies: OtherPolicy[] = [];
  const skipped: Record<string, number> = {};
  const referenced = new Set<string>();

  const visit = (obj: unknown, index: number, source: string | undefined): void => {
    if (!isObject(obj)) {
      skipped['(not an object)'] = (skipped['(not an object)'] ?? 0) + 1;
      return;
    }
    const kind = typeof obj.kind === 'string' ? obj.kind : '(no kind)';
    try {
      if (kind.endsWith('List')) {
        for (const item of itemsOfList(obj) ?? []) visit(item, index, source);
        return;
      }
      if (kind === 'Namespace') {
        const ns = namespaceFromObject(obj);
        namespaces.set(ns.name, ns);
      } else if (kind === 'Pod') {
        const pod = podFromObject(obj, source, options);
        referenced.add(pod.namespace);
        pods.push(pod);
      } else if (isWorkloadKind(kind)) {
        const pod = podFromWorkload(obj, source, options);
        referenced.add(pod.namespace);
        pods.push(pod);
      } else if (kind === 'Service') {
        const svc = serviceFromObject(obj, source, options);
        referenced.add(svc.namespace);
        services.push(svc);
      } else if (isCalicoPolicy(obj)) {
        const other = otherPolicyFromObject(obj, source, options);
        if (other.namespace !== undefined) referenced.add(other.namespace);
        otherPolicies.push(other);
      } else if (kind === 'NetworkPolicy') {
        const policy = networkPolicyFromObject(obj, source, options);
        referenced.add(policy.namespace);
        policies.push(policy);
      } else if (isAdminPolicyKind(kind)) {
        adminPolicies.push(kind === 'ClusterNetworkPolicy' ? clusterNetworkPolicyFromObject(obj, source) : adminPolicyFromObject(obj, source));
      } else if (kind === 'Node') {
        nodes.push(nodeFromObject(obj));
      } else {
        skipped[kind] = (skipped[kind] ?? 0) + 1;
      }
    } catch (error) {
      if (error instanceof ObjectShapeError) {
        throw new ObjectConversionError(index, error.path, `${kind}: ${error.message}`, error);
      }
      throw error;
    }
  };
  objects.forEach((obj, i) => visit(obj, i, options.sources?.[i]));

  for (const name of referenced) {
    if (!namespaces.has(name)) namespaces.set(name, { name, labels: { [NAMESPACE_NAME_LABEL]: name } });
  }
  return {
    snapshot: {
      namespaces: [...namespaces.values()].sort((a, b) => compareStrings(a.name, b.name)),
      pods: pods.sort(compareByNamespaceName),
      services: services.sort(compareByNamespaceName),
      policies: policies.sort(compareByNamespaceName),
      nodes: nodes.sort((a, b) => compareStrings(a.name, b.name)),
      ...(adminPolicies.length > 0 ? { adminPolicies: adminPolicies.sort(compareAdminPolicies) } : {}),
      ...(otherPolicies.length > 0 ? { otherPolicies: otherPolicies.sort(compareOtherPolicies) } : {}),
    },
    skipped,
  };
}

export function snapshotFromObjects(objects: unknown[], options: SnapshotOptions = {}): ClusterSnapshot {
  return snapshotFromObjectsDetailed(objects, options).snapshot;
}

/** Locale-independent ordering, so outputs are identical on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Namespace, then name: the order of every namespaced list in a snapshot. */
export function compareByNamespaceName(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

/**
 * Evaluation order: the Admin tier (AdminNetworkPolicies and Admin-tier ClusterNetworkPolicies) before the
 * Baseline tier (Baseline-tier ClusterNetworkPolicies, then the BaselineAdminNetworkPolicy); within a tier by
 * priority, lower first. The API leaves equal priorities undefined, and says nothing of v1alpha1 and v1alpha2
 * objects side by side (an upgrade): netcheck puts a ClusterNetworkPolicy before an AdminNetworkPolicy of equal
 * priority (the newer API), the BaselineAdminNetworkPolicy (which has no priority) last, then orders by name so
 * results are stable. Explanations say so where both versions exist (admin.ts).
 */
export function compareAdminPolicies(a: AdminPolicy, b: AdminPolicy): number {
  const tier = (p: AdminPolicy): number => (p.kind === 'AdminNetworkPolicy' || (p.kind === 'ClusterNetworkPolicy' && p.tier !== 'Baseline') ? 0 : 1);
  const priority = (p: AdminPolicy): number => (p.kind === 'BaselineAdminNetworkPolicy' ? Number.MAX_SAFE_INTEGER : (p.priority ?? 0));
  const version = (p: AdminPolicy): number => (p.kind === 'ClusterNetworkPolicy' ? 0 : 1);
  return tier(a) - tier(b) || priority(a) - priority(b) || version(a) - version(b) || compareStrings(a.name, b.name);
}

/** Felix's order (calc/policy_sorter.go PolKVLess): lower `order` first, unset last; equal orders by stored name. */
export function compareOtherPolicies(a: OtherPolicy, b: OtherPolicy): number {
  const order = (p: OtherPolicy): number => p.order ?? Number.POSITIVE_INFINITY;
  const key = (p: OtherPolicy): string => p.sortName ?? (p.namespace !== undefined ? `${p.namespace}/${p.name}` : p.name);
  return order(a) - order(b) || compareStrings(key(a), key(b));
}
