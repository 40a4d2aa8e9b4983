/**
 * Run-level findings: patterns across cells that no single cell shows — a probe image that cannot be pulled, a
 * Service that does not exist, one node whose data plane is broken, DNS blocked by policy or down, a CNI that
 * enforces nothing, the same policy gap in many cells, stale known gaps. Every finding says who fixes it
 * (src/diagnose/ownership.ts) and, where there is one, the command to run next. Pure.
 */
import { isOpen } from '../model/outcome.js';
import type { CellVerdict, RunFinding } from '../model/verdict.js';
import { attributeBrokenNode, attributeMissingServices, dnsDeniedByPolicy as deniedLookup, findBrokenNode, isMissingServiceCell, missingService, onlyPeerOf } from './attribute-causes.js';
import { findBrokenNodePairs, nothingAnswered, pairKey } from './attribute-nodes.js';
import { count, finding } from './finding.js';
import { findImagePullFailures, shortenImagePullReasons } from './image-pull.js';
import { findPolicyGapGroups } from './policy-gaps.js';
import type { RunContext } from './run-context.js';

/** The target kind per target name, so DNS-dependent cells can be counted. */
export type TargetKinds = Readonly<Record<string, 'dns' | 'service' | 'listener' | 'address'>>;

/**
 * Each finding names the cells it is about, so a report can show it beside them (GitLab shows only per-test output).
 * Without `context` (no inventory), only what the cells alone show is found.
 */
export function diagnoseRun(cells: readonly CellVerdict[], targetKinds: TargetKinds, context?: RunContext): RunFinding[] {
  const unenforced = findUnenforcedPolicies(cells);
  const brokenPairs = findBrokenNodePairs(cells);
  const inBrokenPair = new Set(brokenPairs.flatMap((p) => p.cells));
  const brokenNodes = findBrokenNodes(cells.filter((c) => !inBrokenPair.has(c)), unenforced.nodes, context);
  const dnsBlocked = context ? findDnsBlockedByPolicy(cells, targetKinds, context) : { findings: [], cells: new Set<CellVerdict>() };
  return [
    ...(context ? findImagePullFailures(cells, context) : []),
    ...(context ? findMissingServices(cells, context) : []),
    ...brokenPairs.map(describeBrokenPair),
    ...brokenNodes,
    ...dnsBlocked.findings,
    ...findDnsDown(cells.filter((c) => !dnsBlocked.cells.has(c)), targetKinds),
    ...unenforced.findings,
    ...(context ? findPolicyGapGroups(cells.filter((c) => !dnsBlocked.cells.has(c)), context) : []),
    ...findStaleKnownGaps(cells, context),
  ];
}

/**
 * The whole post-judgement diagnosis of a run: cells put on their real cause (a Service that does not exist, a
 * broken node), the run's findings read off them, then each image-pull cell's reason cut short (the finding
 * quotes the registry's error once).
 */
export function diagnoseCells(judged: readonly CellVerdict[], targetKinds: TargetKinds, context: RunContext): { cells: CellVerdict[]; findings: RunFinding[] } {
  const { cells } = attributeBrokenNode(attributeMissingServices(judged, context), context);
  const findings = diagnoseRun(cells, targetKinds, context);
  return { cells: shortenImagePullReasons(cells), findings };
}

/** One finding per Service (or namespace) that target cells name and the inventory shows does not exist. */
function findMissingServices(cells: readonly CellVerdict[], context: RunContext): RunFinding[] {
  const byWhat = new Map<string, { namespace: string; cells: CellVerdict[] }>();
  for (const c of cells.filter(isMissingServiceCell)) {
    const service = context.targets[c.target]?.service;
    const what = service ? missingService(service, context) : undefined;
    if (!service || what === undefined) continue;
    const entry = byWhat.get(what) ?? { namespace: service.namespace, cells: [] };
    entry.cells.push(c);
    byWhat.set(what, entry);
  }
  return [...byWhat.entries()].map(([what, { namespace, cells: affected }]) => {
    const namespaceMissing = what.startsWith('namespace ');
    return finding(
      `${what}: ${count(affected)} name it (${targetsOf(affected)}); its name cannot resolve — DNS answered, DNS is not the fault`,
      affected,
      'workload',
      namespaceMissing ? 'kubectl get namespaces' : `kubectl get services -n ${namespace}`,
      what,
    );
  });
}

