/**
 * Calico's default tier, evaluated as felix (pinned Calico, v3.28 branch) programs it for a pod (a workload
 * endpoint), pure. Sources, in the Calico tree:
 * - Order: felix/calc/policy_sorter.go PolKVLess — lower `order` first, no order last, equal orders by the stored
 *   name ("default.<name>" for a GlobalNetworkPolicy, "<namespace>/default.<name>" for a NetworkPolicy).
 * - Kubernetes NetworkPolicies are policies of the same tier at order 1000 named "<namespace>/knp.default.<name>"
 *   (libcalico-go/lib/backend/k8s/conversion/conversion.go K8sNetworkPolicyToCalico), with Allow rules only.
 * - A policy applies to a pod for a direction when its selector selects the pod and its types include the
 *   direction (felix/calc/policy_sorter.go governsType). For the pod's labels felix merges the pod's own labels,
 *   projectcalico.org/{namespace,orchestrator,serviceaccount} (conversion/workload_endpoint_default.go) and the
 *   labels its profiles apply: pcns.<namespace label> plus pcns.projectcalico.org/name, pcsa.<ServiceAccount
 *   label> plus pcsa.projectcalico.org/name (conversion.go NamespaceToProfile, ServiceAccountToProfile).
 *   A NetworkPolicy's selector is ANDed with projectcalico.org/namespace == its namespace; a GlobalNetworkPolicy's
 *   namespaceSelector and any serviceAccountSelector are the same selector with the pcns. / pcsa. prefix
 *   (syncersv1/updateprocessors/*networkpolicyprocessor.go, selectors.go).
 * - Rules in order; the first whose every match holds decides: Allow accepts, Deny drops, Pass skips the rest of
 *   the tier, Log logs and goes on (felix/rules/policy.go). A rule's source/destination selector in a
 *   NetworkPolicy is limited to its namespace unless it has a namespaceSelector; a namespaceSelector's all() means
 *   any namespaced endpoint and global() only non-namespaced ones (updateprocessors/rules.go getEndpointSelector).
 * - End of tier: if some policy applied and none accepted or passed, the packet is dropped; with no policy applied
 *   (or after a Pass) the namespace profile kns.<namespace>, which allows everything, decides
 *   (felix/rules/endpoints.go endpointIptablesChain: "Drop if no policies passed packet", then the profiles).
 * - doNotTrack and preDNAT policies go to the untracked / pre-DNAT tiers, which felix renders for host endpoints
 *   only (felix/calc/event_sequencer.go tierInfoToProtoTierInfo): they never decide a pod's traffic.
 * Not modelled (the verdict says `unknown` and names it): ServiceAccount labels other than the name (netcheck does not
 * read ServiceAccounts), `services` matches, HTTP matches, source ports (ephemeral), a net or ipVersion where the
 * pod's address is unknown, host endpoints and network sets.
 */
import { cidrContains, parseAddress, parseCidr, type ParsedAddress } from './cidr.js';
import {
  evaluateSelector,
  formatSelector,
  labelSource,
  mapSelector,
  parseCalicoSelector,
  selectorKeys,
  type LabelSource,
  type SelectorNode,
  type Tri,
} from './calico-selector.js';
import { compareOtherPolicies, compareStrings } from './from-objects.js';
import type { CalicoEntityRule, CalicoRuleRef, CalicoPort, CalicoRule, ContainerPort, Direction, Endpoint, Labels, OtherPolicy, PodInfo, Protocol } from './types.js';

export const CALICO_NAMESPACE_LABEL = 'projectcalico.org/namespace';
const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
const NAME_LABEL = 'projectcalico.org/name';
const NS_PREFIX = 'pcns.';
const SA_PREFIX = 'pcsa.';
/** The order Calico gives every Kubernetes NetworkPolicy (conversion.go K8sNetworkPolicyToCalico). */
export const KUBERNETES_POLICY_ORDER = 1000;

const PROTOCOL_NUMBERS: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** A Kubernetes NetworkPolicy as the default tier sees it: it applies to the subject; its rules admit or not. */
export interface KubernetesTierEntry {
  namespace: string;
  name: string;
  admits: boolean;
}

