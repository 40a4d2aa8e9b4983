/**
 * Static checks of a snapshot's NetworkPolicies against the platform rules the seeds spell out
 * ("Always allow DNS resolution to kube-system", "Don't use pod selectors without namespace context",
 * "Don't allow broad external access without justification", "Allow communication with seldon-system", ...).
 * IDs are stable: never renumber, only add.
 */
import { calicoPolicyGaps, describeOtherPolicy } from './calico.js';
import { cidrContains, parseAddress, parseCidr } from './cidr.js';
import { createPolicyEngine, describePeer, podKey, policyKey, type PolicyEngine } from './engine.js';
import { compareStrings, NAMESPACE_NAME_LABEL } from './from-objects.js';
import { formatPolicyPort } from './ports.js';
import { serviceHops } from './endpoints.js';
import type { ClusterSnapshot, Endpoint, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PodInfo } from './types.js';

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintFinding {
  id: string;
  severity: LintSeverity;
  /** "namespace/name" of the policy concerned, when one is. */
  policy?: string;
  namespace?: string;
  message: string;
  hint: string;
  /**
   * Where to fix it, "file:line" of a manifest object: the policy concerned, else the first policy of the
   * namespace, else its first workload. Absent when the snapshot did not come from files.
   */
  source?: string;
}

/** The rule catalogue: id → short name (shown by `lint -o json` consumers and docs). */
export const LINT_RULES = {
  NC001: 'namespace-selector-label-missing',
  NC002: 'dns-egress-missing',
  NC003: 'pod-selector-without-namespace-context',
  NC004: 'egress-to-everywhere',
  NC005: 'seldon-system-unreachable',
  NC006: 'policy-selects-no-pods',
  NC007: 'namespace-without-baseline',
  NC008: 'invalid-ip-block',
  NC009: 'load-balancer-unreachable',
  NC010: 'ip-block-names-service-ip',
  NC011: 'calico-policy-may-decide',
} as const;
export type LintRuleId = keyof typeof LINT_RULES;

/** What each rule checks and why, in one or two sentences (code-scanning tools show it as the rule's help). */
export const LINT_RULE_HELP: Record<LintRuleId, string> = {
  NC001: 'A namespaceSelector names a hand-set label (e.g. name=kube-system) that the namespace does not carry, so the peer never matches it. Label the namespace, or select on kubernetes.io/metadata.name, which the API server sets.',
  NC002: 'Egress-isolated pods must reach kube-system DNS on 53/UDP and 53/TCP ("Always allow DNS resolution to kube-system"); TCP is needed for large answers.',
  NC003: 'A podSelector peer without a namespaceSelector selects pods in the policy\'s own namespace only ("Don\'t use pod selectors without namespace context").',
  NC004: 'An egress rule to everywhere (no `to`, or 0.0.0.0/0) on broad ports needs a justification ("Don\'t allow broad external access without justification").',
  NC005: 'Workloads must be able to talk to seldon-system ("Allow communication with seldon-system").',
  NC006: 'A policy whose podSelector matches no pod in the manifests protects nothing: check it against the workloads\' template labels.',
  NC007: 'Every namespace needs a baseline policy (podSelector: {}) with default deny plus the platform\'s required flows.',
  NC008: 'An ipBlock must be address/prefix, with every except range inside its cidr.',
  NC009: 'A namespace cannot reach a LoadBalancer it depends on: kube-proxy DNATs the LoadBalancer IP to the service\'s pods, so egress must admit those pods on their targetPort.',
  NC010: 'An ipBlock naming a Service or LoadBalancer IP does not match in-cluster traffic: kube-proxy DNATs it to the pods before policy applies.',
  NC011: 'A Calico GlobalNetworkPolicy or NetworkPolicy uses something netcheck does not model (a host-endpoint-only policy, a Service or HTTP match, source ports, ServiceAccount labels): netcheck evaluates the rest of Calico\'s default tier, and the flows such a rule may decide are reported unknown.',
};

/** `--fail-on`: the least severe finding that fails the lint; `none` never fails. */
export type LintFailOn = 'error' | 'warning' | 'none';

export function failsLint(findings: readonly LintFinding[], failOn: LintFailOn): boolean {
  if (failOn === 'none') return false;
  return findings.some((f) => SEVERITY_ORDER[f.severity] <= SEVERITY_ORDER[failOn]);
}

