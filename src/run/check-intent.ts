/**
 * The offline intent gate (`netcheck check`): every cell of a scenario judged against the policies of its
 * manifests, with the per-cell policy view `run` uses (policy-view.ts) and the probe labels `run` would give
 * each source (plan.ts). Pure: scenario and snapshot in, result out.
 *
 * Nothing is guessed: the runner's address as pods see it is known only from the runner source's `address:` (else
 * ingress ipBlock rules cannot be decided for it), and what lies beyond an external address is not policy's to say. Such cells
 * are `undecided` and do not fail the check; `run` decides them on the real network.
 */
import { formatLocation } from '../model/errors.js';
import type { IntentCell, IntentCheckResult, IntentStatus, IntentSummary } from '../model/intent.js';
import { createPolicyEngine } from '../policy/engine.js';
import type { ClusterSnapshot, Labels } from '../policy/types.js';
import { workloadOf } from '../scenario/check-manifests.js';
import type { Scenario } from '../scenario/types.js';
import { resolveSourceLabels, workloadKey } from './plan.js';
import { assessCellPolicy, RUNNER_ADDRESS_UNKNOWN } from './policy-view.js';

/** The labels of every `as:` workload, read from the snapshot the way `run` reads them from the cluster. */
function readWorkloadLabels(scenario: Scenario, snapshot: ClusterSnapshot): Record<string, Labels> {
  const labels: Record<string, Labels> = {};
  for (const source of scenario.sources) {
    if (source.kind !== 'pod' || !source.as) continue;
    const wanted = `${source.as.kind}/${source.as.name}`;
    const pod = snapshot.pods.find((p) => p.namespace === source.namespace && workloadOf(p) === wanted);
    if (pod) labels[workloadKey(source.namespace, source.as.kind, source.as.name)] = pod.labels;
  }
  return labels;
}

/** `runnerAddress`: the address the cluster sees the runner as (check's --runner-address), over the scenario's `address:`. */
export function checkIntent(scenario: Scenario, snapshot: ClusterSnapshot, file: string = scenario.file, options: { runnerAddress?: string } = {}): IntentCheckResult {
  const engine = createPolicyEngine(snapshot);
  const workloadLabels = readWorkloadLabels(scenario, snapshot);
  const cells = scenario.cells.map((cell): IntentCell => {
    const source = scenario.sources.find((s) => s.name === cell.source);
    const target = scenario.targets.find((t) => t.name === cell.target);
    if (!source || !target) throw new Error(`scenario cell ${cell.source} -> ${cell.target} names no source or target`);
    const labels = source.kind === 'pod' ? resolveSourceLabels(source, workloadLabels) : {};
    const { view, explanation } = assessCellPolicy(engine, snapshot, source, labels, undefined, target, options.runnerAddress !== undefined ? { runnerAddress: options.runnerAddress } : {});
    const known = cell.known !== undefined;
    const status: IntentStatus = view === 'unknown' ? 'undecided' : view === cell.expect ? (known ? 'stale-known' : 'agrees') : known ? 'known-gap' : 'contradicts';
    const decisive = explanation[0] ?? '';
    const reasons: Record<IntentStatus, string> = {
      agrees: `the policies ${view} it, as intended`,
      contradicts: `intent ${cell.expect}, but the policies ${view} it: ${decisive}`,
      'known-gap': `known gap, still produced by the policies (${view}): ${cell.known ?? ''}`,
      'stale-known': `stale \`known:\` entry${cell.knownLocation ? ` at ${formatLocation(cell.knownLocation)}` : ''}: the policies now ${view} it, as intended; remove the entry`,
      // The missing runner address is the reason when it is one; otherwise the last note says why.
      undecided: `policy cannot decide this offline: ${explanation.includes(RUNNER_ADDRESS_UNKNOWN) ? RUNNER_ADDRESS_UNKNOWN : (explanation[explanation.length - 1] ?? 'no explanation')}`,
    };
    return {
      source: cell.source,
      target: cell.target,
      expect: cell.expect,
      policy: view,
      status,
      reason: reasons[status],
      policyExplanation: explanation,
      ...(cell.known !== undefined ? { known: cell.known } : {}),
      location: cell.location,
      ...(cell.knownLocation ? { knownLocation: cell.knownLocation } : {}),
    };
  });
  return { scenario: scenario.name, file, cells, summary: summarizeIntent(cells) };
}

function summarizeIntent(cells: readonly IntentCell[]): IntentSummary {
  const count = (status: IntentStatus): number => cells.filter((c) => c.status === status).length;
  const contradicts = count('contradicts');
  const staleKnown = count('stale-known');
  return {
    total: cells.length,
    agrees: count('agrees'),
    contradicts,
    knownGaps: count('known-gap'),
    staleKnown,
    undecided: count('undecided'),
    failed: contradicts + staleKnown,
  };
}
