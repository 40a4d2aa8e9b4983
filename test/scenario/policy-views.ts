/**
 * Shared by the built-in scenario tests: a packaged scenario, the snapshot of its manifests, and the policy view of
 * each cell offline (the engine on its manifests, as `netcheck check` judges it), keyed "source -> target".
 */
import path from 'node:path';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { ClusterSnapshot, Labels } from '../../src/policy/types.js';
import { assessCellPolicy, type PolicyAssessment } from '../../src/run/policy-view.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';

export const repo = path.resolve(import.meta.dirname, '../..');

export interface ScenarioViews {
  scenario: Scenario;
  snapshot: ClusterSnapshot;
  views: Map<string, PolicyAssessment>;
}

export async function loadScenarioSnapshot(name: string): Promise<{ scenario: Scenario; snapshot: ClusterSnapshot }> {
  const scenario = await loadScenario(name, repo);
  return { scenario, snapshot: snapshotFromManifestFiles(await readInputFiles(scenario.manifests)).snapshot };
}

export function cellPolicyViews(scenario: Scenario, snapshot: ClusterSnapshot): Map<string, PolicyAssessment> {
  const engine = createPolicyEngine(snapshot);
  const out = new Map<string, PolicyAssessment>();
  for (const c of scenario.cells) {
    const source = scenario.sources.find((s) => s.name === c.source);
    const target = scenario.targets.find((t) => t.name === c.target);
    if (!source || !target) throw new Error('scenario references resolve');
    let labels: Labels = {};
    if (source.kind === 'pod') {
      const as = source.as;
      const pod = as && snapshot.pods.find((p) => p.namespace === source.namespace && p.owner === `${as.kind}/${as.name}`);
      labels = { ...pod?.labels, ...source.labels };
    }
    // A documentation address stands for the CI machine: not a pod, so no namespaceSelector matches it.
    const options = source.kind === 'runner' ? { runnerAddress: '198.51.100.7' } : {};
    out.set(`${c.source} -> ${c.target}`, assessCellPolicy(engine, snapshot, source, labels, undefined, target, options));
  }
  return out;
}

export async function scenarioViews(name: string): Promise<ScenarioViews> {
  const { scenario, snapshot } = await loadScenarioSnapshot(name);
  return { scenario, snapshot, views: cellPolicyViews(scenario, snapshot) };
}