const DNS_NAMESPACE = 'kube-system';
const SELDON_NAMESPACE = 'seldon-system';
/** A port range this wide in an egress-to-everywhere rule counts as "broad". */
const BROAD_RANGE = 100;

const SEVERITY_ORDER: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

interface PeerRef {
  direction: 'ingress' | 'egress';
  ruleIndex: number;
  peerIndex: number;
  peer: NetworkPolicyPeer;
}

function peersOf(policy: NetworkPolicy): PeerRef[] {
  const out: PeerRef[] = [];
  (policy.ingress ?? []).forEach((r, ruleIndex) =>
    (r.from ?? []).forEach((peer, peerIndex) => out.push({ direction: 'ingress', ruleIndex, peerIndex, peer })),
  );
  (policy.egress ?? []).forEach((r, ruleIndex) =>
    (r.to ?? []).forEach((peer, peerIndex) => out.push({ direction: 'egress', ruleIndex, peerIndex, peer })),
  );
  return out;
}

function where(ref: PeerRef): string {
  return `${ref.direction}[${ref.ruleIndex}] ${ref.direction === 'ingress' ? 'from' : 'to'}[${ref.peerIndex}]`;
}

/** NC001: `namespaceSelector: {matchLabels: {name: kube-system}}` where namespace kube-system lacks `name=kube-system`. */
function lintNamespaceSelectorLabels(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  const known = new Set([...snapshot.namespaces.map((n) => n.name), ...snapshot.pods.map((p) => p.namespace)]);
  for (const policy of snapshot.policies) {
    for (const ref of peersOf(policy)) {
      const selector = ref.peer.namespaceSelector;
      if (!selector) continue;
      const wanted: Array<[string, string]> = Object.entries(selector.matchLabels ?? {});
      for (const req of selector.matchExpressions ?? []) {
        if (req.operator === 'In') for (const v of req.values ?? []) wanted.push([req.key, v]);
      }
      for (const [key, value] of wanted) {
        // The API server sets kubernetes.io/metadata.name itself; only hand-set labels can be missing.
        if (key === NAMESPACE_NAME_LABEL || !known.has(value)) continue;
        const labels = engine.namespaceLabels(value);
        if (labels[key] === value) continue;
        const has = Object.prototype.hasOwnProperty.call(labels, key) ? `has ${key}=${labels[key] ?? ''}` : `has no label \`${key}\``;
        findings.push({
          id: 'NC001',
          severity: 'error',
          policy: policyKey(policy),
          namespace: policy.namespace,
          message: `${where(ref)} namespaceSelector ${key}=${value}: namespace ${value} ${has}, so this peer never matches it`,
          hint: `label the namespace (kubectl label namespace ${value} ${key}=${value}) or select on ${NAMESPACE_NAME_LABEL}: ${value}, which the API server sets on every namespace`,
        });
      }
    }
  }
}

/** The pod a DNS lookup reaches: the cluster's DNS pods if the snapshot has them, else a stand-in CoreDNS. */
function dnsTargets(snapshot: ClusterSnapshot): PodInfo[] {
  const found = snapshot.pods.filter(
    (p) => p.namespace === DNS_NAMESPACE && (p.labels['k8s-app'] === 'kube-dns' || p.ports.some((cp) => cp.containerPort === 53)),
  );
  if (found.length > 0) return found;
  return [
    {
      namespace: DNS_NAMESPACE,
      name: 'coredns',
      labels: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      ],
    },
  ];
}

