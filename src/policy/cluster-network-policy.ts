/**
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2), read into the admin-policy shape admin.ts evaluates.
 * Pinned to sigs.k8s.io/network-policy-api v0.3.0, apis/v1alpha2/clusternetworkpolicy_types.go and the CRD it
 * generates (config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml); v0.3.0 also serves the
 * same schema as v1beta1 ("The v1beta1 and v1alpha2 schemas are identical", CHANGELOG.md v0.3.0), so both read here.
 * What the API says and netcheck checks, as the API server's validation would:
 * - spec.tier Admin or Baseline; spec.priority 0-1000 (lower first within the tier);
 * - spec.subject exactly one of namespaces, pods (namespaceSelector AND podSelector);
 * - at most 25 ingress and 25 egress rules ("A maximum of 25 rules is allowed in this block"); each rule has an
 *   action Accept / Deny / Pass, an optional name (<= 100 characters), 1-25 peers, and optional 1-25 protocols;
 * - ingress peers: namespaces, pods; egress peers also nodes, networks (1-25 canonical CIDRs: "cidr(self) ==
 *   cidr(self).masked()") and domainNames (1-25; "DomainNames is only supported for Accept rules");
 * - protocols: exactly one of tcp / udp / sctp (destinationPort: number, or range with start < end) or
 *   destinationNamedPort, which a rule toward networks / nodes / domainNames may not use (the CRD's CEL rule).
 */
import {
  arrayAt,
  exactlyOne,
  integerAt,
  metadataOf,
  ObjectShapeError,
  objectAt,
  portNumber,
  requiredString,
  selectorFromObject,
  stringAt,
  type Obj,
} from './from-objects.js';
import { parseAddress, parseCidr } from './cidr.js';
import type { AdminAction, AdminPolicy, AdminPolicyPeer, AdminPolicyPort, AdminPolicyRule, AdminPolicySubject, ClusterPolicyTier, LabelSelector, NamespacedPodSelector, Protocol } from './types.js';

export const CLUSTER_NETWORK_POLICY_VERSIONS = ['policy.networking.k8s.io/v1alpha2', 'policy.networking.k8s.io/v1beta1'] as const;
const PINNED = 'network-policy-api v0.3.0 ClusterNetworkPolicy';
/** MaxItems of spec.ingress / spec.egress, of a rule's peers and protocols, of networks and domainNames. */
export const CNP_MAX_ITEMS = 25;
const ACTIONS: readonly AdminAction[] = ['Accept', 'Deny', 'Pass'];
const TIERS: readonly ClusterPolicyTier[] = ['Admin', 'Baseline'];
// The DomainName pattern of apis/v1alpha2 (v0.3.0).
const DOMAIN_NAME = /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$/;

function selector(value: unknown, path: string): LabelSelector {
  const o = objectAt(value, path) ?? {};
  for (const key of Object.keys(o)) {
    if (key !== 'matchLabels' && key !== 'matchExpressions') throw new ObjectShapeError(`${path}.${key}`, `is not a field of a label selector (${PINNED})`);
  }
  return selectorFromObject(o, path) ?? {};
}

function namespacedPod(value: unknown, path: string): NamespacedPodSelector {
  const o = objectAt(value, path) ?? {};
  if (o.podSelector === undefined) throw new ObjectShapeError(`${path}.podSelector`, 'is required');
  return { namespaceSelector: selector(o.namespaceSelector, `${path}.namespaceSelector`), podSelector: selector(o.podSelector, `${path}.podSelector`) };
}

function boundedList(value: unknown, path: string, required: boolean): unknown[] | undefined {
  const list = arrayAt(value, path);
  if (list === undefined) {
    if (required) throw new ObjectShapeError(path, 'is required and needs at least one item');
    return undefined;
  }
  if (list.length === 0) throw new ObjectShapeError(path, 'needs at least one item');
  if (list.length > CNP_MAX_ITEMS) throw new ObjectShapeError(path, `has ${list.length} items; at most ${CNP_MAX_ITEMS} are allowed`);
  return list;
}

