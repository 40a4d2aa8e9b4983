/**
 * The DNS chain: why a pod cannot resolve names, link by link, with one verdict at the end. Pure: the evidence a
 * probe pod observed (its resolv.conf, lookups through its nameserver and straight to each CoreDNS pod, over UDP and
 * TCP) and what the API shows (the nameserver's Service, its EndpointSlices, the CoreDNS pods, the policies) in;
 * links and a verdict (which link is broken, the evidence, who owns the fix, the next command) out.
 * Reading the API is src/cluster/dns-facts.ts; running the probe is src/run/dns-chain-probe.ts.
 */
import {
  isNotVisible,
  type DnsChain,
  type DnsChainSource,
  type DnsClusterFacts,
  type DnsDeploymentFact,
  type DnsEndpointFact,
  type DnsLink,
  type DnsPodFact,
  type DnsQuery,
  type DnsServiceFact,
  type DnsVerdict,
  type LinkId,
  type LinkStatus,
} from '../model/dns-chain.js';
import type { Outcome, ResolvConf } from '../model/outcome.js';
import { describeOutcome } from '../model/outcome.js';
import { createPolicyEngine } from '../policy/engine.js';
import { matchesSelector } from '../policy/selectors.js';
import type { ClusterSnapshot, FlowVerdict, Labels, NetworkPolicy, PodInfo } from '../policy/types.js';
export * from '../model/dns-chain.js';
import type { CellVerdict, RunFinding } from '../model/verdict.js';
import { cellRef } from './finding.js';
import { findMissingNamespaceLabels } from './diagnose-cell.js';
import { policyResponsibility, responsibilityFor, type FaultArea } from './ownership.js';

/** The name every cluster resolves (the API server's Service), asked by every chain. */
export const CANARY_NAME = 'kubernetes.default.svc.cluster.local';
/** NodeLocal DNSCache's conventional link-local address. */
export const NODELOCAL_DNS = '169.254.20.10';
/** What CoreDNS pods carry in kubeadm, k3s and most distributions: the fallback when a Service selector is wrong. */
export const COREDNS_LABELS: Labels = { 'k8s-app': 'kube-dns' };

export interface DnsChainEvidence {
  /** The pod whose resolution is in question: its namespace and labels (what policies select), and node. */
  source: DnsChainSource;
  /** The probe pod's resolv.conf; a string when it could not be read (why). */
  resolv: ResolvConf | string | undefined;
  queries: DnsQuery[];
  facts: DnsClusterFacts;
  /** Policies, namespaces (labels) and pods as the run's inventory shows them. */
  snapshot: ClusterSnapshot;
  /** The names asked beyond the canary (the failing cells' names). */
  names?: string[];
}

const link = (id: LinkId, title: string, status: LinkStatus, evidence: string[]): DnsLink => ({ id, title, status, evidence });

const answered = (o: Outcome): boolean => o.kind === 'resolved' || o.kind === 'dns-nxdomain';
const describe = (q: DnsQuery): string => `${q.name} over ${q.protocol} to ${q.server}${q.pod ? ` (${q.pod}${q.podNode ? ` on ${q.podNode}` : ''})` : ''}: ${describeOutcome(q.outcome, { addresses: true })}`;

/** A link-local nameserver (169.254.0.0/16) is a node-local cache such as NodeLocal DNSCache. */
export function isNodeLocalCache(ip: string): boolean {
  return ip === NODELOCAL_DNS || /^169\.254\./.test(ip);
}

const kubectlPodsCmd = (ns: string, labels: Labels): string =>
  `kubectl -n ${ns} get pods -l ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')} -o wide`;

function notVisibleLine(what: string, why: string, command: string): string {
  return `${what} not visible with these rights (${why}): ask the platform team to run \`${command}\``;
}