/** NC002: egress-isolated pods must reach kube-system DNS on 53/UDP and 53/TCP (TCP for large answers). */
function lintDnsEgress(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  const targets = dnsTargets(snapshot);
  const byNamespace = new Map<string, Map<string, { pods: string[]; reason: string }>>();
  for (const pod of snapshot.pods) {
    if (pod.namespace === DNS_NAMESPACE) continue;
    if (engine.isolatingPolicies(pod, 'egress').length === 0) continue;
    const from: Endpoint = { kind: 'pod', pod };
    const missing: string[] = [];
    let reason = '';
    for (const protocol of ['UDP', 'TCP'] as const) {
      const verdicts = targets.map((t) => engine.evaluateFlow(from, { kind: 'pod', pod: t }, 53, protocol).egress);
      if (verdicts.some((v) => v.allowed)) continue;
      missing.push(protocol);
      reason ||= verdicts[0]?.nearMisses[0] ?? '';
    }
    if (missing.length === 0) continue;
    const key = missing.join('+');
    let ns = byNamespace.get(pod.namespace);
    if (!ns) byNamespace.set(pod.namespace, (ns = new Map()));
    const entry = ns.get(key) ?? { pods: [], reason };
    entry.pods.push(pod.name);
    ns.set(key, entry);
  }
  for (const [namespace, groups] of byNamespace) {
    for (const [key, { pods, reason }] of groups) {
      const both = key === 'UDP+TCP';
      findings.push({
        id: 'NC002',
        severity: both ? 'error' : 'warning',
        namespace,
        message:
          `${pods.length} egress-isolated pod(s) in ${namespace} (${pods.sort(compareStrings).join(', ')}) cannot reach ${DNS_NAMESPACE} DNS on ` +
          `${both ? '53/UDP nor 53/TCP' : `53/${key}`}${reason ? `; closest rule: ${reason}` : ''}`,
        hint: both
          ? `add an egress rule to namespaceSelector ${NAMESPACE_NAME_LABEL}: ${DNS_NAMESPACE} on ports 53/UDP and 53/TCP`
          : `allow 53/${key} too: DNS falls back to TCP for large answers`,
      });
    }
  }
}

/** NC003: a podSelector-only peer means "this namespace" — wrong when the policy's other peers cross namespaces. */
function lintPodSelectorContext(snapshot: ClusterSnapshot, findings: LintFinding[]): void {
  for (const policy of snapshot.policies) {
    const refs = peersOf(policy);
    const crosses = refs.some((r) => r.peer.namespaceSelector !== undefined);
    if (!crosses) continue;
    for (const ref of refs) {
      if (!ref.peer.podSelector || ref.peer.namespaceSelector) continue;
      findings.push({
        id: 'NC003',
        severity: 'warning',
        policy: policyKey(policy),
        namespace: policy.namespace,
        message: `${where(ref)} ${describePeer(ref.peer)} has no namespaceSelector, so it only matches pods in ${policy.namespace}, while other peers of this policy cross namespaces (pod selectors without namespace context)`,
        hint: `add a namespaceSelector to the same peer (e.g. ${NAMESPACE_NAME_LABEL}: <namespace>) if the pods live elsewhere`,
      });
    }
  }
}

function isBroad(ports: readonly NetworkPolicyPort[] | undefined): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => p.port === undefined || (typeof p.port === 'number' && p.endPort !== undefined && p.endPort - p.port >= BROAD_RANGE));
}

/** NC004: `to: []` / no `to` reaches every address and every pod in the cluster on those ports. */
function lintEgressEverywhere(snapshot: ClusterSnapshot, findings: LintFinding[]): void {
  for (const policy of snapshot.policies) {
    (policy.egress ?? []).forEach((rule, i) => {
      if (rule.to && rule.to.length > 0) return;
      const broad = isBroad(rule.ports);
      const portText = rule.ports && rule.ports.length > 0 ? rule.ports.map(formatPolicyPort).join(', ') : 'all ports';
      findings.push({
        id: 'NC004',
        severity: broad ? 'warning' : 'info',
        policy: policyKey(policy),
        namespace: policy.namespace,
        message: `egress[${i}] allows egress to everywhere (every external address and every pod in every namespace) on ${portText}`,
        hint: broad
          ? 'name the destinations with ipBlock (external CIDRs) or namespace/pod selectors, and the ports they need'
          : 'if only external services are meant, use ipBlock with the external CIDRs (and except the pod/service CIDRs)',
      });
    });
  }
}

