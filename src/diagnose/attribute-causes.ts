/**
 * Post-judgement passes that put a failed cell on its real cause when the cell alone cannot see it (like
 * attributeNodeFaults): a name that did not resolve because its Service does not exist (NXDOMAIN means DNS
 * answered), and failures that all pass through one node whose data plane drops traffic while other nodes work
 * (a broken node hosting CoreDNS makes every lookup fail — from every node — without DNS being "down"). Pure.
 */
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, Classification } from '../model/verdict.js';
import { formatSuggestion } from '../scenario/nearest-name.js';
import { nothingAnswered } from './attribute-nodes.js';
import type { RunContext, TargetKind } from './run-context.js';

/** CoreDNS's pods, by the label every distribution keeps for compatibility. */
export const DNS_NAMESPACE = 'kube-system';
const DNS_POD_LABEL = ['k8s-app', 'kube-dns'] as const;

/** Why a Service named by a target cannot resolve, from the inventory; undefined when it exists or the inventory cannot tell. */
export function missingService(service: { namespace: string; name: string }, context: RunContext): string | undefined {
  const { snapshot } = context;
  const namespaces = snapshot.namespaces.map((n) => n.name);
  if (!namespaces.includes(service.namespace)) {
    if (context.namespacesListed !== true) return undefined;
    return `namespace ${service.namespace} does not exist${formatSuggestion(service.namespace, namespaces)}`;
  }
  if (!servicesReadable(service.namespace, context)) return undefined;
  if (snapshot.services.some((s) => s.namespace === service.namespace && s.name === service.name)) return undefined;
  const here = snapshot.services.filter((s) => s.namespace === service.namespace).map((s) => s.name);
  return `service ${service.namespace}/${service.name} does not exist${formatSuggestion(service.name, here)}`;
}

function servicesReadable(namespace: string, context: RunContext): boolean {
  return !(context.snapshot.unknown ?? []).some((u) => /^services\b/.test(u) && (!/^services in namespace/.test(u) || new RegExp(`[ ,]${escape(namespace)}(,| \\()`).test(u)));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Cells whose name lookup got NXDOMAIN for a Service (or its namespace) that the inventory shows does not exist:
 * the reason says so and the DNS findings are dropped (DNS answered). The classification stays `dns` (the name
 * did not resolve), so the table still shows N; the run-level "DNS looks down" finding no longer counts them.
 */
export function attributeMissingServices(cells: readonly CellVerdict[], context: RunContext): CellVerdict[] {
  return cells.map((c) => {
    // NXDOMAIN; or SERVFAIL, when the search list ends at a server outside the cluster that cannot be reached.
    if (c.pass || !answeredLookup(c)) return c;
    const service = context.targets[c.target]?.service;
    const missing = service ? missingService(service, context) : undefined;
    if (missing === undefined) return c;
    const { findings: _dnsFindings, ...rest } = c;
    return {
      ...rest,
      classification: 'dns',
      reason: `${missing}: its name cannot resolve (DNS answered ${c.outcome.kind === 'dns-nxdomain' ? 'NXDOMAIN' : 'SERVFAIL'}; DNS itself works)`,
      findings: [`${missing} — fix the scenario's target, or deploy the Service`],
    };
  });
}

function answeredLookup(c: CellVerdict): boolean {
  return c.outcome.kind === 'dns-nxdomain' || c.outcome.kind === 'dns-servfail';
}

/** True when a cell's reason was set by attributeMissingServices. */
export function isMissingServiceCell(c: CellVerdict): boolean {
  return answeredLookup(c) && /^(service \S+ does not exist|namespace \S+ does not exist)/.test(c.reason);
}

/** The nodes one cell's traffic went through: the probe's node, the destination pods' nodes, CoreDNS's for a lookup. */
export interface CellNodes {
  source?: string;
  destinations: string[];
  /** The nodes of the CoreDNS pods the lookup depended on (a dns target, or a failed lookup before connecting). */
  dns: string[];
}

export function nodesOfCell(c: CellVerdict, context: RunContext): CellNodes {
  const facts = context.targets[c.target];
  const dnsNodes = unique(dnsPods(context).map((p) => p.node));
  // A lookup (a dns target, or a name that did not resolve) never reached the destination's pods.
  const lookup = facts?.kind === 'dns' || isLookupFailure(c);
  let destinations: string[] = [];
  if (lookup) destinations = [];
  else if (c.targetNode !== undefined) destinations = [c.targetNode];
  else if (facts?.node !== undefined) destinations = [facts.node];
  else if (facts?.service) destinations = endpointNodes(facts.service, context);
  return { ...(c.node !== undefined ? { source: c.node } : {}), destinations, dns: lookup ? dnsNodes : [] };
}

function isLookupFailure(c: CellVerdict): boolean {
  return c.outcome.kind.startsWith('dns-');
}

function dnsPods(context: RunContext) {
  return context.snapshot.pods.filter((p) => p.namespace === DNS_NAMESPACE && p.labels[DNS_POD_LABEL[0]] === DNS_POD_LABEL[1]);
}

/** Nodes of the pods a Service's selector matches (the snapshot's pods; its endpoints where the selector is known). */
function endpointNodes(service: { namespace: string; name: string }, context: RunContext): string[] {
  const svc = context.snapshot.services.find((s) => s.namespace === service.namespace && s.name === service.name);
  if (!svc?.selector || Object.keys(svc.selector).length === 0) return [];
  const selector = svc.selector;
  return unique(
    context.snapshot.pods
      .filter((p) => p.namespace === svc.namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v))
      .map((p) => p.node),
  );
}

