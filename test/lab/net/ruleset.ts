/**
 * The fabric namespace's whole iptables ruleset (filter + nat), rendered as `iptables-restore` input.
 * Pure: the data plane feeds it the desired state and loads the text atomically, so every sync is a full,
 * idempotent replacement (the fabric namespace belongs to the lab alone, nothing else writes rules there).
 *
 * Ordering follows a Calico-like node with kube-proxy in front of it:
 *   nat PREROUTING (and OUTPUT, for the fabric's own readiness queries): Service ClusterIP / LoadBalancer IP
 *   DNAT (so policy sees the endpoint pod and targetPort),
 *   filter FORWARD: faults, conntrack, "no endpoints" REJECT, outside-host guard, per-pod egress then ingress
 *   chains ending in DROP (denied TCP times out, as with Calico). Pods on a node named in the
 *   cniIgnoresPoliciesOnNodes fault get no chains (a Flannel node mid-migration polices nothing of its own).
 */
import type {
  ClusterSnapshot,
  IPBlock,
  Labels,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  Protocol,
} from '../../../src/policy/types.js';
import { matchesSelector } from '../../../src/policy/selectors.js';
import type { Faults, ServiceEndpoints } from '../types.js';

/** Where the fabric's fixed plumbing lives; the data plane and the ruleset must agree on these names. */
export const FABRIC = {
  /** Pods' default gateway (proxy-ARPed by the fabric, as Calico's 169.254.1.1) and the hairpin SNAT source. */
  gatewayIP: '169.254.1.1',
  /** Device the fabric routes Service VIPs to, so VIP packets without DNAT reach FORWARD (REJECT/DROP). */
  vipDevice: 'svc0',
  vipPeerDevice: 'svc1',
  /** Fabric side of the link to the outside host. */
  outsideDevice: 'out0',
  outsideFabricIP: '172.31.255.1',
  outsideHostIP: '172.31.255.2',
  outsidePrefix: 30,
  /** Default Service CIDR routed to the VIP device (per-VIP /32 routes cover anything else). */
  serviceCIDR: '10.96.0.0/12',
} as const;

const MARK_EGRESS_OK = '0x10000';
const MARK_INGRESS_OK = '0x20000';
const MARK_POLICY_MASK = '0x30000';
/** Set on a Service connection whose endpoint is its own client (hairpin), so POSTROUTING SNATs it. */
const MARK_HAIRPIN = '0x4000';

export interface RulesetInput {
  snapshot: ClusterSnapshot;
  services: ServiceEndpoints[];
  faults: Faults;
  /** Pod CIDR per node name. */
  nodeCIDRs: Record<string, string>;
  /** IPs of the pods running cluster DNS (the dnsDropped fault drops port 53 toward them). */
  dnsPodIPs: string[];
}

export function renderRuleset(input: RulesetInput): string {
  return [...renderFilterTable(input), ...renderNatTable(input.services)].join('\n') + '\n';
}

