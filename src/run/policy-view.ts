/**
 * The policy column of a cell: what the live NetworkPolicies say about (source, target), with the
 * engine's explanation. Pure: the engine and snapshot are passed in.
 *
 * kube-proxy DNATs traffic to a ClusterIP or LoadBalancer IP to an endpoint pod and its targetPort
 * *before* the CNI applies policy, so a Service/LB cell is judged toward the endpoint pods on the targetPort. A
 * Service (cluster DNS included) whose selector matches no pod has no such pod: its cells are `unknown`, one reason.
 */
import { calicoIngressCouldAdmitAddresses, describeCalicoPolicy } from '../policy/calico-policy.js';
import type { ServiceBackends } from '../diagnose/diagnose-cell.js';
import type { Denial, PolicyView } from '../model/verdict.js';
import { explainVerdict, policyKey } from '../policy/engine.js';
import { matchesSelector } from '../policy/selectors.js';
import type {
  ClusterSnapshot,
  DirectionVerdict,
  Endpoint,
  FlowVerdict,
  Labels,
  PodInfo,
  Protocol,
  ServiceInfo,
  ServicePort,
} from '../policy/types.js';
import type { Source, Target } from '../scenario/types.js';

/** The slice of the policy engine this layer needs (src/policy's createPolicyEngine(snapshot) provides it). */
export interface FlowEvaluator {
  evaluateFlow(from: Endpoint, to: Endpoint, port: number | string, protocol: Protocol): FlowVerdict;
}

export interface PolicyAssessment {
  view: PolicyView;
  /** One line per direction (plus notes), most decisive first. */
  explanation: string[];
  /** The flows the view was computed from (one per destination pod), for diagnosis. */
  flows: FlowVerdict[];
  /** For Service / LoadBalancer targets: the service and how many pods its selector matches in the snapshot. */
  service?: ServiceBackends;
  /** Where the flows are denied (view `deny` only): the source's egress, the destination pods' ingress and their nodes. */
  denial?: Denial;
}

/** Where a pod source's probe stands, as the engine sees it: a pod with the probe's labels. */
export function probeEndpoint(namespace: string, labels: Labels, node: string | undefined, name = 'netcheck-probe', ip?: string): Endpoint {
  const pod: PodInfo = { namespace, name, labels, ports: [] };
  if (node !== undefined) pod.node = node;
  if (ip !== undefined) pod.ip = ip;
  return { kind: 'pod', pod };
}

/**
 * Documentation address (RFC 5737): the engine needs some address for a runner whose address is not known. It
 * only ever decides a cell whose verdict holds for every address (no policy isolates the destination, or none could
 * admit an address); every other such cell is `unknown`, and no explanation names it.
 */
const PLACEHOLDER_RUNNER_IP = '203.0.113.1';

/** The policy column's reason when a runner cell depends on an address nobody gave. */
export const RUNNER_ADDRESS_UNKNOWN =
  'the runner\'s address as the cluster sees it is not known: give --runner-address or `address:` on the runner source';

export interface AssessOptions {
  /**
   * Address the runner's traffic carries when it reaches pods (after any SNAT), when known: `--runner-address`,
   * else the runner source's `address:`. netcheck does not detect it (see docs/architecture.md).
   */
  runnerAddress?: string;
  /** The probe pod's own IP, once it ran: ipBlock peers match a pod by its address. */
  sourceIp?: string;
}

export function assessCellPolicy(
  engine: FlowEvaluator,
  snapshot: ClusterSnapshot,
  source: Source,
  sourceLabels: Labels,
  node: string | undefined,
  target: Target,
  options: AssessOptions = {},
): PolicyAssessment {
  const assessment = assessWith(engine, snapshot, source, sourceLabels, node, target, options);
  if (source.kind !== 'runner' || (options.runnerAddress ?? source.address) !== undefined) return assessment;
  // A verdict that holds for any address may still have been worded with the stand-in one: never show it.
  const scrub = (line: string) => line.split(PLACEHOLDER_RUNNER_IP).join("the runner (address not known)");
  return { ...assessment, explanation: assessment.explanation.map(scrub) };
}

