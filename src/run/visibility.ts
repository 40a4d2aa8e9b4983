/**
 * With namespace-scoped rights the inventory misses what lies outside them (other namespaces' policies and pods,
 * namespace labels). A policy verdict that rests on something not visible is a guess: it becomes `unknown`, naming
 * what was not visible and the command that shows it. Pure: judged cells, the scenario and the inventory in.
 */
import { describeNotVisible } from '../cluster/inventory.js';
import type { NotVisible } from '../cluster/types.js';
import type { CellVerdict } from '../model/verdict.js';
import { NAMESPACE_NAME_LABEL } from '../policy/from-objects.js';
import type { ClusterSnapshot, LabelSelector } from '../policy/types.js';
import type { Scenario, Source, Target } from '../scenario/types.js';
import { judgeCell } from './verdict.js';

/** Namespaces whose policies decide the cell: the source's (egress) and the destination's (ingress). */
function namespacesOf(source: Source | undefined, target: Target): { source?: string; destination?: string } {
  const destination = target.kind === 'dns' ? 'kube-system' : target.kind === 'service' || target.kind === 'listener' ? target.namespace : undefined;
  return {
    ...(source?.kind === 'pod' ? { source: source.namespace } : {}),
    ...(destination !== undefined ? { destination } : {}),
  };
}

function selectsOnOtherLabels(selector: LabelSelector | undefined): boolean {
  if (selector === undefined) return false;
  const keys = [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)];
  return keys.some((k) => k !== NAMESPACE_NAME_LABEL);
}

/** What the cell's policy verdict needs that these rights did not show; empty when nothing. */
export function hiddenFor(source: Source | undefined, target: Target, snapshot: Pick<ClusterSnapshot, 'policies'>, notVisible: readonly NotVisible[]): NotVisible[] {
  if (notVisible.length === 0) return [];
  const { source: from, destination: to } = namespacesOf(source, target);
  const needs: Array<[string, string | undefined]> = [
    ['networkpolicies', from],
    ['networkpolicies', to],
    // The destination's pods are the Service's endpoints and ingress peers; its Services name them.
    ...(target.kind === 'service' || target.kind === 'dns' ? ([['pods', to], ['services', to]] as Array<[string, string | undefined]>) : []),
  ];
  const hidden = new Set<NotVisible>();
  for (const [resource, ns] of needs) {
    if (ns === undefined) continue;
    for (const n of notVisible) if (n.resource === resource && n.namespaces?.includes(ns)) hidden.add(n);
  }
  // Namespace labels matter when a policy on either side selects namespaces by a label other than their name.
  const labels = notVisible.find((n) => n.resource === 'namespaces');
  if (labels !== undefined) {
    const sides = new Set([from, to].filter((ns): ns is string => ns !== undefined));
    const usesLabels = snapshot.policies.some(
      (p) => sides.has(p.namespace) && [...(p.ingress ?? []).flatMap((r) => r.from ?? []), ...(p.egress ?? []).flatMap((r) => r.to ?? [])].some((peer) => selectsOnOtherLabels(peer.namespaceSelector)),
    );
    if (usesLabels) hidden.add(labels);
  }
  return [...hidden];
}

/**
 * Cells whose policy view rests on something not visible are judged again with policy `unknown`: a cell that
 * behaved as intended still passes; one that did not is `unknown`, not a policy gap guessed from half the policies.
 */
export function markNotVisible(cells: CellVerdict[], scenario: Scenario, snapshot: ClusterSnapshot, notVisible: readonly NotVisible[] | undefined): CellVerdict[] {
  if (notVisible === undefined || notVisible.length === 0) return cells;
  const sources = new Map(scenario.sources.map((s) => [s.name, s]));
  const targets = new Map(scenario.targets.map((t) => [t.name, t]));
  return cells.map((verdict) => {
    const target = targets.get(verdict.target);
    const cell = scenario.cells.find((c) => c.source === verdict.source && c.target === verdict.target);
    if (target === undefined || cell === undefined) return verdict;
    const hidden = hiddenFor(sources.get(verdict.source), target, snapshot, notVisible);
    if (hidden.length === 0) return verdict;
    // Already unknown (e.g. "kube-dns is not in the snapshot"): say first that it is hidden, not absent.
    if (verdict.policy === 'unknown' || verdict.attempts.length === 0) {
      return { ...verdict, policyExplanation: [...hidden.map(describeNotVisible), ...(verdict.policyExplanation ?? [])] };
    }
    const service =
      target.kind === 'service' ? snapshot.services.find((s) => s.namespace === target.namespace && s.name === target.service) : target.kind === 'dns' ? snapshot.services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns') : undefined;
    const rejudged = judgeCell({
      cell,
      target,
      policy: { view: 'unknown', explanation: [...hidden.map(describeNotVisible), ...(verdict.policyExplanation ?? []).map((line) => `from what was visible: ${line}`)] },
      observed: { kind: 'observed', outcome: verdict.outcome, attempts: verdict.attempts },
      ...(verdict.node !== undefined ? { node: verdict.node } : {}),
      ...(verdict.probe !== undefined ? { probe: verdict.probe } : {}),
      ...(service?.readyEndpoints !== undefined ? { readyEndpoints: service.readyEndpoints } : {}),
    });
    return {
      ...rejudged,
      ...(verdict.pinnedNode !== undefined ? { pinnedNode: verdict.pinnedNode } : {}),
      ...(verdict.targetNode !== undefined ? { targetNode: verdict.targetNode } : {}),
      ...(!rejudged.pass ? { findings: [...hidden.map(describeNotVisible), ...(verdict.findings ?? [])] } : {}),
    };
  });
}
