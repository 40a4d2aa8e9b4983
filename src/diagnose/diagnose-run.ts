/**
 * Run-level findings: patterns across cells that no single cell shows — DNS down, a CNI that enforces
 * nothing, one node whose data plane is broken, stale known gaps. Pure.
 */
import { isOpen } from '../model/outcome.js';
import type { CellRef, CellVerdict, RunFinding } from '../model/verdict.js';
import { nothingAnswered, pairKey } from './attribute-nodes.js';

/** The target kind per target name, so DNS-dependent cells can be counted. */
export type TargetKinds = Readonly<Record<string, 'dns' | 'service' | 'listener' | 'address'>>;

/** Each finding names the cells it is about, so a report can show it beside them (GitLab shows only per-test output). */
export function diagnoseRun(cells: readonly CellVerdict[], targetKinds: TargetKinds): RunFinding[] {
  const unenforced = findUnenforcedPolicies(cells);
  return [
    ...findDnsDown(cells, targetKinds),
    ...unenforced.findings,
    ...findBrokenNodes(cells, unenforced.nodes),
    ...findStaleKnownGaps(cells),
  ];
}

function findDnsDown(cells: readonly CellVerdict[], kinds: TargetKinds): RunFinding[] {
  const needsDns = cells.filter((c) => kinds[c.target] === 'dns' || kinds[c.target] === 'service');
  const failed = needsDns.filter(
    (c) =>
      c.classification === 'dns' ||
      // A dns target that timed out is "blocked" for its own verdict, but when it should resolve it counts here —
      // unless it resolved from another node (attributeNodeFaults made it data-plane): then one node is broken, not DNS.
      (kinds[c.target] === 'dns' && c.expect === 'allow' && !c.pass && c.outcome.kind === 'dns-timeout' && c.classification !== 'data-plane'),
  );
  const sources = new Set(failed.map((c) => c.source));
  if (failed.length < 2 || failed.length * 2 < needsDns.length) return [];
  return [
    finding(
      `cluster DNS looks down or unreachable: ${failed.length} of ${needsDns.length} checks that need a name failed to resolve, ` +
        `from ${sources.size} source(s) (${[...sources].sort().join(', ')}) — check the kube-dns pods and that egress to kube-system port 53 is admitted`,
      failed,
    ),
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
      ),
    ),
    nodes: new Set(nodes.map(([n]) => n)),
  };
}

/**
 * A (source, target) pair that fails from one node but passes from another: the node, not the policy.
 * Leaks from a node already named as not enforcing are that finding's, not a second one.
 */
function findBrokenNodes(cells: readonly CellVerdict[], notEnforcing: ReadonlySet<string>): RunFinding[] {
  const withNode = cells.filter((c) => c.node !== undefined);
  const pairs = groupBy(withNode, pairKey);
  const onlyHere = new Map<string, CellVerdict[]>();
  for (const group of pairs.values()) {
    const passingNodes = group.filter((c) => c.pass).map((c) => c.node);
    if (passingNodes.length === 0) continue;
    for (const c of group) {
      if (c.pass || c.classification === 'policy-gap') continue;
      if (notEnforcing.has(c.node as string) && leaked(c)) continue;
      onlyHere.set(c.node as string, [...(onlyHere.get(c.node as string) ?? []), c]);
    }
  }
  return [...onlyHere.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, failing]) => finding(`data plane broken on node ${node}: ${failing.length} check(s) fail from it that pass from other nodes`, failing));
}

function findStaleKnownGaps(cells: readonly CellVerdict[]): RunFinding[] {
  const stale = cells.filter((c) => c.known !== undefined && c.classification === 'policy-gap' && c.outcome.kind !== 'error' && c.reason.startsWith('known gap no longer'));
  if (stale.length === 0) return [];
  return [finding(`${stale.length} known gap(s) no longer reproduce: remove their \`known\` entries from the scenario (${stale.map((c) => `${c.source} → ${c.target}`).join(', ')})`, stale)];
}

function finding(text: string, cells: readonly CellVerdict[]): RunFinding {
  return { text, cells: cells.map(cellRef) };
}

function cellRef(c: CellVerdict): CellRef {
  return { source: c.source, target: c.target, ...(c.node !== undefined ? { node: c.node } : {}) };
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