function assessWith(
  engine: FlowEvaluator,
  snapshot: ClusterSnapshot,
  source: Source,
  sourceLabels: Labels,
  node: string | undefined,
  target: Target,
  options: AssessOptions,
): PolicyAssessment {
  const runnerAddress = source.kind === 'runner' ? (options.runnerAddress ?? source.address) : undefined;
  const from: Endpoint =
    source.kind === 'runner'
      ? { kind: 'address', ip: runnerAddress ?? PLACEHOLDER_RUNNER_IP }
      : probeEndpoint(source.namespace, sourceLabels, node ?? source.node, undefined, options.sourceIp);
  const runnerUnknown = source.kind === 'runner' && runnerAddress === undefined;

  switch (target.kind) {
    case 'dns': {
      const dns = findClusterDns(snapshot.services);
      if (!dns) return undecided(['cluster DNS service (kube-system/kube-dns) is not in the snapshot']);
      const port = dns.ports.find((p) => p.port === 53 && p.protocol === target.protocol) ?? dns.ports.find((p) => p.port === 53);
      if (!port) return undecided([`${dns.namespace}/${dns.name} has no port 53`]);
      return towardService(engine, snapshot, from, dns, port, target.protocol, runnerUnknown, []);
    }
    case 'service': {
      const service = snapshot.services.find((s) => s.namespace === target.namespace && s.name === target.service);
      if (!service) return undecided([`service ${target.namespace}/${target.service} is not in the snapshot`]);
      const port = service.ports.find((p) => (typeof target.port === 'number' ? p.port === target.port : p.name === target.port));
      if (!port) return undecided([`service ${target.namespace}/${target.service} has no port ${target.port}`]);
      return towardService(engine, snapshot, from, service, port, target.protocol, runnerUnknown, []);
    }
    case 'listener': {
      const protocol = target.protocol;
      const listener: PodInfo = {
        namespace: target.namespace,
        name: 'netcheck-listener',
        labels: target.labels,
        ports: [{ containerPort: target.port, protocol, ...(target.portName !== undefined ? { name: target.portName } : {}) }],
      };
      const placed = target.node !== undefined ? { ...listener, node: target.node } : listener;
      return withDenial(assessFlows([engine.evaluateFlow(from, { kind: 'pod', pod: listener }, target.port, protocol)], runnerUnknown, []), [placed]);
    }
    case 'address': {
      const lb = findByLoadBalancerIP(snapshot.services, target.address, target.port, target.protocol);
      if (lb) {
        const note = `${target.address} is the LoadBalancer of ${lb.service.namespace}/${lb.service.name}: judged toward its endpoint pods on the targetPort (kube-proxy DNATs before policy applies, so an egress ipBlock naming ${target.address} does not match)`;
        // externalTrafficPolicy Cluster: kube-proxy also masquerades it (its KUBE-EXT chain marks all traffic to the
        // LoadBalancer IP, a pod's too), so the endpoint's ingress rules see the source pod's node, not the pod.
        const masquerade = source.kind === 'pod' && lb.service.externalTrafficPolicy !== 'Local' ? { sourceNode: node ?? source.node } : undefined;
        return towardService(engine, snapshot, from, lb.service, lb.port, target.protocol, runnerUnknown, [note], masquerade);
      }
      const pod = snapshot.pods.find((p) => p.ip === target.address);
      if (pod) return withDenial(assessFlows([engine.evaluateFlow(from, { kind: 'pod', pod }, target.port, target.protocol)], runnerUnknown, []), [pod]);
      if (source.kind === 'runner') {
        return undecided([`${target.address} is outside the cluster and so is the runner: no NetworkPolicy applies`]);
      }
      const flow = engine.evaluateFlow(from, { kind: 'address', ip: target.address }, target.port, target.protocol);
      const lines = explainFlow(flow);
      if (!flow.egress.allowed) return { view: 'deny', explanation: lines, flows: [flow], denial: { egress: true, ingress: false, ingressNodes: [] } };
      // Policy lets the packet out; whether the far end answers is beyond what policy can decide.
      return {
        view: 'unknown',
        explanation: [...lines, `${target.address} is outside the cluster: policy allows it out, reachability beyond is not policy's to decide`],
        flows: [flow],
      };
    }
  }
}

/** Policy cannot decide this cell; the explanation says why. */
function undecided(explanation: string[]): PolicyAssessment {
  return { view: 'unknown', explanation, flows: [] };
}