/** NC005: an egress-isolated application namespace that cannot reach seldon-system at all. */
function lintSeldonReachable(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  const seldonPods = snapshot.pods.filter((p) => p.namespace === SELDON_NAMESPACE);
  if (seldonPods.length === 0) return;
  const namespaces = [...new Set(snapshot.pods.map((p) => p.namespace))].sort(compareStrings);
  for (const namespace of namespaces) {
    if (namespace === SELDON_NAMESPACE || namespace === DNS_NAMESPACE) continue;
    const isolated = snapshot.pods.filter((p) => p.namespace === namespace && engine.isolatingPolicies(p, 'egress').length > 0);
    if (isolated.length === 0) continue;
    const stranded: string[] = [];
    let reason = '';
    for (const pod of isolated) {
      const from: Endpoint = { kind: 'pod', pod };
      let reached = false;
      for (const target of seldonPods) {
        const ports = target.ports.length > 0 ? target.ports : [{ containerPort: 80, protocol: 'TCP' as const }];
        for (const port of ports) {
          const v = engine.evaluateFlow(from, { kind: 'pod', pod: target }, port.containerPort, port.protocol);
          if (v.allowed) reached = true;
          else if (!reason) {
            const d = v.egress.allowed ? v.ingress : v.egress;
            reason = `${d.direction} of ${podKey(v.egress.allowed ? target : pod)}: ${d.nearMisses[0] ?? 'no rule admits it'}`;
          }
          if (reached) break;
        }
        if (reached) break;
      }
      if (!reached) stranded.push(pod.name);
    }
    if (stranded.length === 0) continue;
    findings.push({
      id: 'NC005',
      severity: 'error',
      namespace,
      message: `${stranded.length} egress-isolated pod(s) in ${namespace} (${stranded.sort(compareStrings).join(', ')}) cannot reach any ${SELDON_NAMESPACE} pod on its declared ports${reason ? `; e.g. ${reason}` : ''}`,
      hint: `allow egress to namespaceSelector ${NAMESPACE_NAME_LABEL}: ${SELDON_NAMESPACE} (and check that ${SELDON_NAMESPACE} carries the labels your selectors use)`,
    });
  }
}

/** NC006: a policy whose podSelector matches no pod in its namespace does nothing (typo in a label?). */
function lintSelectsNothing(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  for (const policy of snapshot.policies) {
    if (engine.podsSelectedBy(policy).length > 0) continue;
    const inNs = snapshot.pods.filter((p) => p.namespace === policy.namespace).length;
    findings.push({
      id: 'NC006',
      severity: 'warning',
      policy: policyKey(policy),
      namespace: policy.namespace,
      message: `policy selects no pods (${inNs} pod(s) in ${policy.namespace} known)`,
      hint: 'check spec.podSelector against the pod template labels of the workloads it is meant for',
    });
  }
}

/** NC007: a namespace with pods but no policy covering all of them: pods nobody thought of are open. */
function lintBaseline(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  const namespaces = [...new Set(snapshot.pods.map((p) => p.namespace))].sort(compareStrings);
  for (const namespace of namespaces) {
    if (namespace === DNS_NAMESPACE) continue;
    const count = snapshot.pods.filter((p) => p.namespace === namespace).length;
    const baseline = snapshot.policies.some((p) => p.namespace === namespace && engine.podsSelectedBy(p).length === count);
    if (baseline) continue;
    findings.push({
      id: 'NC007',
      severity: 'warning',
      namespace,
      message: `namespace ${namespace} has ${count} pod(s) but no policy selecting all of them (no baseline)`,
      hint: `add a baseline policy with podSelector: {} in ${namespace} (default deny plus the platform's required flows)`,
    });
  }
}

/** NC008: ipBlock CIDRs that do not parse, or except ranges outside their cidr (the API server rejects both). */
function lintIpBlocks(snapshot: ClusterSnapshot, findings: LintFinding[]): void {
  for (const policy of snapshot.policies) {
    for (const ref of peersOf(policy)) {
      const block = ref.peer.ipBlock;
      if (!block) continue;
      const cidr = parseCidr(block.cidr);
      const problems: string[] = [];
      if (!cidr) problems.push(`cidr ${block.cidr} is not a valid CIDR`);
      for (const e of block.except ?? []) {
        const ex = parseCidr(e);
        if (!ex) problems.push(`except ${e} is not a valid CIDR`);
        else if (cidr && (ex.family !== cidr.family || ex.prefix < cidr.prefix || !cidrContains(cidr, { family: ex.family, value: ex.network }))) {
          problems.push(`except ${e} is not inside ${block.cidr}`);
        }
      }
      for (const problem of problems) {
        findings.push({
          id: 'NC008',
          severity: 'error',
          policy: policyKey(policy),
          namespace: policy.namespace,
          message: `${where(ref)} ipBlock: ${problem}`,
          hint: 'write CIDRs as address/prefix (e.g. 10.0.0.0/8), with except ranges inside cidr',
        });
      }
    }
  }
}