function peerFromObject(value: unknown, path: string, egress: boolean, action: AdminAction): AdminPolicyPeer {
  const o = objectAt(value, path) ?? {};
  const field = exactlyOne(o, egress ? ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'] : ['namespaces', 'pods'], path);
  switch (field) {
    case 'namespaces':
      return { namespaces: selector(o.namespaces, `${path}.namespaces`) };
    case 'pods':
      return { pods: namespacedPod(o.pods, `${path}.pods`) };
    case 'nodes':
      return { nodes: selector(o.nodes, `${path}.nodes`) };
    case 'networks': {
      const networks = (boundedList(o.networks, `${path}.networks`, true) ?? []).map((c, i) => {
        const where = `${path}.networks[${i}]`;
        const text = requiredString(c, where);
        const cidr = parseCidr(text);
        if (cidr === undefined || !text.includes('/')) throw new ObjectShapeError(where, `${JSON.stringify(text)} is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)`);
        if (parseAddress(text.split('/')[0] ?? '')?.value !== cidr.network) {
          throw new ObjectShapeError(where, `${text} has host bits set; the API takes the masked form only (v0.2.1+: "Invalid CIDR format provided")`);
        }
        return text;
      });
      return { networks };
    }
    default: {
      if (action !== 'Accept') throw new ObjectShapeError(`${path}.domainNames`, `is only supported for Accept rules, and this rule says ${action}`);
      const domainNames = (boundedList(o.domainNames, `${path}.domainNames`, true) ?? []).map((d, i) => {
        const name = requiredString(d, `${path}.domainNames[${i}]`);
        if (!DOMAIN_NAME.test(name)) throw new ObjectShapeError(`${path}.domainNames[${i}]`, `${JSON.stringify(name)} is not a domain name ('*.' may only prefix it)`);
        return name;
      });
      return { domainNames };
    }
  }
}

function protocolFromObject(value: unknown, path: string): AdminPolicyPort {
  const o = objectAt(value, path) ?? {};
  const field = exactlyOne(o, ['tcp', 'udp', 'sctp', 'destinationNamedPort'], path);
  if (field === 'destinationNamedPort') return { namedPort: requiredString(o.destinationNamedPort, `${path}.destinationNamedPort`) };
  const protocol = field.toUpperCase() as Protocol;
  const p = `${path}.${field}`;
  const po = objectAt(o[field], p) ?? {};
  if (po.destinationPort === undefined) throw new ObjectShapeError(`${p}.destinationPort`, 'is required (the API gives no other match for a protocol)');
  const dp = objectAt(po.destinationPort, `${p}.destinationPort`) ?? {};
  const which = exactlyOne(dp, ['number', 'range'], `${p}.destinationPort`);
  if (which === 'number') return { portNumber: { protocol, port: portNumber(dp.number, `${p}.destinationPort.number`) } };
  const rp = `${p}.destinationPort.range`;
  const range = objectAt(dp.range, rp) ?? {};
  const start = portNumber(range.start, `${rp}.start`);
  const end = portNumber(range.end, `${rp}.end`);
  if (!(start < end)) throw new ObjectShapeError(rp, `start ${start} must be less than end ${end}`);
  return { portRange: { protocol, start, end } };
}

function rulesFromObject(value: unknown, path: string, egress: boolean): AdminPolicyRule[] {
  return (boundedList(value, path, false) ?? []).map((r, i) => {
    const rp = `${path}[${i}]`;
    const ro: Obj = objectAt(r, rp) ?? {};
    const action = ro.action;
    if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
      throw new ObjectShapeError(`${rp}.action`, `must be ${ACTIONS.join(', ')} for a ClusterNetworkPolicy, got ${JSON.stringify(action)}`);
    }
    const peerField = egress ? 'to' : 'from';
    const peers = (boundedList(ro[peerField], `${rp}.${peerField}`, true) ?? []).map((p, j) => peerFromObject(p, `${rp}.${peerField}[${j}]`, egress, action as AdminAction));
    const rule: AdminPolicyRule = { action: action as AdminAction, peers };
    const name = stringAt(ro.name, `${rp}.name`);
    if (name !== undefined && name.length > 100) throw new ObjectShapeError(`${rp}.name`, `is ${name.length} characters; at most 100 are allowed`);
    if (name) rule.name = name;
    const protocols = boundedList(ro.protocols, `${rp}.protocols`, false);
    if (protocols) {
      rule.ports = protocols.map((p, j) => protocolFromObject(p, `${rp}.protocols[${j}]`));
      const addressPeer = peers.find((p) => p.networks || p.nodes || p.domainNames);
      if (addressPeer && rule.ports.some((p) => 'namedPort' in p)) {
        throw new ObjectShapeError(`${rp}.protocols`, 'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames');
      }
    }
    return rule;
  });
}

/** A ClusterNetworkPolicy object (v1alpha2, or v1beta1 with the same schema) as an admin policy of its tier. */
export function clusterNetworkPolicyFromObject(obj: unknown, source?: string): AdminPolicy {
  const o = objectAt(obj, '') ?? {};
  const apiVersion = o.apiVersion;
  if (typeof apiVersion !== 'string' || !(CLUSTER_NETWORK_POLICY_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new ObjectShapeError('apiVersion', `${JSON.stringify(apiVersion)} is not a ClusterNetworkPolicy version netcheck reads (${CLUSTER_NETWORK_POLICY_VERSIONS.join(', ')})`);
  }
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const tier = spec.tier;
  if (typeof tier !== 'string' || !(TIERS as readonly string[]).includes(tier)) {
    throw new ObjectShapeError('spec.tier', `must be Admin or Baseline, got ${JSON.stringify(tier)}`);
  }
  const priority = integerAt(spec.priority, 'spec.priority');
  if (priority === undefined) throw new ObjectShapeError('spec.priority', 'is required (0-1000)');
  if (priority < 0 || priority > 1000) throw new ObjectShapeError('spec.priority', `priority ${priority} is outside 0-1000`);
  const subjectObj = objectAt(spec.subject, 'spec.subject') ?? {};
  const subjectField = exactlyOne(subjectObj, ['namespaces', 'pods'], 'spec.subject');
  const subject: AdminPolicySubject =
    subjectField === 'namespaces' ? { namespaces: selector(subjectObj.namespaces, 'spec.subject.namespaces') } : { pods: namespacedPod(subjectObj.pods, 'spec.subject.pods') };
  const policy: AdminPolicy = {
    kind: 'ClusterNetworkPolicy',
    name: requiredString(meta.name, 'metadata.name'),
    tier: tier as ClusterPolicyTier,
    priority,
    subject,
    ingress: rulesFromObject(spec.ingress, 'spec.ingress', false),
    egress: rulesFromObject(spec.egress, 'spec.egress', true),
  };
  if (source !== undefined) policy.source = source;
  return policy;
}