export type TierOutcome =
  /** A Calico rule said Allow or Deny. */
  | { kind: 'calico'; allowed: boolean; by: CalicoRuleRef; applied: string[] }
  /** A Kubernetes NetworkPolicy (order 1000) admitted it before any Calico rule decided. */
  | { kind: 'kubernetes'; applied: string[] }
  /** Some policy applied and none accepted or passed: felix drops at the end of the tier. */
  | { kind: 'end-of-tier'; applied: string[]; calicoApplied: string[] }
  /** A Calico rule said Pass: the rest of the tier is skipped, the namespace profile allows. */
  | { kind: 'pass'; by: CalicoRuleRef; applied: string[] }
  /** No policy of the tier applies: the namespace profile allows. */
  | { kind: 'no-policy' }
  /** netcheck cannot decide: `reason` says which policy or rule and what is not modelled. */
  | { kind: 'unknown'; policy: OtherPolicy; reason: string; applied: string[] };

export interface CalicoContext {
  namespaceLabels(namespace: string): Labels;
}

export interface CalicoEvaluator {
  /** Whether any Calico policy that can decide a pod's traffic exists (if not, the Kubernetes-only path stays). */
  readonly active: boolean;
  /** The Calico policies that may apply to the pod for the direction (selection true or unknown), in tier order. */
  applying(pod: PodInfo, direction: Direction): OtherPolicy[];
  /** The default tier's outcome for one direction of a flow; `kubernetes` lists the NetworkPolicies isolating the subject. */
  decide(direction: Direction, subject: PodInfo, peer: Endpoint, kubernetes: readonly KubernetesTierEntry[], flow: FlowFacts): TierOutcome;
}

export interface FlowFacts {
  port: number | undefined;
  protocol: Protocol;
  destPorts: readonly ContainerPort[] | undefined;
}

/** "Calico GlobalNetworkPolicy baseline (order 100)". */
export function describeCalicoPolicy(policy: OtherPolicy): string {
  const name = policy.namespace !== undefined ? `${policy.namespace}/${policy.name}` : policy.name;
  return `Calico ${policy.kind} ${name}${policy.order !== undefined ? ` (order ${policy.order})` : ''}`;
}

const policyName = (p: OtherPolicy): string => (p.namespace !== undefined ? `${p.namespace}/${p.name}` : p.name);

interface CompiledEntity {
  entity: CalicoEntityRule;
  /** The combined positive selector (namespace, service accounts, selector), as getEndpointSelector builds it. */
  selector: SelectorNode | undefined;
  notSelector: SelectorNode | undefined;
}

interface CompiledCalicoRule {
  rule: CalicoRule;
  index: number;
  source: CompiledEntity;
  destination: CompiledEntity;
}

interface CompiledCalicoPolicy {
  policy: OtherPolicy;
  selector: SelectorNode;
  ingress: CompiledCalicoRule[];
  egress: CompiledCalicoRule[];
}

const parse = (text: string): SelectorNode => parseCalicoSelector(text).root;
const and = (...nodes: Array<SelectorNode | undefined>): SelectorNode | undefined => {
  const present = nodes.filter((n): n is SelectorNode => n !== undefined);
  return present.length === 0 ? undefined : present.length === 1 ? present[0] : { op: 'and', operands: present };
};
const prefixed = (text: string, prefix: string): SelectorNode => mapSelector(parse(text), (k) => prefix + k);
const namespaceIs = (ns: string): SelectorNode => ({ op: '==', key: CALICO_NAMESPACE_LABEL, value: ns });

/** The policy's selector as felix receives it (updateprocessors). */
function policySelector(p: OtherPolicy): SelectorNode {
  const own = p.selector === '' ? undefined : parse(p.selector);
  if (p.kind === 'NetworkPolicy') {
    return and(own, namespaceIs(p.namespace ?? 'default'), p.serviceAccountSelector !== undefined ? prefixed(p.serviceAccountSelector, SA_PREFIX) : undefined) as SelectorNode;
  }
  // GlobalNetworkPolicy: all() anywhere in the combined text becomes has(namespace) / has(serviceaccount); for a pod both hold.
  return and(own, p.namespaceSelector !== undefined ? prefixed(p.namespaceSelector, NS_PREFIX) : undefined, p.serviceAccountSelector !== undefined ? prefixed(p.serviceAccountSelector, SA_PREFIX) : undefined) ?? { op: 'all' };
}