/** Kube-system lost the label a DNS egress rule selects it by, or no rule admits port 53: the policies block DNS. */
function findDnsBlockedByPolicy(
  cells: readonly CellVerdict[],
  kinds: TargetKinds,
  context: RunContext,
): { findings: RunFinding[]; cells: Set<CellVerdict> } {
  const blocked = cells.filter((c) => !c.pass && dnsDeniedByPolicy(c, kinds));
  if (blocked.length === 0) return { findings: [], cells: new Set() };
  const sourceNamespaces = [...new Set(blocked.map((c) => context.sourceNamespaces[c.source]).filter((n): n is string => n !== undefined))].sort();
  const dnsNamespace = context.snapshot.namespaces.find((n) => n.name === 'kube-system');
  const fixes: Array<{ policy: string; key: string; value: string }> = [];
  for (const p of context.snapshot.policies) {
    if (!sourceNamespaces.includes(p.namespace)) continue;
    for (const peer of (p.egress ?? []).flatMap((r) => r.to ?? [])) {
      for (const [key, value] of Object.entries(peer.namespaceSelector?.matchLabels ?? {})) {
        if (value === 'kube-system' && dnsNamespace !== undefined && dnsNamespace.labels[key] !== value) fixes.push({ policy: `${p.namespace}/${p.name}`, key, value });
      }
    }
  }
  const policies = [...new Set(fixes.map((f) => f.policy))].sort();
  const labels = [...new Set(fixes.map((f) => `${f.key}=${f.value}`))];
  const sources = [...new Set(blocked.map((c) => c.source))].sort();
  const head = `DNS is blocked by policy: ${count(blocked)} from ${sources.join(', ')} cannot reach kube-system port 53`;
  if (labels.length > 0) {
    const label = labels.join(' ');
    return {
      findings: [
        finding(
          `${head}: ${policies.join(', ')} admit${policies.length === 1 ? 's' : ''} DNS only to a namespace labelled ${labels.join(', ')}, and kube-system lacks ${labels.join(', ')}` +
            ` — fix: kubectl label namespace kube-system ${label}`,
          blocked,
          'namespace-labels',
          `kubectl label namespace kube-system ${label}`,
          `DNS is blocked by policy: kube-system lacks ${labels.join(', ')}`,
        ),
      ],
      cells: new Set(blocked),
    };
  }
  const namespaces = sourceNamespaces.join(' ');
  return {
    findings: [
      finding(
        `${head}: no egress rule of the policies isolating ${sourceNamespaces.join(', ') || 'these sources'} admits UDP and TCP port 53 to kube-system — add one`,
        blocked,
        'dns',
        sourceNamespaces.length === 1 ? `kubectl describe networkpolicy -n ${namespaces}` : 'kubectl get networkpolicy -A',
        `DNS is blocked by policy: no egress rule admits port 53 to kube-system from ${sourceNamespaces.join(', ') || 'these sources'}`,
      ),
    ],
    cells: new Set(blocked),
  };
}

/** A lookup the policies deny (see attribute-causes.ts). */
function dnsDeniedByPolicy(c: CellVerdict, kinds: TargetKinds): boolean {
  return deniedLookup(c, kinds[c.target]);
}

function findDnsDown(cells: readonly CellVerdict[], kinds: TargetKinds): RunFinding[] {
  const needsDns = cells.filter((c) => kinds[c.target] === 'dns' || kinds[c.target] === 'service');
  const failed = needsDns.filter(
    (c) =>
      // NXDOMAIN (and SERVFAIL, REFUSED) mean DNS answered: a missing name, not DNS down. A lookup the policies
      // deny is the policies' (findDnsBlockedByPolicy); one a broken node explains is data-plane by now.
      !['dns-nxdomain', 'dns-servfail', 'dns-refused'].includes(c.outcome.kind) &&
      !dnsDeniedByPolicy(c, kinds) &&
      (c.classification === 'dns' ||
        // A dns target that timed out is "blocked" for its own verdict, but when it should resolve it counts here —
        // unless it resolved from another node (attributeNodeFaults made it data-plane): then one node is broken, not DNS.
        (kinds[c.target] === 'dns' && c.expect === 'allow' && !c.pass && c.outcome.kind === 'dns-timeout' && c.classification !== 'data-plane')),
  );
  const sources = new Set(failed.map((c) => c.source));
  if (failed.length < 2 || failed.length * 2 < needsDns.length) return [];
  return [
    {
      ...finding(
        `cluster DNS looks down or unreachable: ${failed.length} of ${needsDns.length} checks that need a name failed to resolve, ` +
          `from ${sources.size} source(s) (${[...sources].sort().join(', ')}) — check the kube-dns pods and that egress to kube-system port 53 is admitted`,
        failed,
        'dns',
        'kubectl get pods,endpointslices -n kube-system -l k8s-app=kube-dns -o wide',
        'cluster DNS looks down or unreachable',
      ),
      kind: 'dns-down',
    },
  ];
}