/** The chain's links and verdict. */
export function walkDnsChain(evidence: DnsChainEvidence): DnsChain {
  const { facts } = evidence;
  const resolv = typeof evidence.resolv === 'object' ? evidence.resolv : undefined;
  const nameserver = resolv?.nameservers[0];
  const nodeLocal = nameserver !== undefined && isNodeLocalCache(nameserver);
  const dnsNs = facts.namespace;

  // 1. resolv.conf
  const resolvLink =
    resolv === undefined
      ? link('resolv', 'resolv.conf', typeof evidence.resolv === 'string' ? 'broken' : 'not-checked', [
          typeof evidence.resolv === 'string' ? `the probe pod's /etc/resolv.conf could not be read: ${evidence.resolv}` : 'the probe pod did not report its resolv.conf',
        ])
      : link('resolv', 'resolv.conf', 'ok', [
          `nameserver ${resolv.nameservers.join(', ')}${nodeLocal ? ` (a node-local cache: NodeLocal DNSCache${nameserver === NODELOCAL_DNS ? '' : '?'})` : ''}`,
          `search ${resolv.search.join(' ') || '(none)'}`,
          `ndots ${resolv.ndots}`,
        ]);

  // 2. lookups through the pod's own nameserver
  const own = evidence.queries.filter((q) => q.via === 'resolv');
  const ownCanary = own.filter((q) => q.name === CANARY_NAME);
  const ownFailed = ownCanary.filter((q) => !answered(q.outcome));
  const udpOwn = ownCanary.find((q) => q.protocol === 'UDP');
  const tcpOwn = ownCanary.find((q) => q.protocol === 'TCP');
  const lookupLink = link(
    'lookup',
    `lookups through ${nameserver ?? 'the pod\u2019s nameserver'}`,
    own.length === 0 ? 'not-checked' : ownFailed.length > 0 ? 'broken' : own.some((q) => !answered(q.outcome)) ? 'warning' : 'ok',
    own.length === 0 ? ['no lookup was made'] : own.map(describe),
  );

  // 3. the nameserver's Service and its endpoints
  const services = facts.services;
  let service: DnsServiceFact | undefined;
  const serviceEvidence: string[] = [];
  let serviceStatus: LinkStatus = 'ok';
  let readyEndpoints: DnsEndpointFact[] | undefined;
  if (isNotVisible(services)) {
    serviceStatus = 'not-visible';
    serviceEvidence.push(notVisibleLine(`the Services of ${dnsNs}`, services.notVisible, `kubectl -n ${dnsNs} get svc -o wide`));
  } else {
    service =
      services.find((s) => s.clusterIP !== undefined && s.clusterIP === nameserver) ??
      // Behind a node-local cache (or when resolv.conf is unknown) the cluster's DNS Service is still kube-dns.
      (nodeLocal || nameserver === undefined ? services.find((s) => s.name === 'kube-dns') : undefined);
    if (!service) {
      serviceStatus = 'broken';
      serviceEvidence.push(`no Service in ${dnsNs} has ClusterIP ${nameserver ?? '?'} (Services: ${services.map((s) => `${s.name}=${s.clusterIP ?? 'None'}`).join(', ') || 'none'})`);
    } else {
      serviceEvidence.push(
        `Service ${service.namespace}/${service.name} ClusterIP ${service.clusterIP ?? 'None'}${nodeLocal && service.clusterIP !== nameserver ? ` (behind the node-local cache ${nameserver})` : ''}, selector ${formatLabels(service.selector)}`,
      );
      const endpoints = facts.endpoints;
      if (isNotVisible(endpoints)) {
        serviceStatus = 'not-visible';
        serviceEvidence.push(notVisibleLine('its EndpointSlices', endpoints.notVisible, `kubectl -n ${service.namespace} get endpointslices -l kubernetes.io/service-name=${service.name}`));
      } else {
        const all = endpoints[service.name] ?? [];
        readyEndpoints = all.filter((e) => e.ready);
        serviceEvidence.push(
          `EndpointSlices: ${readyEndpoints.length} ready endpoint(s)${readyEndpoints.length > 0 ? ` (${readyEndpoints.map((e) => `${e.ip}${e.node ? ` on ${e.node}` : ''}`).join(', ')})` : ''}` +
            (all.length > readyEndpoints.length ? `, ${all.length - readyEndpoints.length} not ready` : ''),
        );
        if (readyEndpoints.length === 0) serviceStatus = 'broken';
      }
    }
  }
  const serviceLink = link('service', 'the nameserver\u2019s Service and EndpointSlices', serviceStatus, serviceEvidence);

  // 4. the CoreDNS pods: the Service's selector, else the well-known label
  const selector = service?.selector ?? COREDNS_LABELS;
  const pods = facts.pods;
  let selected: DnsPodFact[] | undefined;
  let wellKnown: DnsPodFact[] | undefined;
  const corednsEvidence: string[] = [];
  let corednsStatus: LinkStatus = 'ok';
  if (isNotVisible(pods)) {
    corednsStatus = 'not-visible';
    corednsEvidence.push(notVisibleLine('the CoreDNS pods', pods.notVisible, kubectlPodsCmd(dnsNs, selector)));
  } else {
    selected = pods.filter((p) => matchesSelector({ matchLabels: selector }, p.labels));
    wellKnown = pods.filter((p) => matchesSelector({ matchLabels: COREDNS_LABELS }, p.labels));
    const shown = selected.length > 0 ? selected : wellKnown;
    corednsEvidence.push(
      shown.length === 0
        ? `no pod in ${dnsNs} matches ${formatLabels(selector)}${sameLabels(selector, COREDNS_LABELS) ? '' : ` nor ${formatLabels(COREDNS_LABELS)}`}`
        : `${shown.filter((p) => p.ready).length} of ${shown.length} pod(s) ready${selected.length === 0 ? ` (matched by ${formatLabels(COREDNS_LABELS)}, not by the Service\u2019s selector)` : ''}: ` +
            shown.map((p) => `${p.name} ${p.ready ? 'ready' : `not ready (${p.phase})`}${p.node ? ` on ${p.node}` : ''}${p.ip ? ` ${p.ip}` : ''}`).join(', '),
    );
    if (!shown.some((p) => p.ready)) corednsStatus = 'broken';
  }
  const deployments = facts.deployments;
  const deployment = isNotVisible(deployments)
    ? undefined
    : deployments.find((d) => d.name === 'coredns') ?? deployments.find((d) => matchesSelector({ matchLabels: d.selector }, selector));
  if (deployment) corednsEvidence.push(`Deployment ${deployment.namespace}/${deployment.name}: ${deployment.readyReplicas}/${deployment.replicas} ready`);
  const corednsLink = link('coredns', 'the CoreDNS pods', corednsStatus, corednsEvidence);

  // 5. straight to each CoreDNS pod
  const direct = evidence.queries.filter((q) => q.via === 'pod');
  const directLink = link(
    'direct',
    'queries straight to each CoreDNS pod',
    direct.length === 0 ? 'not-checked' : direct.some((q) => !answered(q.outcome)) ? 'broken' : 'ok',
    direct.length === 0 ? [isNotVisible(pods) ? 'no CoreDNS pod IP is known (pods not visible)' : 'no ready CoreDNS pod to ask'] : direct.map(describe),
  );

  // 6. the source's egress (and CoreDNS's ingress) for port 53, by the policy engine
  const targets: PodInfo[] = (selected && selected.length > 0 ? selected : wellKnown ?? [])
    .filter((p) => p.ready || (selected ?? []).length === 0)
    .map((p) => ({ namespace: p.namespace, name: p.name, labels: p.labels, ports: [], ...(p.ip ? { ip: p.ip } : {}), ...(p.node ? { node: p.node } : {}) }));
  const assumed = targets.length === 0;
  if (assumed) targets.push({ namespace: dnsNs, name: 'coredns (assumed)', labels: selector, ports: [] });
  const policy = evaluatePolicies(evidence, targets[0]!, assumed);

  const links = [resolvLink, lookupLink, serviceLink, corednsLink, directLink, policy.link];
  const verdict = decide({ evidence, nameserver, nodeLocal, service, readyEndpoints, selected, wellKnown, deployment, selector, policy, direct, ownCanary, udpOwn, tcpOwn });
  return { kind: 'dns-chain', source: evidence.source, ...(nameserver !== undefined ? { nameserver } : {}), links, verdict };
}