function towardService(
  engine: FlowEvaluator,
  snapshot: ClusterSnapshot,
  from: Endpoint,
  service: ServiceInfo,
  port: ServicePort,
  protocol: Protocol,
  runnerUnknown: boolean,
  notes: string[],
  masquerade?: { sourceNode: string | undefined },
): PolicyAssessment {
  // An empty selector is no selector (the endpoints controller skips it), not "every pod in the namespace".
  if (!service.selector || Object.keys(service.selector).length === 0) {
    return undecided([...notes, `${service.namespace}/${service.name} has no selector: its endpoints are managed by hand`]);
  }
  const selector = service.selector;
  const pods = snapshot.pods.filter((p) => p.namespace === service.namespace && matchesSelector({ matchLabels: selector }, p.labels));
  const selected: ServiceBackends = { namespace: service.namespace, name: service.name, selectedPods: pods.length };
  if (service.readyEndpoints !== undefined) selected.readyEndpoints = service.readyEndpoints;
  if (pods.length === 0) {
    // kube-proxy has no pod to DNAT to, so no pod's policies ever see the flow: nothing for policy to decide. A pod
    // invented from the selector would be judged by rules no real pod meets (and named in findings as if it existed).
    return { ...undecided([...notes, noEndpointsReason(service)]), service: selected };
  }
  const flows = pods.map((pod) => {
    const flow = engine.evaluateFlow(from, { kind: 'pod', pod }, port.targetPort, protocol);
    return masquerade ? fromNodeAddress(engine, snapshot, flow, pod, masquerade.sourceNode, port, protocol) : flow;
  });
  const extra: string[] = [];
  if (masquerade) {
    extra.push(
      masquerade.sourceNode === undefined
        ? 'kube-proxy masquerades a pod\'s traffic to this LoadBalancer IP to its node\'s address (externalTrafficPolicy: Cluster), so ingress is judged from a node: from another node than the endpoint\'s, or from the endpoint\'s own (always admitted)'
        : `kube-proxy masquerades a pod's traffic to this LoadBalancer IP to the address of its node ${masquerade.sourceNode} (externalTrafficPolicy: Cluster), so the endpoint's ingress is judged from that node, not the pod`,
    );
  }
  const denialHoldsForAnyAddress = runnerUnknown && flows.every((f) => !ingressCouldAdmitAddresses(snapshot, f.ingress.isolatedBy));
  if (denialHoldsForAnyAddress && flows.every((f) => !f.allowed)) {
    extra.push('no isolating policy has an ipBlock or an open `from`, so no address outside the cluster is admitted, whatever the SNAT');
  }
  return { ...withDenial(assessFlows(flows, runnerUnknown, [...notes, ...extra], denialHoldsForAnyAddress), pods), service: selected };
}

/** The assessment with where its flows are denied (flows[i] goes to destinations[i]), when its view is `deny`. */
function withDenial(assessment: PolicyAssessment, destinations: readonly PodInfo[]): PolicyAssessment {
  if (assessment.view !== 'deny' || assessment.flows.length === 0) return assessment;
  const ingressDenied = assessment.flows.flatMap((f, i) => (f.ingress.allowed ? [] : [destinations[i]]));
  const nodes = [...new Set(ingressDenied.flatMap((pod) => (pod?.node !== undefined ? [pod.node] : [])))].sort();
  const denial: Denial = { egress: assessment.flows.some((f) => !f.egress.allowed), ingress: ingressDenied.length > 0, ingressNodes: nodes };
  return { ...assessment, denial };
}