/** Findings, and the nodes named as not enforcing (their leaks are explained; they are not "broken" too). */
function findUnenforcedPolicies(cells: readonly CellVerdict[]): { findings: RunFinding[]; nodes: Set<string> } {
  // Every flow the policies deny counts, whatever the scenario expects (known gaps and allow-intents included):
  // the question is whether the data plane enforces the API, not whether the scenario agrees with it.
  const denied = cells.filter((c) => c.policy === 'deny' && c.classification !== 'probe' && c.classification !== 'dns');
  if (denied.length === 0) return { findings: [], nodes: new Set() };
  if (denied.every(leaked)) {
    return {
      findings: [
        finding(
          `the CNI does not enforce NetworkPolicies (Flannel?): all ${denied.length} flows the policies deny got through — ` +
            'install a policy-enforcing CNI (Calico, Cilium) or enable its policy controller',
          denied,
          'cni',
          'kubectl get daemonsets -n kube-system -o wide',
          'the CNI does not enforce NetworkPolicies',
        ),
      ],
      nodes: new Set(),
    };
  }
  // Per node (mid-migration): a node that polices nothing of its own still sees flows blocked by the ingress of pods
  // on enforcing nodes, and pods on it leak to every node. So it is not "every denied flow from it got through";
  // it is "it leaks a flow other nodes block, and blocks none that another node leaks".
  const pairs = groupBy(denied.filter((c) => c.node !== undefined), pairKey);
  const onlyHere = new Map<string, CellVerdict[]>();
  const blockedHere = new Set<string>();
  for (const group of pairs.values()) {
    const leakyNodes = new Set(group.filter(leaked).map((c) => c.node as string));
    if (leakyNodes.size === 0 || leakyNodes.size === new Set(group.map((c) => c.node)).size) continue;
    for (const c of group) {
      if (leakyNodes.has(c.node as string)) onlyHere.set(c.node as string, [...(onlyHere.get(c.node as string) ?? []), c]);
      else blockedHere.add(c.node as string);
    }
  }
  const nodes = [...onlyHere.entries()].filter(([n]) => !blockedHere.has(n)).sort(([a], [b]) => a.localeCompare(b));
  return {
    findings: nodes.map(([n, leaks]) =>
      finding(
        `node ${n} does not enforce NetworkPolicies (${leaks.length} flow(s) the policies deny got through from it but not from other nodes) while other nodes do — mid-migration?`,
        leaks,
        'cni',
        `kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=${n}`,
        `node ${n} does not enforce NetworkPolicies`,
      ),
    ),
    nodes: new Set(nodes.map(([n]) => n)),
  };
}

/**
 * A node whose data plane is broken: from --per-node pairs (fails from it, passes from another node), and from
 * the inventory (every check through it — from a probe on it, to a pod on it, through a CoreDNS pod on it — gets
 * no answer while checks through other nodes do). Leaks from a node already named as not enforcing are that
 * finding's, not a second one. Without --per-node the next command is the rerun that compares nodes.
 */