interface PolicyFinding {
  link: DnsLink;
  udp?: FlowVerdict;
  tcp?: FlowVerdict;
  /** The policy that isolates the source for egress and denies UDP/TCP 53. */
  blocking?: { protocol: 'UDP' | 'TCP' | 'both'; policies: NetworkPolicy[]; direction: 'egress' | 'ingress'; missing: string[]; nearMisses: string[] };
  /** kube-system's labels are not known: a missing-label conclusion would be a guess. */
  namespaceUnknown: boolean;
}

function evaluatePolicies(evidence: DnsChainEvidence, target: PodInfo, assumed: boolean): PolicyFinding {
  const { snapshot, source } = evidence;
  const engine = createPolicyEngine(snapshot);
  const from: PodInfo = { namespace: source.namespace, name: 'dns-chain-probe', labels: source.labels, ports: [], ...(source.node ? { node: source.node } : {}) };
  const udp = engine.evaluateFlow({ kind: 'pod', pod: from }, { kind: 'pod', pod: target }, 53, 'UDP');
  const tcp = engine.evaluateFlow({ kind: 'pod', pod: from }, { kind: 'pod', pod: target }, 53, 'TCP');
  const namespaceUnknown = !snapshot.namespaces.some((n) => n.name === target.namespace);
  const evidenceLines: string[] = [];
  const isolating = engine.isolatingPolicies(from, 'egress');
  evidenceLines.push(
    isolating.length === 0
      ? `no policy isolates ${source.namespace} pods ${formatLabels(source.labels)} for egress`
      : `egress of ${source.namespace} pods ${formatLabels(source.labels)} is isolated by ${isolating.join(', ')}`,
  );
  evidenceLines.push(`to ${target.namespace}/${target.name}${assumed ? ` (${formatLabels(target.labels)})` : ''} port 53: UDP ${udp.allowed ? 'allowed' : 'denied'}, TCP ${tcp.allowed ? 'allowed' : 'denied'}`);
  for (const [protocol, flow] of [['UDP', udp], ['TCP', tcp]] as const) {
    for (const d of [flow.egress, flow.ingress]) {
      if (!d.allowed) evidenceLines.push(`${protocol} ${d.direction}: ${describeDenial(d)}`);
    }
  }
  if (namespaceUnknown) evidenceLines.push(`namespace ${target.namespace} and its labels are not visible with these rights: the verdict assumes only its name label; ask the platform team to run \`kubectl get namespace ${target.namespace} --show-labels\``);

  let blocking: PolicyFinding['blocking'];
  const denied = [udp, tcp].filter((f) => !f.allowed);
  if (denied.length > 0) {
    const flow = denied[0]!;
    const side = !flow.egress.allowed ? flow.egress : flow.ingress;
    const policies = side.isolatedBy.map((k) => snapshot.policies.find((p) => `${p.namespace}/${p.name}` === k)).filter((p): p is NetworkPolicy => p !== undefined);
    const missing = findMissingNamespaceLabels(snapshot, [flow], {
      sourceNamespace: source.namespace,
      destinationNamespace: target.namespace,
    });
    blocking = {
      protocol: udp.allowed ? 'TCP' : tcp.allowed ? 'UDP' : 'both',
      policies,
      direction: side.direction,
      missing: namespaceUnknown ? [] : missing,
      nearMisses: side.nearMisses,
    };
  }
  // A denial that rests on labels these rights cannot see is not a finding: the link says what to ask for.
  const status: LinkStatus = denied.length === 0 ? 'ok' : namespaceUnknown ? 'not-visible' : 'broken';
  return { link: link('policy', `policies for port 53 from ${source.namespace}`, status, evidenceLines), udp, tcp, ...(blocking ? { blocking } : {}), namespaceUnknown };
}