/** updateprocessors/rules.go getEndpointSelector. */
function compileEntity(entity: CalicoEntityRule, namespace: string | undefined): CompiledEntity {
  let nsSelector: SelectorNode | undefined;
  if (entity.namespaceSelector !== undefined) {
    nsSelector = mapSelector(parse(entity.namespaceSelector), (k) => NS_PREFIX + k, (leaf) =>
      leaf.op === 'all' ? { op: 'has', key: CALICO_NAMESPACE_LABEL } : { op: 'not', operand: { op: 'has', key: CALICO_NAMESPACE_LABEL } },
    );
  } else if (namespace !== undefined) {
    nsSelector = namespaceIs(namespace);
  }
  const sa = entity.serviceAccounts;
  const saSelector = sa
    ? and(sa.selector !== undefined ? prefixed(sa.selector, SA_PREFIX) : undefined, sa.names ? { op: 'in', key: SERVICE_ACCOUNT_LABEL, values: [...new Set(sa.names)].sort() } : undefined)
    : undefined;
  const selector = and(saSelector, entity.selector !== undefined ? parse(entity.selector) : undefined);
  const restricts = selector !== undefined || entity.notSelector !== undefined || entity.namespaceSelector !== undefined;
  return {
    entity,
    selector: restricts ? and(nsSelector, selector) : undefined,
    notSelector: entity.notSelector !== undefined ? parse(entity.notSelector) : undefined,
  };
}

/** The labels felix matches a pod by: its own, Calico's, and what its namespace and ServiceAccount profiles apply. */
export function calicoEndpointLabels(pod: PodInfo, namespaceLabels: Labels): LabelSource {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(namespaceLabels)) labels[NS_PREFIX + k] = v;
  labels[`${NS_PREFIX}${NAME_LABEL}`] = pod.namespace;
  const sa = pod.serviceAccount ?? 'default';
  labels[`${SA_PREFIX}${NAME_LABEL}`] = sa;
  Object.assign(labels, pod.labels);
  labels[CALICO_NAMESPACE_LABEL] = pod.namespace;
  labels[ORCHESTRATOR_LABEL] = 'k8s';
  labels[SERVICE_ACCOUNT_LABEL] = sa;
  // A ServiceAccount's own labels are not read by netcheck: a selector on them cannot be decided.
  return labelSource(labels, (key) => key.startsWith(SA_PREFIX));
}

function portMatches(ports: readonly CalicoPort[], port: number, protocol: Protocol, endpointPorts: readonly ContainerPort[] | undefined): boolean {
  return ports.some((p) =>
    'name' in p ? (endpointPorts ?? []).some((cp) => cp.name === p.name && cp.protocol === protocol && cp.containerPort === port) : port >= p.first && port <= p.last,
  );
}

const describePorts = (ports: readonly CalicoPort[]): string => ports.map((p) => ('name' in p ? p.name : p.first === p.last ? `${p.first}` : `${p.first}:${p.last}`)).join(', ');

type Match = true | false | { unknown: string };
const matchAnd = (a: Match, b: () => Match): Match => (a === false ? false : ((r) => (r === false ? false : a === true ? r : a))(b()));