/**
 * NC009: a namespace whose egress-isolated pods reach none of a LoadBalancer Service's endpoints. From inside
 * the cluster, kube-proxy DNATs the LB IP to the endpoint pods and targetPort before policy applies, so the
 * egress rules must admit the endpoint pods on the targetPort (the seeds' MLflow :5000 and MinIO :9000).
 */
function lintLoadBalancers(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  const namespaces = [...new Set(snapshot.pods.map((p) => p.namespace))].sort(compareStrings);
  // Once per namespace, not once per (service, port, namespace).
  const isolatedIn = new Map(
    namespaces.map((ns) => [ns, snapshot.pods.filter((p) => p.namespace === ns && engine.isolatingPolicies(p, 'egress').length > 0)]),
  );
  for (const service of snapshot.services) {
    if (service.type !== 'LoadBalancer') continue;
    const svc = `${service.namespace}/${service.name}`;
    const address = service.loadBalancerIPs[0];
    for (const sp of service.ports) {
      const hops = serviceHops(engine, service, sp.port, sp.protocol);
      if (hops.length === 0) continue;
      for (const namespace of namespaces) {
        if (namespace === service.namespace || namespace === DNS_NAMESPACE) continue;
        const isolated = isolatedIn.get(namespace) ?? [];
        if (isolated.length === 0) continue;
        let reason = '';
        const stranded = isolated.filter((pod) => {
          const from: Endpoint = { kind: 'pod', pod };
          return !hops.some((hop) => {
            const v = engine.evaluateFlow(from, { kind: 'pod', pod: hop.pod }, hop.targetPort, sp.protocol);
            if (!v.allowed && !reason) {
              const d = v.egress.allowed ? v.ingress : v.egress;
              reason = `${d.direction} of ${podKey(d.direction === 'egress' ? pod : hop.pod)}: ${d.nearMisses[0] ?? 'no rule admits it'}`;
            }
            return v.allowed;
          });
        });
        if (stranded.length === 0) continue;
        const first = hops[0] as (typeof hops)[number];
        const resolved = typeof first.targetPort === 'number' ? undefined : first.pod.ports.find((p) => p.name === first.targetPort)?.containerPort;
        const target = resolved === undefined ? String(first.targetPort) : `${first.targetPort} (${resolved})`;
        findings.push({
          id: 'NC009',
          severity: 'warning',
          namespace,
          message:
            `${stranded.length} egress-isolated pod(s) in ${namespace} (${stranded.map((p) => p.name).sort(compareStrings).join(', ')}) cannot reach LoadBalancer ${svc}` +
            `${address ? ` (${address}:${sp.port}/${sp.protocol})` : ` port ${sp.port}/${sp.protocol}`}: inside the cluster it is DNATed to its pods on targetPort ${target}` +
            `${reason ? `; ${reason}` : ''}`,
          hint: `if ${namespace} depends on ${svc}, allow egress to namespace ${service.namespace} (its pods) on port ${target}; an ipBlock naming the LoadBalancer IP does not match in-cluster traffic`,
        });
      }
    }
  }
}

/** NC010: an egress ipBlock aimed at a Service's ClusterIP/LoadBalancer IP never matches in-cluster traffic (DNAT comes first). */
function lintIpBlockServiceIPs(snapshot: ClusterSnapshot, findings: LintFinding[]): void {
  const serviceIPs: Array<{ ip: string; service: string }> = [];
  for (const s of snapshot.services) {
    for (const ip of [...(s.clusterIP ? [s.clusterIP] : []), ...s.loadBalancerIPs]) serviceIPs.push({ ip, service: `${s.namespace}/${s.name}` });
  }
  for (const policy of snapshot.policies) {
    for (const ref of peersOf(policy)) {
      if (ref.direction !== 'egress' || !ref.peer.ipBlock) continue;
      const cidr = parseCidr(ref.peer.ipBlock.cidr);
      // Only narrow blocks are evidently aimed at the service; 0.0.0.0/0 just happens to contain it.
      if (!cidr || cidr.prefix < (cidr.family === 4 ? 24 : 120)) continue;
      for (const { ip, service } of serviceIPs) {
        const address = parseAddress(ip);
        if (!address || !cidrContains(cidr, address)) continue;
        findings.push({
          id: 'NC010',
          severity: 'warning',
          policy: policyKey(policy),
          namespace: policy.namespace,
          message: `${where(ref)} ipBlock ${ref.peer.ipBlock.cidr} contains ${ip} of service ${service}, but kube-proxy DNATs that address to the service's pods before policy applies, so this peer does not admit in-cluster traffic to it`,
          hint: `select the service's pods instead (namespaceSelector/podSelector) on their targetPort`,
        });
      }
    }
  }
}