/** Why a Service that selects no pod has no policy verdict: the one reason every such cell (DNS or not) gives. */
export function noEndpointsReason(service: Pick<ServiceInfo, 'namespace' | 'name' | 'selector'>): string {
  const selector = Object.entries(service.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const name = `${service.namespace}/${service.name}`;
  return `${name} selects no pods (selector ${selector}): it has no endpoints, so no pod's policies decide this flow`;
}

/**
 * The flow as the endpoint pod sees it after kube-proxy's masquerade: egress as the source pod sent it, ingress
 * from the source's node. From the endpoint's own node it is always admitted (the NetworkPolicy API: traffic
 * to and from the node where a pod runs is always allowed); from another node, it is judged as that node's
 * address — which only an ipBlock (or an open `from`) can admit. Where the source's node is not known yet (before
 * the probe ran), a node that is neither: judged as an address no ipBlock names.
 */
export function fromNodeAddress(
  engine: FlowEvaluator,
  snapshot: ClusterSnapshot,
  flow: FlowVerdict,
  endpoint: PodInfo,
  sourceNode: string | undefined,
  port: ServicePort,
  protocol: Protocol,
): FlowVerdict {
  if (sourceNode !== undefined && endpoint.node === sourceNode) {
    const ingress: DirectionVerdict = { direction: 'ingress', allowed: true, reason: 'from-own-node', isolatedBy: flow.ingress.isolatedBy, admittedBy: [], nearMisses: [] };
    return { ...flow, ingress, allowed: flow.egress.allowed, summary: `${flow.egress.allowed ? 'allowed' : 'denied'}: ingress comes from the endpoint's own node` };
  }
  const address = snapshot.nodes.find((n) => n.name === sourceNode)?.addresses?.[0] ?? UNKNOWN_NODE_ADDRESS;
  const fromNode = engine.evaluateFlow({ kind: 'address', ip: address }, { kind: 'pod', pod: endpoint }, port.targetPort, protocol);
  return { ...flow, ingress: fromNode.ingress, allowed: flow.egress.allowed && fromNode.ingress.allowed, summary: fromNode.ingress.allowed ? flow.summary : `denied: ingress from node ${sourceNode ?? '(another node)'} (${address}) is not admitted` };
}

/** A node address no ipBlock of a real cluster names (RFC 5737 documentation range): only ever an engine input. */
const UNKNOWN_NODE_ADDRESS = '192.0.2.1';

/**
 * One view from the flows toward every destination pod: they must agree, and the runner's address must not matter.
 * Calico's default tier is evaluated with the NetworkPolicies; where one of its rules depends on what netcheck does not
 * model (a Service or HTTP match, a pod address the input lacks...), the view is `unknown`, naming the rule and what.
 */
function assessFlows(flows: FlowVerdict[], runnerUnknown: boolean, notes: string[], addressIndependentDenial = false): PolicyAssessment {
  const assessed = assessKubernetesFlows(flows, runnerUnknown, notes, addressIndependentDenial);
  // An admin-policy rule whose match the input cannot settle (a narrower `networks` CIDR against a pod without an
  // address, a domain name) and that would change the verdict: unknown, saying which rule and what it hangs on.
  const depends = [...new Set(flows.flatMap((f) => f.dependsOn ?? []))];
  if (depends.length > 0 && assessed.view !== 'unknown') {
    return { ...assessed, view: 'unknown', explanation: [`the policies say ${assessed.view}, unless:`, ...depends, ...assessed.explanation] };
  }
  const deciders = [...new Map(flows.flatMap((f) => f.mayBeDecidedBy ?? []).map((m) => [`${m.kind} ${m.name} ${m.selects}`, m])).values()];
  if (deciders.length === 0 || assessed.view === 'unknown') return deciders.length === 0 ? assessed : { ...assessed, explanation: [...assessed.explanation, ...deciders.map((m) => m.text)] };
  return {
    ...assessed,
    view: 'unknown',
    explanation: [
      `netcheck would say ${assessed.view}, but ${deciders.length === 1 ? 'a Calico rule depends' : `${deciders.length} Calico rules depend`} on what it does not model:`,
      ...deciders.map((m) => m.text),
      ...assessed.explanation,
    ],
  };
}

function assessKubernetesFlows(flows: FlowVerdict[], runnerUnknown: boolean, notes: string[], addressIndependentDenial: boolean): PolicyAssessment {
  const first = flows[0];
  if (!first) return undecided(notes);
  const allowed = flows.filter((f) => f.allowed).length;
  const explanation = [...explainFlow(first), ...notes];
  if (allowed > 0 && allowed < flows.length) {
    explanation.push(`endpoint pods disagree: ${allowed} of ${flows.length} admit the flow`);
    return { view: 'unknown', explanation, flows };
  }
  if (runnerUnknown && first.ingress.reason !== 'not-isolated' && !(addressIndependentDenial && flows.every((f) => !f.allowed))) {
    // Ingress to an isolated pod from outside depends on the source address after SNAT, which we do not know: the
    // engine's lines for the stand-in address (its near misses name it) would be reasoning from an invented address.
    return { view: 'unknown', explanation: [RUNNER_ADDRESS_UNKNOWN, `ingress: isolated by ${first.ingress.isolatedBy.join(', ') || 'a policy'}, whose rules decide by the source address`, ...notes], flows: [] };
  }
  return { view: allowed === flows.length ? 'allow' : 'deny', explanation, flows };
}

/**
 * Can any ingress rule of these policies admit a source that is an address (not a pod)? Only a rule with
 * no `from` (all sources) or with an ipBlock peer can; namespace/pod selectors never match an address.
 */
function ingressCouldAdmitAddresses(snapshot: ClusterSnapshot, isolatedBy: readonly string[]): boolean {
  return isolatedBy.some((name) => {
    const policy = snapshot.policies.find((p) => policyKey(p) === name);
    if (!policy) {
      // A Calico policy of the default tier is named by its description (see calico-policy.ts).
      const calico = (snapshot.otherPolicies ?? []).find((p) => describeCalicoPolicy(p) === name);
      return calico === undefined || calicoIngressCouldAdmitAddresses(calico);
    }
    return (policy.ingress ?? []).some((rule) => !rule.from || rule.from.length === 0 || rule.from.some((peer) => peer.ipBlock !== undefined));
  });
}

/** One line per direction, deciding line first (the engine's wording: src/policy/engine.ts explainVerdict). */
function explainFlow(flow: FlowVerdict): string[] {
  return explainVerdict(flow);
}

function findClusterDns(services: readonly ServiceInfo[]): ServiceInfo | undefined {
  return (
    services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns') ??
    services.find((s) => s.namespace === 'kube-system' && s.ports.some((p) => p.port === 53))
  );
}

function findByLoadBalancerIP(
  services: readonly ServiceInfo[],
  ip: string,
  port: number,
  protocol: Protocol,
): { service: ServiceInfo; port: ServicePort } | undefined {
  for (const service of services) {
    if (!service.loadBalancerIPs.includes(ip)) continue;
    const p = service.ports.find((sp) => sp.port === port && sp.protocol === protocol);
    if (p) return { service, port: p };
  }
  return undefined;
}