export function createCalicoEvaluator(policies: readonly OtherPolicy[], ctx: CalicoContext): CalicoEvaluator {
  const compiled: CompiledCalicoPolicy[] = [...policies]
    .filter((p) => p.hostEndpointOnly === undefined)
    .sort(compareOtherPolicies)
    .map((policy) => {
      const ns = policy.kind === 'NetworkPolicy' ? (policy.namespace ?? 'default') : undefined;
      const rules = (list: CalicoRule[] | undefined): CompiledCalicoRule[] =>
        (list ?? []).map((rule, index) => ({ rule, index, source: compileEntity(rule.source, ns), destination: compileEntity(rule.destination, ns) }));
      return { policy, selector: policySelector(policy), ingress: rules(policy.ingress), egress: rules(policy.egress) };
    });
  const labelsCache = new Map<PodInfo, LabelSource>();
  const labelsOf = (pod: PodInfo): LabelSource => {
    let l = labelsCache.get(pod);
    if (!l) labelsCache.set(pod, (l = calicoEndpointLabels(pod, ctx.namespaceLabels(pod.namespace))));
    return l;
  };
  const unknownKeys = (node: SelectorNode, pod: PodInfo): string => {
    const keys = selectorKeys(node).filter((k) => k.startsWith(SA_PREFIX));
    return keys.length > 0 ? `the ServiceAccount label(s) ${keys.map((k) => k.slice(SA_PREFIX.length)).join(', ')} of ${pod.namespace}/${pod.serviceAccount ?? 'default'} (netcheck does not read ServiceAccounts)` : 'labels netcheck cannot know';
  };
  const selects = (c: CompiledCalicoPolicy, pod: PodInfo, direction: Direction): Tri => {
    if (!(c.policy.types ?? ['ingress', 'egress']).includes(direction)) return false;
    if (c.policy.kind === 'NetworkPolicy' && c.policy.namespace !== pod.namespace) return false;
    return evaluateSelector(c.selector, labelsOf(pod));
  };

  const addressOf = (e: Endpoint): ParsedAddress | undefined => (e.kind === 'pod' ? (e.pod.ip ? parseAddress(e.pod.ip) : undefined) : parseAddress(e.ip));
  const endpointText = (e: Endpoint): string => (e.kind === 'pod' ? `${e.pod.namespace}/${e.pod.name}` : e.ip);

  const netsMatch = (nets: readonly string[], e: Endpoint, field: string): Match => {
    const address = addressOf(e);
    const parsed = nets.map(parseCidr);
    if (address) return parsed.some((c) => c !== undefined && cidrContains(c, address));
    // A pod without a known address (manifests): only a /0 decides, as it holds every address of its family.
    if (parsed.some((c) => c?.prefix === 0)) return true;
    return { unknown: `${field} [${nets.join(', ')}] depends on the address of ${endpointText(e)}, which the input does not give` };
  };

  const entityMatches = (ce: CompiledEntity, e: Endpoint, side: 'source' | 'destination', flow: FlowFacts): Match => {
    const { entity } = ce;
    let m: Match = true;
    if (entity.services) return { unknown: `${side}.services (${entity.services.namespace ?? ''}/${entity.services.name}) is a Kubernetes Service match, which netcheck does not model` };
    if (ce.selector) {
      if (e.kind !== 'pod') return false; // selectors match endpoints (network sets are not modelled): never a bare address
      const v = evaluateSelector(ce.selector, labelsOf(e.pod));
      if (v === false) return false;
      if (v === 'unknown') m = { unknown: `${side} selector ${formatSelector(ce.selector)} reads ${unknownKeys(ce.selector, e.pod)}` };
    }
    if (ce.notSelector && e.kind === 'pod') {
      const v = evaluateSelector(ce.notSelector, labelsOf(e.pod));
      if (v === true) return false;
      if (v === 'unknown') m = matchAnd(m, () => ({ unknown: `${side} notSelector reads ${unknownKeys(ce.notSelector as SelectorNode, e.pod)}` }));
    }
    if (entity.nets) m = matchAnd(m, () => netsMatch(entity.nets as string[], e, `${side}.nets`));
    if (entity.notNets) {
      m = matchAnd(m, () => {
        const r = netsMatch(entity.notNets as string[], e, `${side}.notNets`);
        return r === true ? false : r === false ? true : r;
      });
    }
    const ports = entity.ports;
    const notPorts = entity.notPorts;
    if (ports || notPorts) {
      if (side === 'source') return matchAnd(m, () => ({ unknown: `source.${ports ? 'ports' : 'notPorts'} [${describePorts(ports ?? notPorts ?? [])}] match the client's source port, which is ephemeral and not known` }));
      if (flow.port === undefined) return false;
      const endpointPorts = e.kind === 'pod' ? e.pod.ports : undefined;
      if (ports && !portMatches(ports, flow.port, flow.protocol, endpointPorts)) return false;
      if (notPorts && portMatches(notPorts, flow.port, flow.protocol, endpointPorts)) return false;
    }
    return m;
  };

  const ruleMatches = (r: CompiledCalicoRule, src: Endpoint, dst: Endpoint, flow: FlowFacts): Match => {
    const { rule } = r;
    const proto = PROTOCOL_NUMBERS[flow.protocol];
    if (rule.protocol !== undefined && rule.protocol !== proto) return false;
    if (rule.notProtocol !== undefined && rule.notProtocol === proto) return false;
    let m: Match = true;
    if (rule.ipVersion !== undefined) {
      const family = addressOf(src)?.family ?? addressOf(dst)?.family;
      if (family === undefined) m = { unknown: `ipVersion ${rule.ipVersion} depends on the flow's address family, which the input does not give` };
      else if (family !== rule.ipVersion) return false;
    }
    m = matchAnd(m, () => entityMatches(r.source, src, 'source', flow));
    m = matchAnd(m, () => entityMatches(r.destination, dst, 'destination', flow));
    if (rule.http !== undefined) m = matchAnd(m, () => ({ unknown: 'an HTTP match needs Calico application layer policy, which netcheck does not model' }));
    return m;
  };

  const ruleRef = (c: CompiledCalicoPolicy, direction: Direction, r: CompiledCalicoRule): CalicoRuleRef => {
    const ref: CalicoRuleRef = {
      kind: c.policy.kind,
      policy: policyName(c.policy),
      direction,
      ruleIndex: r.index,
      action: r.rule.action,
      text: `${describeCalicoPolicy(c.policy)} ${direction}[${r.index}]: ${r.rule.action}`,
    };
    if (c.policy.order !== undefined) ref.order = c.policy.order;
    return ref;
  };

  return {
    active: compiled.length > 0,
    applying: (pod, direction) => compiled.filter((c) => selects(c, pod, direction) !== false).map((c) => c.policy),
    decide(direction, subject, peer, kubernetes, flow) {
      // Kubernetes NetworkPolicies join the tier at order 1000 under their stored names.
      type Entry = { order: number; name: string; calico?: CompiledCalicoPolicy; k8s?: KubernetesTierEntry };
      const entries: Entry[] = [
        ...compiled.map((c) => ({ order: c.policy.order ?? Number.POSITIVE_INFINITY, name: c.policy.sortName ?? policyName(c.policy), calico: c })),
        ...kubernetes.map((k) => ({ order: KUBERNETES_POLICY_ORDER, name: `${k.namespace}/knp.default.${k.name}`, k8s: k })),
      ].sort((a, b) => a.order - b.order || compareStrings(a.name, b.name));
      const subjectEnd: Endpoint = { kind: 'pod', pod: subject };
      const [src, dst] = direction === 'ingress' ? [peer, subjectEnd] : [subjectEnd, peer];
      const applied: string[] = [];
      const calicoApplied: string[] = [];
      for (const entry of entries) {
        if (entry.k8s) {
          applied.push(`${entry.k8s.namespace}/${entry.k8s.name}`);
          if (entry.k8s.admits) return { kind: 'kubernetes', applied };
          continue;
        }
        const c = entry.calico as CompiledCalicoPolicy;
        const sel = selects(c, subject, direction);
        if (sel === false) continue;
        if (sel === 'unknown') {
          return { kind: 'unknown', policy: c.policy, applied, reason: `whether ${describeCalicoPolicy(c.policy)} selects ${subject.namespace}/${subject.name} depends on ${unknownKeys(c.selector, subject)}` };
        }
        applied.push(describeCalicoPolicy(c.policy));
        calicoApplied.push(describeCalicoPolicy(c.policy));
        for (const r of direction === 'ingress' ? c.ingress : c.egress) {
          const m = ruleMatches(r, src, dst, flow);
          if (m === false || r.rule.action === 'Log') continue;
          const ref = ruleRef(c, direction, r);
          if (m !== true) return { kind: 'unknown', policy: c.policy, applied, reason: `${ref.text} may match: ${m.unknown}` };
          if (r.rule.action === 'Pass') return { kind: 'pass', by: ref, applied };
          return { kind: 'calico', allowed: r.rule.action === 'Allow', by: ref, applied };
        }
      }
      if (applied.length === 0) return { kind: 'no-policy' };
      return { kind: 'end-of-tier', applied, calicoApplied };
    },
  };
}


/**
 * Whether some ingress rule of a Calico policy could accept a source that is a bare address (not a pod): an Allow or
 * Pass whose source names no selector, namespaceSelector or service accounts (selectors match endpoints only).
 */
export function calicoIngressCouldAdmitAddresses(policy: OtherPolicy): boolean {
  return (policy.ingress ?? []).some(
    (r) => (r.action === 'Allow' || r.action === 'Pass') && r.source.selector === undefined && r.source.namespaceSelector === undefined && r.source.serviceAccounts === undefined,
  );
}