function findBrokenNodes(cells: readonly CellVerdict[], notEnforcing: ReadonlySet<string>, context: RunContext | undefined): RunFinding[] {
  const withNode = cells.filter((c) => c.node !== undefined);
  const pairs = groupBy(withNode, pairKey);
  const onlyHere = new Map<string, CellVerdict[]>();
  for (const group of pairs.values()) {
    const passingNodes = group.filter((c) => c.pass).map((c) => c.node);
    if (passingNodes.length === 0) continue;
    for (const c of group) {
      // A probe that never ran says nothing about the node's data plane (that is the probe fault's finding).
      if (c.pass || c.classification === 'policy-gap' || c.classification === 'probe') continue;
      if (notEnforcing.has(c.node as string) && leaked(c)) continue;
      onlyHere.set(c.node as string, [...(onlyHere.get(c.node as string) ?? []), c]);
    }
  }
  const broken = context ? findBrokenNode(cells, context) : undefined;
  const nodes = [...new Set([...onlyHere.keys(), ...(broken ? [broken.node] : [])])].sort();
  return nodes.map((node) => {
    const compared = onlyHere.get(node) ?? [];
    const through = broken?.node === node ? broken.cells : [];
    const all = [...new Set([...compared, ...through])];
    const parts: string[] = [];
    if (compared.length > 0) parts.push(`${compared.length} check(s) fail from it that pass from other nodes`);
    if (broken?.node === node) {
      parts.push(`${through.length} check(s) through it get no answer while checks through ${broken.working.join(', ')} work`);
      if (broken.hostsAllDns) parts.push('it also hosts CoreDNS: name lookups from every node fail through it');
    }
    const perNode = context?.perNode ?? withNode.some((c) => c.pinnedNode !== undefined);
    const next =
      !perNode && context
        ? `netcheck run ${context.scenarioArg} --per-node`
        : `kubectl describe node ${node}; kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=${node}`;
    const rerun = !perNode && context ? ` — rerun with --per-node to compare every node (${next})` : '';
    const peer = context ? onlyPeerOf(node, all, cells, context) : undefined;
    if (peer !== undefined) {
      parts.push(
        `or the path between node ${node} and node ${peer} is: every check that failed crosses between them and no check ` +
          `within node ${node} got an answer to tell the two apart (an overlay dropping packets between them: VXLAN udp ` +
          '8472 for Flannel and for Calico migrating from it, 4789 for Calico)',
      );
    }
    return finding(`data plane broken on node ${node}: ${parts.join('; ')}${rerun}`, all, 'cni', next, `data plane broken on node ${node}`);
  });
}

function describeBrokenPair({ nodes: [x, y], cells }: { nodes: [string, string]; cells: CellVerdict[] }): RunFinding {
  const ways = new Set(cells.map((c) => c.node)).size === 2 ? 'either way' : `from ${cells[0]?.node ?? x}`;
  return finding(
    `path between node ${x} and node ${y} broken: ${cells.length} check(s) between them (${ways}) get no answer while checks within each node pass — ` +
      'the overlay between these two nodes drops them (VXLAN: udp 8472 for Flannel and for Calico migrating from it, 4789 for Calico)',
    cells,
    'cni',
    `kubectl get nodes -o wide; kubectl get pods -A -o wide --field-selector spec.nodeName=${x}; kubectl get pods -A -o wide --field-selector spec.nodeName=${y}`,
    `path between node ${x} and node ${y} broken`,
  );
}

function findStaleKnownGaps(cells: readonly CellVerdict[], context: RunContext | undefined): RunFinding[] {
  const stale = cells.filter((c) => c.known !== undefined && c.classification === 'policy-gap' && c.outcome.kind !== 'error' && c.reason.startsWith('known gap no longer'));
  if (stale.length === 0) return [];
  return [
    finding(
      `${stale.length} known gap(s) no longer reproduce: remove their \`known\` entries from the scenario (${stale.map((c) => `${c.source} → ${c.target}`).join(', ')})`,
      stale,
      'application-policy',
      context ? `netcheck run ${context.scenarioArg}` : undefined,
      'known gaps no longer reproduce',
    ),
  ];
}

/** The targets of some cells, each once, in order. */
function targetsOf(cells: readonly CellVerdict[]): string {
  return [...new Set(cells.map((c) => c.target))].join(', ');
}


/** A flow the policies deny that got through, as the verdict observed it. */
function leaked(c: CellVerdict): boolean {
  return c.policy === 'deny' && observedOpen(c);
}

/**
 * Did the verdict observe the path open? Read from the verdict, not the raw outcome: a refusal is blocked for a
 * served target (kube-router, OVN-Kubernetes REJECT denied flows) and undecided otherwise, never a leak.
 * The classification decides where it can (src/run/verdict.ts classify): a pass observed what was intended;
 * a policy gap observed what the policies say; a data-plane fault the opposite — except the node faults
 * attributeNodeFaults re-labels, where nothing answered. An unknown or known gap says nothing about the path,
 * so the outcome does, when it alone means open (isOpen: never for `refused`).
 */
function observedOpen(c: CellVerdict): boolean {
  switch (c.classification) {
    case 'pass':
      return c.expect === 'allow';
    case 'policy-gap':
      return c.policy === 'allow';
    case 'data-plane':
      return c.policy === 'deny' && !nothingAnswered(c.outcome);
    case 'known-gap':
    case 'unknown':
      return isOpen(c.outcome) === true;
    case 'dns':
    case 'probe':
      return false;
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