function unique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))].sort();
}

function allNodesOf(n: CellNodes): string[] {
  return unique([n.source, ...n.destinations, ...n.dns]);
}

/**
 * Did the check get an answer from the far end (proving every node it went through forwards traffic)? A lookup
 * rejected at the DNS port (`dns-rejected`) is not one: no DNS server answered, the enforcer or kube-proxy did.
 */
function answered(c: CellVerdict): boolean {
  return isAnswer(c.outcome);
}

function isAnswer(outcome: CellVerdict['outcome']): boolean {
  switch (outcome.kind) {
    case 'connected':
    case 'http':
    case 'resolved':
    case 'dns-nxdomain':
    case 'dns-servfail':
    case 'dns-refused':
      return true;
    default:
      return false;
  }
}

/**
 * The one other node all of `node`'s failing checks cross to, when that is all the run can say: no check that
 * stayed on `node` got an answer, and none failed there. Such failures fit a broken path between the two nodes (an
 * overlay tunnel dropping packets) as well as a broken `node`; only an answered check within `node` would tell
 * them apart. During a migration a drain moves every workload off the node, so this is the common case.
 */
export function onlyPeerOf(node: string, failing: readonly CellVerdict[], cells: readonly CellVerdict[], context: RunContext): string | undefined {
  const onNodeOnly = (c: CellVerdict): boolean => {
    const nodes = nodesOfCell(c, context);
    return nodes.source === node && allNodesOf(nodes).every((n) => n === node);
  };
  if (cells.some((c) => answered(c) && onNodeOnly(c)) || failing.some(onNodeOnly)) return undefined;
  const peers = new Set(failing.flatMap((c) => allNodesOf(nodesOfCell(c, context)).filter((n) => n !== node)));
  return peers.size === 1 ? [...peers][0] : undefined;
}

/** Verdicts a broken node explains better; policy gaps, known gaps and probe faults keep their own reason. */
const reattributable = new Set<Classification>(['dns', 'data-plane', 'unknown']);

export interface BrokenNode {
  node: string;
  /** Nodes shown to forward traffic (a check through them got an answer). */
  working: string[];
  /** It runs CoreDNS pods, and every CoreDNS pod runs on it. */
  hostsAllDns: boolean;
  /** The failing cells that went through it. */
  cells: CellVerdict[];
}

/**
 * A node is broken when checks through it get no answer — at least one of them a connection, not only a lookup
 * (a lookup alone cannot tell a broken node from CoreDNS down) — while no check through it got an answer, and a
 * check through some other node did. Undefined when no single node fits.
 */