function renderFilterTable(input: RulesetInput): string[] {
  const chains: string[] = ['NCL-FAULTS', 'NCL-NOEP'];
  const rules: string[] = [];

  for (const line of renderFaultRules(input)) rules.push(`-A NCL-FAULTS ${line}`);
  for (const line of renderNoEndpointRules(input.services)) rules.push(`-A NCL-NOEP ${line}`);
  // A VIP packet that no Service port claimed: nothing answers in a cluster either.
  rules.push('-A NCL-NOEP -j DROP');

  if (!input.faults.cniIgnoresPolicies) {
    const policy = renderPolicyChains(input.snapshot, new Set(input.faults.cniIgnoresPoliciesOnNodes ?? []));
    chains.push(...policy.chains);
    rules.push(...policy.rules);
  }

  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`),
    // Faults first: they must also cut connections that were established before the fault.
    '-A FORWARD -j NCL-FAULTS',
    '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    `-A FORWARD -o ${FABRIC.vipDevice} -j NCL-NOEP`,
    // The outside host reaches LoadBalancer IPs only: anything it sends that was not DNATed is dropped.
    `-A FORWARD -i ${FABRIC.outsideDevice} -m conntrack ! --ctstate DNAT -j DROP`,
    ...(input.faults.cniIgnoresPolicies ? [] : ['-A FORWARD -j NCL-POLICY']),
    '-A FORWARD -j ACCEPT',
    ...rules,
    'COMMIT',
  ];
}

function renderFaultRules(input: RulesetInput): string[] {
  const lines: string[] = [];
  const broken = input.faults.brokenNode;
  if (broken !== undefined) {
    const cidr = input.nodeCIDRs[broken];
    if (cidr !== undefined) lines.push(`-s ${cidr} -j DROP`, `-d ${cidr} -j DROP`);
  }
  if (input.faults.dnsDropped) {
    for (const ip of input.dnsPodIPs) {
      lines.push(`-d ${ip}/32 -p udp -m udp --dport 53 -j DROP`, `-d ${ip}/32 -p tcp -m tcp --dport 53 -j DROP`);
    }
  }
  return lines;
}

/** kube-proxy rejects traffic to a Service port without endpoints (icmp-port-unreachable: "connection refused"). */
function renderNoEndpointRules(services: ServiceEndpoints[]): string[] {
  const lines: string[] = [];
  for (const svc of sortServices(services)) {
    if (svc.headless) continue;
    for (const port of svc.ports) {
      if (port.endpoints.length > 0) continue;
      for (const vip of serviceVIPs(svc)) {
        lines.push(`-d ${vip}/32 ${protocolMatch(port.protocol)} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`);
      }
    }
  }
  return lines;
}

function renderNatTable(services: ServiceEndpoints[]): string[] {
  const chains: string[] = ['NCL-SERVICES'];
  const rules: string[] = [];
  let k = 0;
  for (const svc of sortServices(services)) {
    if (svc.headless) continue;
    const vips = serviceVIPs(svc);
    for (const port of svc.ports) {
      if (port.endpoints.length === 0 || vips.length === 0) continue;
      const svcChain = `NCL-S${k}`;
      k++;
      chains.push(svcChain);
      const proto = protocolMatch(port.protocol);
      for (const vip of vips) {
        rules.push(`-A NCL-SERVICES -d ${vip}/32 ${proto} --dport ${port.port} -m comment --comment "${svc.namespace}/${svc.name}:${port.port}" -j ${svcChain}`);
      }
      port.endpoints.forEach((ep, j) => {
        const epChain = `${svcChain}E${j}`;
        chains.push(epChain);
        const remaining = port.endpoints.length - j;
        // kube-proxy's equal split: endpoint j is chosen with probability 1/(remaining endpoints).
        const pick = remaining > 1 ? `-m statistic --mode random --probability ${(1 / remaining).toFixed(11)} ` : '';
        rules.push(`-A ${svcChain} ${pick}-j ${epChain}`);
        rules.push(`-A ${epChain} -s ${ep.ip}/32 -j MARK --set-xmark ${MARK_HAIRPIN}/${MARK_HAIRPIN}`);
        rules.push(`-A ${epChain} ${proto} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
      });
    }
  }
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`),
    '-A PREROUTING -j NCL-SERVICES',
    // As kube-proxy does on a node: the fabric's own queries (the lab's DNS readiness check) reach Services too.
    '-A OUTPUT -j NCL-SERVICES',
    `-A POSTROUTING -m mark --mark ${MARK_HAIRPIN}/${MARK_HAIRPIN} -j SNAT --to-source ${FABRIC.gatewayIP}`,
    ...rules,
    'COMMIT',
  ];
}

/** ClusterIP and LoadBalancer IPs of a Service that the (IPv4) fabric can serve. */
export function serviceVIPs(svc: ServiceEndpoints): string[] {
  const ips = [...(svc.clusterIP !== undefined && svc.clusterIP !== 'None' ? [svc.clusterIP] : []), ...svc.loadBalancerIPs];
  return [...new Set(ips.filter(isIPv4))];
}

function sortServices(services: ServiceEndpoints[]): ServiceEndpoints[] {
  return [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

function protocolMatch(protocol: Protocol): string {
  const p = protocol.toLowerCase();
  return `-p ${p} -m ${p}`;
}

// ---------------------------------------------------------------------------------------------------------
// NetworkPolicy → iptables. Each isolated pod gets a chain per isolated direction; a rule that admits the
// flow sets a mark bit, and the chain drops whatever leaves it unmarked. A flow needs both the source's
// egress and the destination's ingress (networking.k8s.io/v1: "both must allow").

interface PolicyChains {
  chains: string[];
  rules: string[];
}

type Direction = 'ingress' | 'egress';

/** A peer, resolved: specific pods, or an address block (matching pods and non-pods by IP, as Calico does). */
type ResolvedPeer =
  | { kind: 'all' }
  | { kind: 'pods'; pods: PodInfo[] }
  | { kind: 'block'; cidr: string; except: string[] };

/** A port entry, resolved for one destination pod (named ports), or for any destination. */
type PortMatch = { kind: 'any' } | { kind: 'protocol'; protocol: Protocol; from?: number; to?: number };

/** Pods on `unpolicedNodes` get no chains (the cniIgnoresPoliciesOnNodes fault); they still count as peers. */
function renderPolicyChains(snapshot: ClusterSnapshot, unpolicedNodes: ReadonlySet<string>): PolicyChains {
  const out: PolicyChains = { chains: ['NCL-POLICY'], rules: [] };
  const pods = snapshot.pods
    .filter((p): p is PodInfo & { ip: string } => p.ip !== undefined && isIPv4(p.ip))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const nsLabels = new Map(snapshot.namespaces.map((n) => [n.name, n.labels]));
  const policies = [...snapshot.policies].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  let blockChains = 0;
  // One chain per policy rule, shared by every pod the policy selects, so a namespace-wide policy costs
  // O(pods + peers) rules rather than O(pods × peers). Ingress named ports resolve against the selected pod,
  // so pods that resolve them differently get different chains.
  const ruleChains = new Map<string, string>();

  const ruleChainFor = (pol: NetworkPolicy, direction: Direction, ruleIndex: number, self: PodInfo): string => {
    const rule = direction === 'egress' ? { peers: pol.egress?.[ruleIndex]?.to, ports: pol.egress?.[ruleIndex]?.ports } : { peers: pol.ingress?.[ruleIndex]?.from, ports: pol.ingress?.[ruleIndex]?.ports };
    const ports = rule.ports !== undefined && rule.ports.length > 0 ? rule.ports : undefined;
    const portsKey = direction === 'ingress' ? JSON.stringify(resolvePorts(ports, self)) : '';
    const key = `${pol.namespace}/${pol.name}|${direction}|${ruleIndex}|${portsKey}`;
    const existing = ruleChains.get(key);
    if (existing !== undefined) return existing;
    const chain = `NCL-R${ruleChains.size}`;
    ruleChains.set(key, chain);
    out.chains.push(chain);
    const bit = direction === 'egress' ? MARK_EGRESS_OK : MARK_INGRESS_OK;
    const accept = `-j MARK --set-xmark ${bit}/${bit}`;
    const comment = `-m comment --comment "${pol.namespace}/${pol.name} ${direction} rule ${ruleIndex}"`;
    const peers = rule.peers !== undefined && rule.peers.length > 0 ? rule.peers.map((p) => resolvePeer(p, pol, pods, nsLabels)) : [{ kind: 'all' } as const];
    for (const peer of peers) {
      const lines = renderPeerRules({ direction, self, peer, ports, pods });
      for (const l of lines.direct) out.rules.push(`-A ${chain} ${l} ${comment} ${accept}`.replace(/ {2,}/g, ' '));
      for (const b of lines.blocks) {
        const blockChain = `NCL-B${blockChains++}`;
        out.chains.push(blockChain);
        out.rules.push(`-A ${chain} ${addressFlag(direction)} ${b.cidr} -j ${blockChain}`);
        for (const ex of b.except) out.rules.push(`-A ${blockChain} ${addressFlag(direction)} ${ex} -j RETURN`);
        for (const l of b.lines) out.rules.push(`-A ${blockChain} ${l} ${comment} ${accept}`.replace(/ {2,}/g, ' '));
      }
    }
    return chain;
  };

  out.rules.push(`-A NCL-POLICY -j MARK --set-xmark 0x0/${MARK_POLICY_MASK}`);
  pods.forEach((pod, i) => {
    if (pod.node !== undefined && unpolicedNodes.has(pod.node)) return;
    for (const direction of ['egress', 'ingress'] as const) {
      const selecting = policies.filter((pol) => pol.namespace === pod.namespace && isolates(pol, direction) && matchesSelector(pol.podSelector, pod.labels));
      if (selecting.length === 0) continue;
      const chain = `NCL-${direction === 'egress' ? 'E' : 'I'}${i}`;
      const bit = direction === 'egress' ? MARK_EGRESS_OK : MARK_INGRESS_OK;
      out.chains.push(chain);
      out.rules.push(`-A NCL-POLICY ${direction === 'egress' ? '-s' : '-d'} ${pod.ip}/32 -j ${chain}`);
      for (const pol of selecting) {
        const count = (direction === 'egress' ? pol.egress : pol.ingress)?.length ?? 0;
        for (let r = 0; r < count; r++) out.rules.push(`-A ${chain} -j ${ruleChainFor(pol, direction, r, pod)}`);
      }
      out.rules.push(`-A ${chain} -m mark --mark ${bit}/${bit} -j RETURN`);
      out.rules.push(`-A ${chain} -j DROP`);
    }
  });
  return out;
}

/** The peer address flag of a rule in this direction: ingress admits sources, egress admits destinations. */
function addressFlag(direction: Direction): string {
  return direction === 'egress' ? '-d' : '-s';
}

interface PeerRules {
  /** Match expressions (without action) for the pod's direction chain. */
  direct: string[];
  /** ipBlocks with `except`: a sub-chain that RETURNs for excepted ranges first. */
  blocks: Array<{ cidr: string; except: string[]; lines: string[] }>;
}

function renderPeerRules(args: {
  direction: Direction;
  self: PodInfo;
  peer: ResolvedPeer;
  ports: NetworkPolicyPort[] | undefined;
  pods: PodInfo[];
}): PeerRules {
  const { direction, self, peer, ports, pods } = args;
  const flag = addressFlag(direction);
  const out: PeerRules = { direct: [], blocks: [] };
  const named = ports?.some((p) => typeof p.port === 'string') ?? false;

  // Named ports resolve against the destination pod (networking.k8s.io/v1). On ingress that is always `self`;
  // on egress it is each peer pod, so a rule with named ports is expanded per destination pod.
  if (direction === 'ingress' || !named) {
    const matches = resolvePorts(ports, direction === 'ingress' ? self : undefined);
    switch (peer.kind) {
      case 'all':
        for (const m of matches) out.direct.push(portExpression(m));
        break;
      case 'pods':
        for (const p of peer.pods) for (const m of matches) out.direct.push(`${flag} ${p.ip}/32 ${portExpression(m)}`);
        break;
      case 'block':
        if (peer.except.length === 0) {
          for (const m of matches) out.direct.push(`${flag} ${peer.cidr} ${portExpression(m)}`);
        } else {
          out.blocks.push({ cidr: peer.cidr, except: peer.except, lines: matches.map(portExpression) });
        }
        break;
    }
    return trimPeerRules(out);
  }

  const destinations: PodInfo[] = (() => {
    switch (peer.kind) {
      case 'all':
        return pods;
      case 'pods':
        return peer.pods;
      case 'block':
        return pods.filter((p) => p.ip !== undefined && cidrContains(peer.cidr, p.ip) && !peer.except.some((e) => cidrContains(e, p.ip!)));
    }
  })();
  for (const dest of destinations) {
    for (const m of resolvePorts(ports, dest)) out.direct.push(`${flag} ${dest.ip}/32 ${portExpression(m)}`);
  }
  return trimPeerRules(out);
}

function trimPeerRules(rules: PeerRules): PeerRules {
  return {
    direct: rules.direct.map((l) => l.replace(/ {2,}/g, ' ').trim()),
    blocks: rules.blocks.map((b) => ({ ...b, lines: b.lines.map((l) => l.trim()) })),
  };
}

/** Port entries → matches; a named port that the destination lacks matches nothing (empty result). */
function resolvePorts(ports: NetworkPolicyPort[] | undefined, destination: PodInfo | undefined): PortMatch[] {
  if (ports === undefined) return [{ kind: 'any' }];
  const matches: PortMatch[] = [];
  for (const p of ports) {
    const protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) {
      matches.push({ kind: 'protocol', protocol });
    } else if (typeof p.port === 'number' || /^\d+$/.test(p.port)) {
      const from = Number(p.port);
      const to = p.endPort ?? from;
      // The API server rejects these; a lab fed one anyway must not fail the whole ruleset over it.
      if (from < 1 || to > 65535 || to < from) continue;
      matches.push({ kind: 'protocol', protocol, from, to });
    } else {
      const cp = destination?.ports.find((c) => c.name === p.port && c.protocol === protocol);
      if (cp !== undefined) matches.push({ kind: 'protocol', protocol, from: cp.containerPort });
    }
  }
  return matches;
}

function portExpression(m: PortMatch): string {
  switch (m.kind) {
    case 'any':
      return '';
    case 'protocol': {
      if (m.from === undefined) return `-p ${m.protocol.toLowerCase()}`;
      const range = m.to !== undefined && m.to !== m.from ? `${m.from}:${m.to}` : `${m.from}`;
      return `${protocolMatch(m.protocol)} --dport ${range}`;
    }
  }
}

function resolvePeer(peer: NetworkPolicyPeer, pol: NetworkPolicy, pods: PodInfo[], nsLabels: Map<string, Labels>): ResolvedPeer {
  if (peer.ipBlock !== undefined) return resolveBlock(peer.ipBlock);
  const labelsOfNamespace = (ns: string): Labels => nsLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
  const selected = pods.filter((p) => {
    // podSelector alone: pods of the policy's namespace; namespaceSelector present: pods of matching namespaces.
    const nsOK = peer.namespaceSelector === undefined ? p.namespace === pol.namespace : matchesSelector(peer.namespaceSelector, labelsOfNamespace(p.namespace));
    const podOK = peer.podSelector === undefined || matchesSelector(peer.podSelector, p.labels);
    return nsOK && podOK;
  });
  return { kind: 'pods', pods: selected };
}

function resolveBlock(block: IPBlock): ResolvedPeer {
  // The fabric is IPv4 only: an IPv6 (or malformed) block can match no packet here, as the engine says.
  const cidr = normalizeCIDR(block.cidr);
  if (cidr === undefined) return { kind: 'pods', pods: [] };
  const except = (block.except ?? []).map(normalizeCIDR).filter((e): e is string => e !== undefined);
  return { kind: 'block', cidr, except };
}

/** Kubernetes: policyTypes defaults to Ingress, plus Egress when the policy has egress rules. */
function isolates(pol: NetworkPolicy, direction: Direction): boolean {
  if (pol.policyTypes !== undefined && pol.policyTypes.length > 0) return pol.policyTypes.includes(direction === 'egress' ? 'Egress' : 'Ingress');
  return direction === 'ingress' || (pol.egress !== undefined && pol.egress.length > 0);
}

export function isIPv4(ip: string): boolean {
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** "10.0.0.5/8" → "10.0.0.0/8" (iptables wants the network address); undefined unless a valid IPv4 CIDR. */
function normalizeCIDR(cidr: string): string | undefined {
  const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  if (m === null || !isIPv4(m[1]!)) return undefined;
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  if (bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const n = (ipToNumber(m[1]!) & mask) >>> 0;
  return `${[24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.')}/${bits}`;
}

function cidrContains(cidr: string, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const [addr, len] = cidr.split('/');
  const bits = len === undefined ? 32 : Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipToNumber(addr ?? '') & mask) >>> 0) === ((ipToNumber(ip) & mask) >>> 0);
}