/** NC011: a Calico policy that selects pods of the input uses something netcheck does not model; those flows are unknown. */
function lintCalicoMayDecide(snapshot: ClusterSnapshot, engine: PolicyEngine, findings: LintFinding[]): void {
  for (const other of snapshot.otherPolicies ?? []) {
    const gaps = calicoPolicyGaps(other);
    if (gaps.length === 0) continue;
    const selected = snapshot.pods.filter((pod) => (['ingress', 'egress'] as const).some((d) => engine.otherPoliciesSelecting(pod, d).includes(other)));
    if (selected.length === 0 && other.hostEndpointOnly === undefined) continue;
    const shown = selected.slice(0, 5).map(podKey).join(', ');
    const more = selected.length > 5 ? ` and ${selected.length - 5} more` : '';
    const finding: LintFinding = {
      id: 'NC011',
      severity: 'warning',
      policy: other.namespace !== undefined ? `${other.namespace}/${other.name}` : other.name,
      message:
        `${describeOtherPolicy(other)}${selected.length > 0 ? ` (selects ${selected.length} pod(s): ${shown}${more})` : ''} uses what netcheck does not model: ${gaps.join('; ')}`,
      hint: other.hostEndpointOnly !== undefined ? 'nothing to do for pod traffic; test host endpoints another way' : 'probe the flows it may decide with netcheck run (their cells say unknown)',
    };
    if (other.namespace !== undefined) finding.namespace = other.namespace;
    if (other.source !== undefined) finding.source = other.source;
    findings.push(finding);
  }
}

export function lintSnapshot(snapshot: ClusterSnapshot, engine: PolicyEngine = createPolicyEngine(snapshot)): LintFinding[] {
  const findings: LintFinding[] = [];
  lintNamespaceSelectorLabels(snapshot, engine, findings);
  lintDnsEgress(snapshot, engine, findings);
  lintPodSelectorContext(snapshot, findings);
  lintEgressEverywhere(snapshot, findings);
  lintSeldonReachable(snapshot, engine, findings);
  lintSelectsNothing(snapshot, engine, findings);
  lintBaseline(snapshot, engine, findings);
  lintIpBlocks(snapshot, findings);
  lintLoadBalancers(snapshot, engine, findings);
  lintIpBlockServiceIPs(snapshot, findings);
  lintCalicoMayDecide(snapshot, engine, findings);
  for (const f of findings) {
    const source = f.source ?? locateFinding(snapshot, f);
    if (source !== undefined) f.source = source;
  }
  return findings.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      compareStrings(a.id, b.id) ||
      compareStrings(a.namespace ?? '', b.namespace ?? '') ||
      compareStrings(a.policy ?? '', b.policy ?? '') ||
      compareStrings(a.message, b.message),
  );
}

function locateFinding(snapshot: ClusterSnapshot, finding: LintFinding): string | undefined {
  if (finding.policy !== undefined) {
    const policy = snapshot.policies.find((p) => policyKey(p) === finding.policy);
    if (policy?.source !== undefined) return policy.source;
  }
  if (finding.namespace === undefined) return undefined;
  const byKey = (a: { name: string }, b: { name: string }): number => compareStrings(a.name, b.name);
  const policy = snapshot.policies.filter((p) => p.namespace === finding.namespace && p.source !== undefined).sort(byKey)[0];
  return policy?.source ?? snapshot.pods.filter((p) => p.namespace === finding.namespace && p.source !== undefined).sort(byKey)[0]?.source;
}

export function hasErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