function describeDenial(d: FlowVerdict['egress']): string {
  if (d.reason === 'admin-policy' && d.decidedBy) return `denied by ${d.decidedBy.kind} ${d.decidedBy.policy}`;
  const near = d.nearMisses.length > 0 ? `; closest: ${d.nearMisses.join('; ')}` : '';
  return `denied: isolated by ${d.isolatedBy.join(', ') || '?'} and no rule admits it${near}`;
}

interface DecideInput {
  evidence: DnsChainEvidence;
  nameserver?: string;
  nodeLocal: boolean;
  service?: DnsServiceFact;
  readyEndpoints?: DnsEndpointFact[];
  selected?: DnsPodFact[];
  wellKnown?: DnsPodFact[];
  deployment?: DnsDeploymentFact;
  selector: Labels;
  policy: PolicyFinding;
  direct: DnsQuery[];
  ownCanary: DnsQuery[];
  udpOwn?: DnsQuery;
  tcpOwn?: DnsQuery;
}

function owned(area: FaultArea): Pick<DnsVerdict, 'owner' | 'why'> {
  const r = responsibilityFor(area);
  return { owner: r.owner, why: r.why };
}

function decide(input: DecideInput): DnsVerdict {
  const { evidence, nameserver, service, readyEndpoints, selected, wellKnown, deployment, selector, policy, direct, ownCanary, udpOwn, tcpOwn } = input;
  const dnsNs = evidence.facts.namespace;
  const lookupsFail = ownCanary.some((q) => !answered(q.outcome));
  const probed = ownCanary.length > 0;
  const broken = (link: LinkId, text: string, who: Pick<DnsVerdict, 'owner' | 'why'>, next: string): DnsVerdict => ({ status: 'broken', link, text, ...who, next });

  // 1. no nameserver at all
  if (typeof evidence.resolv === 'string' || (typeof evidence.resolv === 'object' && evidence.resolv.nameservers.length === 0)) {
    return broken('resolv', `the probe pod has no usable nameserver in /etc/resolv.conf${typeof evidence.resolv === 'string' ? ` (${evidence.resolv})` : ''}`, owned('dns'), `kubectl -n ${evidence.source.namespace} get pods -o jsonpath='{.items[*].spec.dnsPolicy}'`);
  }
  // 2. CoreDNS itself: no ready pod anywhere
  const candidates = selected && selected.length > 0 ? selected : wellKnown;
  if (candidates !== undefined && !candidates.some((p) => p.ready)) {
    const scaled = deployment && deployment.replicas === 0 ? ` (Deployment ${deployment.namespace}/${deployment.name} scaled to 0)` : deployment ? ` (Deployment ${deployment.namespace}/${deployment.name}: ${deployment.readyReplicas}/${deployment.replicas} ready)` : '';
    return broken(
      'coredns',
      `CoreDNS has no ready pod${scaled}${candidates.length > 0 ? `: ${candidates.map((p) => `${p.name} ${p.phase}`).join(', ')}` : ''}`,
      owned('dns'),
      deployment ? `kubectl -n ${deployment.namespace} get deploy ${deployment.name}` : kubectlPodsCmd(dnsNs, selector),
    );
  }
  // 3. the Service: missing, or without endpoints although CoreDNS runs
  if (!isNotVisible(evidence.facts.services) && service === undefined) {
    return broken('service', `no Service in ${dnsNs} has the pods\u2019 nameserver ${nameserver ?? '?'} as its ClusterIP: the kubelet\u2019s clusterDNS points nowhere`, owned('dns'), `kubectl -n ${dnsNs} get svc -o wide`);
  }
  if (service && readyEndpoints !== undefined && readyEndpoints.length === 0) {
    const ready = (wellKnown ?? []).filter((p) => p.ready);
    const next = `kubectl -n ${service.namespace} get endpointslices -l kubernetes.io/service-name=${service.name}`;
    if (selected !== undefined && selected.length === 0 && ready.length > 0 && service.selector !== undefined) {
      // CoreDNS runs and the Service misses it (a botched selector edit, a relabelled Deployment): no policy, node or
      // pod is at fault, whatever the lookups showed (refused by an enforcer, timed out elsewhere).
      return broken(
        'service',
        `Service ${service.namespace}/${service.name} has no endpoints ` +
          `(its selector ${formatLabels(service.selector)} matches no pod; ` +
          `CoreDNS pods with labels ${formatLabels(COREDNS_LABELS)} exist: ${ready.length} ready)`,
        owned('dns'),
        next,
      );
    }
    const why = service.selector === undefined ? ': it has no selector and no endpoints were added by hand' : '';
    const text = `Service ${service.namespace}/${service.name} has no ready endpoints${why}`;
    return broken('service', text, owned('dns'), next);
  }
  // 4. the policies: port 53 denied over UDP and/or TCP
  const block = policy.blocking;
  if (block && (!probed || lookupsFail || block.protocol === 'TCP')) {
    const names = block.policies.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'a policy';
    if (block.missing.length > 0) {
      // e.g. "namespace kube-system has no label name, but financial-ml/x selects it by namespaceSelector name=kube-system — fix: kubectl label ..."
      const [text, fix] = block.missing[0]!.split(' \u2014 fix: ');
      return broken('policy', `port 53 ${block.protocol === 'both' ? 'over UDP and TCP' : `over ${block.protocol}`} is denied: ${text}`, owned('namespace-labels'), fix ?? `kubectl get namespace ${dnsNs} --show-labels`);
    }
    const owner = block.policies[0] ? (({ owner, why }) => ({ owner, why }))(policyResponsibility(block.policies[0])) : owned('dns');
    const next = block.policies[0] ? `kubectl -n ${block.policies[0].namespace} describe networkpolicy ${block.policies[0].name}` : `kubectl -n ${evidence.source.namespace} get networkpolicy`;
    if (block.protocol === 'TCP') {
      const failed = tcpOwn && !answered(tcpOwn.outcome) ? ` (observed: ${describe(tcpOwn)})` : '';
      return broken('policy', `TCP 53 is blocked by ${names} (opens UDP 53 only): answers over 512 bytes and truncated (TC) fallbacks fail${failed}`, owner, next);
    }
    const side = block.direction === 'egress' ? `egress of ${evidence.source.namespace}` : `ingress of the CoreDNS pods`;
    // Without the destination namespace's labels, a near miss on a namespaceSelector is the engine's assumption.
    const near = policy.namespaceUnknown
      ? ` — unless ${dnsNs} carries a label a rule selects (its labels are not visible with these rights)`
      : block.nearMisses.length > 0 ? ` (closest rule: ${block.nearMisses[0]})` : '';
    return broken('policy', `port 53 ${block.protocol === 'both' ? 'over UDP and TCP' : 'over UDP'} to CoreDNS is denied by ${names} (${side})${near}`, owner, next);
  }
  // 5. the data plane: the policies admit DNS, the pods are ready, yet direct queries fail
  const directFailed = direct.filter((q) => !answered(q.outcome));
  if (directFailed.length > 0) {
    const from = evidence.source.node ? ` from ${evidence.source.node}` : '';
    const badNodes = [...new Set(directFailed.map((q) => q.podNode ?? '?'))].sort();
    const goodNodes = [...new Set(direct.filter((q) => answered(q.outcome)).map((q) => q.podNode ?? '?'))].filter((n) => !badNodes.includes(n)).sort();
    const seen = `queries to the CoreDNS pod(s) on ${badNodes.join(', ')} fail${from} (${directFailed.map((q) => `${q.protocol} ${q.server}: ${describeOutcome(q.outcome)}`).join(', ')})`;
    if (goodNodes.length > 0) {
      // Next: the same chain from the broken node itself, where its own CoreDNS pod fails too while the others answer.
      const next = badNodes[0] !== '?' && badNodes[0] !== evidence.source.node ? `netcheck dns ${evidence.source.namespace} --node ${badNodes[0]}` : `kubectl get pods -A -o wide --field-selector spec.nodeName=${badNodes[0]}`;
      return broken('direct', `${seen} while those on ${goodNodes.join(', ')} answer and the policies admit DNS: the data plane on ${badNodes.join(', ')} drops DNS`, owned('cni'), next);
    }
    const where = [...new Set([...(evidence.source.node ? [evidence.source.node] : []), ...badNodes])].join(' or ');
    return broken(
      'direct',
      `${seen} although the policies admit DNS and the pods are ready: the data plane${where ? ` on ${where}` : ''} drops DNS`,
      owned('cni'),
      badNodes[0] && badNodes[0] !== evidence.source.node && badNodes[0] !== '?' ? `netcheck dns ${evidence.source.namespace} --node ${badNodes[0]}` : `kubectl get pods -A -o wide --field-selector spec.nodeName=${evidence.source.node ?? badNodes[0]}`,
    );
  }
  // 6. straight to the pods works, through the nameserver does not: the Service path (kube-proxy, node-local cache)
  if (lookupsFail && direct.length > 0) {
    const cache = input.nodeLocal ? ` or the node-local cache ${nameserver}` : '';
    return broken('lookup', `every CoreDNS pod answers directly but lookups through ${nameserver ?? 'the nameserver'} fail (${ownCanary.filter((q) => !answered(q.outcome)).map(describe).join('; ')}): the Service path (kube-proxy${cache}) is broken`, owned('cni'), `kubectl -n ${dnsNs} get endpointslices${service ? ` -l kubernetes.io/service-name=${service.name}` : ''}`);
  }
  if (lookupsFail) {
    const hidden = [evidence.facts.pods, evidence.facts.services, evidence.facts.endpoints].some(isNotVisible);
    return {
      status: 'undecided',
      link: 'lookup',
      text: `lookups through ${nameserver ?? 'the nameserver'} fail (${ownCanary.filter((q) => !answered(q.outcome)).map(describe).join('; ')})${hidden ? ', and the CoreDNS side is not visible with these rights' : ', and no link before explains it'}`,
      ...owned('dns'),
      next: kubectlPodsCmd(dnsNs, selector),
    };
  }
  if (!probed) return { status: 'undecided', text: 'no lookup was made: the chain could not run its probe pod' };
  const nx = evidence.queries.filter((q) => q.via === 'resolv' && q.name !== CANARY_NAME && q.outcome.kind === 'dns-nxdomain');
  if (nx.length > 0) {
    const names = [...new Set(nx.map((q) => q.name))];
    return {
      status: 'healthy',
      text: `cluster DNS works (${CANARY_NAME} resolves over UDP and TCP); ${names.join(', ')} does not exist (NXDOMAIN: DNS answered)`,
      ...owned('workload'),
      next: `kubectl get svc -A | grep ${names[0]!.split('.')[0]}`,
    };
  }
  const notes = [udpOwn, tcpOwn].filter((q) => q !== undefined).length;
  return { status: 'healthy', text: `cluster DNS works: ${CANARY_NAME} resolves through ${nameserver ?? 'the nameserver'} (${notes} lookup(s))${direct.length > 0 ? ` and every CoreDNS pod answers directly` : ''}` };
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '(none)';
  const entries = Object.entries(labels);
  return entries.length === 0 ? '{}' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function sameLabels(a: Labels, b: Labels): boolean {
  return formatLabels(a) === formatLabels(b);
}

/** The run finding of a walked chain: its verdict, owner and next command, about the cells that sent it walking. */
export function dnsChainFinding(chain: DnsChain, cells: ReadonlyArray<Pick<CellVerdict, 'source' | 'target' | 'node'>>): RunFinding {
  return verdictFinding(chain.verdict, whereFrom([chain.source]), cells);
}

/** "serving, training on node-a, node-b": the sources (and nodes) chains started from. */
function whereFrom(sources: readonly DnsChainSource[]): string {
  const who = [...new Set(sources.flatMap((s) => (s.description ?? s.namespace).split(', ')))];
  const nodes = [...new Set(sources.flatMap((s) => (s.node !== undefined ? [s.node] : [])))];
  if (sources.length > 1) {
    who.sort();
    nodes.sort();
  }
  return `${who.join(', ')}${nodes.length > 0 ? ` on ${nodes.join(', ')}` : ''}`;
}

type CellRefs = ReadonlyArray<Pick<CellVerdict, 'source' | 'target' | 'node'>>;

function verdictFinding(v: DnsVerdict, where: string, cells: CellRefs): RunFinding {
  const head = v.status === 'broken' ? `DNS chain from ${where}: broken at ${v.link}` : v.status === 'healthy' ? `DNS chain from ${where}: no broken link` : `DNS chain from ${where}: undecided`;
  return {
    kind: 'dns-chain',
    text: `${head} — ${v.text}`,
    // Broken: the verdict's words name the cause, whichever sources' chains found it.
    ...(v.status === 'broken' ? { cause: v.text } : {}),
    cells: cells.map(cellRef),
    ...(v.owner ? { owner: v.owner } : {}),
    ...(v.next ? { next: v.next } : {}),
  };
}

/** Verdicts about the cluster's DNS itself (its Service, its pods): the same whichever pod the chain started from. */
const CLUSTER_WIDE_LINKS: ReadonlySet<LinkId> = new Set<LinkId>(['service', 'coredns']);

/**
 * The run findings of its walked chains: one per distinct verdict, so chains from several sources and nodes that
 * found the same broken link (kube-dns without endpoints, seen from every namespace on every node) are ONE finding
 * naming them all. When every chain found the same cluster-wide link broken, the failed DNS cells of sources no chain
 * was walked for (`unwalked`: beyond MAX_DNS_CHAINS) are that finding's too: the link breaks every lookup.
 */
export function dnsChainFindings(walked: ReadonlyArray<{ chain: DnsChain; cells: CellRefs }>, unwalked: CellRefs = []): RunFinding[] {
  const groups = new Map<string, typeof walked[number][]>();
  for (const w of walked) {
    const v = w.chain.verdict;
    const key = JSON.stringify([v.status, v.link, v.text, v.owner, v.next]);
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  const findings = [...groups.values()].map((group) =>
    verdictFinding(group[0]!.chain.verdict, whereFrom(group.map((g) => g.chain.source)), group.flatMap((g) => g.cells)),
  );
  const only = findings.length === 1 ? walked[0]?.chain.verdict : undefined;
  if (only?.status === 'broken' && only.link !== undefined && CLUSTER_WIDE_LINKS.has(only.link) && unwalked.length > 0) {
    findings[0] = { ...findings[0]!, cells: [...findings[0]!.cells, ...unwalked.map(cellRef)] };
  }
  return findings;
}

/**
 * A run's findings once its DNS chains are walked: the chains' findings first, and the generic 'dns-down' finding of
 * src/diagnose/diagnose-run.ts ("cluster DNS looks down …", which the chain now explains link by link) dropped.
 */
export function withDnsChainFindings(findings: readonly RunFinding[], chainFindings: readonly RunFinding[]): RunFinding[] {
  if (chainFindings.length === 0) return [...findings];
  return [...chainFindings, ...findings.filter((f) => f.kind !== 'dns-chain' && f.kind !== 'dns-down')];
}