export function findBrokenNode(cells: readonly CellVerdict[], context: RunContext): BrokenNode | undefined {
  const working = new Set<string>();
  // Nodes a name lookup was answered from (the probe's node: the lookup left it and came back).
  const resolvedFrom = new Set<string>();
  for (const c of cells) {
    if (answered(c)) {
      const nodes = nodesOfCell(c, context);
      for (const n of allNodesOf(nodes)) working.add(n);
      if (nodes.dns.length > 0 && nodes.source !== undefined) resolvedFrom.add(nodes.source);
    } else if (c.clusterIPRetry !== undefined && isAnswer(c.clusterIPRetry.outcome)) {
      // The name did not resolve, but the agent's attempt at the ClusterIP got through: its node forwards traffic,
      // and so do the endpoints' nodes. A lookup that failed from here is not this node's fault.
      const service = context.targets[c.target]?.service;
      for (const n of unique([c.node, ...(service ? endpointNodes(service, context) : [])])) working.add(n);
    }
  }
  // Known gaps and policy gaps time out as the policies or the scenario say: no evidence against a node.
  // Nor does a lookup the policies deny.
  const silent = cells.filter((c) => !c.pass && nothingAnswered(c.outcome) && reattributable.has(c.classification) && !dnsDeniedByPolicy(c, context.targets[c.target]?.kind));
  const candidates = new Map<string, { cells: CellVerdict[]; connection: boolean; lookups: boolean }>();
  for (const c of silent) {
    const nodes = nodesOfCell(c, context);
    for (const n of allNodesOf(nodes)) {
      if (working.has(n)) continue;
      const entry = candidates.get(n) ?? { cells: [], connection: false, lookups: false };
      entry.cells.push(c);
      // A connection (not a lookup) from or to a pod on this node got no answer.
      if (!isLookupFailure(c) && (nodes.source === n || nodes.destinations.includes(n))) entry.connection = true;
      // A lookup from a probe on this node got no answer, while lookups from other nodes were answered.
      if (nodes.dns.length > 0 && nodes.source === n && [...resolvedFrom].some((r) => r !== n)) entry.lookups = true;
      candidates.set(n, entry);
    }
  }
  // CoreDNS Ready by the kubelet (kube-dns has ready endpoints), every pod of it on one node, and lookups from a node
  // shown to work get no answer: that node's data plane, not CoreDNS.
  const coreDnsNodes = unique(dnsPods(context).map((p) => p.node));
  const dnsService = context.snapshot.services.find((sv) => sv.namespace === DNS_NAMESPACE && sv.name === 'kube-dns');
  const dnsHost = coreDnsNodes.length === 1 && (dnsService?.readyEndpoints ?? 0) > 0 ? coreDnsNodes[0] : undefined;
  const unreachableDns =
    dnsHost !== undefined &&
    silent.some((c) => {
      const nodes = nodesOfCell(c, context);
      return nodes.dns.length > 0 && nodes.source !== undefined && nodes.source !== dnsHost && working.has(nodes.source);
    });
  const fitting = [...candidates.entries()].filter(([n, e]) => e.connection || e.lookups || (unreachableDns && n === dnsHost));
  if (fitting.length !== 1 || working.size === 0) return undefined;
  const [node, entry] = fitting[0] as [string, { cells: CellVerdict[] }];
  const coreDns = dnsPods(context);
  return {
    node,
    working: [...working].sort(),
    hostsAllDns: coreDns.length > 0 && coreDns.every((p) => p.node === node),
    cells: entry.cells,
  };
}

/**
 * The cells a broken node explains, reclassified `data-plane` with the node named: a lookup that timed out from a
 * healthy node because CoreDNS runs only on the broken one, or any silent failure from or to a pod on it.
 * Lookups that time out only from the broken node, while sources elsewhere resolve through the same CoreDNS,
 * are the node's too — not DNS.
 */
export function attributeBrokenNode(cells: readonly CellVerdict[], context: RunContext): { cells: CellVerdict[]; broken?: BrokenNode } {
  const broken = findBrokenNode(cells, context);
  if (!broken) return { cells: [...cells] };
  // Cells a --per-node comparison already put on this node keep that reason (it names the node that passed).
  const affected = new Set(broken.cells.filter((c) => !(c.classification === 'data-plane' && c.reason.startsWith(`fails from node ${broken.node} `))));
  const out = cells.map((c) => {
    if (!affected.has(c)) return c;
    const nodes = nodesOfCell(c, context);
    const seen = describeOutcome(c.outcome);
    let how: string;
    if (nodes.source === broken.node) how = `its probe ran on node ${broken.node}`;
    else if (nodes.destinations.includes(broken.node)) how = `its destination runs on node ${broken.node}`;
    else how = `CoreDNS runs only on node ${broken.node}, so name lookups from every node go through it`;
    if (nodes.source === broken.node && nodes.dns.length > 0 && !nodes.dns.includes(broken.node)) how += ' (lookups from other nodes resolve through the same CoreDNS)';
    const { findings: _disproved, ...rest } = c;
    return {
      ...rest,
      classification: 'data-plane' as const,
      reason: `${seen}: ${how}, whose data plane drops traffic (checks through ${broken.working.join(', ')} work): not DNS, not the policies`,
    };
  });
  const explained = new Set(broken.cells);
  return { cells: out, broken: { ...broken, cells: out.filter((_, i) => explained.has(cells[i] as CellVerdict)) } };
}

/** A lookup the policies deny: a dns target judged against a deny, or a name whose own lookup the cell found denied. */
export function dnsDeniedByPolicy(c: CellVerdict, kind: TargetKind | undefined): boolean {
  if (c.outcome.kind !== 'dns-timeout') return false;
  if (kind === 'dns') return c.policy === 'deny' && c.expect === 'allow';
  // src/run/judge-results.ts puts this first when the source's own DNS traffic is denied.
  return c.classification === 'dns' && (c.findings ?? []).some((f) => f.startsWith("policy denies this source's DNS lookups"));
}
