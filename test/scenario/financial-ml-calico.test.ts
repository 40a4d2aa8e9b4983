/**
 * The financial-ml-calico scenario: financial-ml with the platform baseline as a Calico GlobalNetworkPolicy. Offline,
 * with the engine on its manifests: every cell is decided (none unknown), each the same as financial-ml's (the intent
 * and the rules are the same), and the cells the baseline decides are explained by its Calico rule. The real Calico
 * cluster agreeing cell for cell is test/e2e/calico-financial-ml.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { listBuiltinScenarios } from '../../src/scenario/load.js';
import { scenarioViews, type ScenarioViews } from './policy-views.js';

let calico: ScenarioViews;
let plain: ScenarioViews;
beforeAll(async () => {
  [calico, plain] = await Promise.all([scenarioViews('financial-ml-calico'), scenarioViews('financial-ml')]);
});

describe('built-in scenario financial-ml-calico', () => {
  it('is listed, and its baseline is a Calico GlobalNetworkPolicy in place of the Kubernetes baselines', () => {
    expect(listBuiltinScenarios()).toContain('financial-ml-calico');
    expect(calico.snapshot.otherPolicies?.map((p) => `${p.kind} ${p.name} ${p.order} ${p.types?.join('+')}`)).toEqual(['GlobalNetworkPolicy ml-platform-baseline 500 ingress+egress']);
    expect(calico.snapshot.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['financial-ml/financial-ml-isolation']);
  });

  it('decides every cell, each as financial-ml does, and the known gaps are the same real contradictions', () => {
    const undecided = [...calico.views].filter(([, v]) => v.view === 'unknown').map(([k, v]) => `${k}: ${v.explanation.join('; ')}`);
    expect(undecided).toEqual([]);
    expect([...calico.views].map(([k, v]) => `${k}: ${v.view}`)).toEqual([...plain.views].map(([k, v]) => `${k}: ${v.view}`));
    for (const c of calico.scenario.cells) {
      const view = calico.views.get(`${c.source} -> ${c.target}`)?.view;
      expect(`${c.source} -> ${c.target}: ${view === c.expect ? 'agrees' : 'contradicts'}`).toBe(`${c.source} -> ${c.target}: ${c.known === undefined ? 'agrees' : 'contradicts'}`);
    }
  });

  it('explains the cells the baseline decides by its Calico rule: Allow by index, or the end-of-tier drop', () => {
    const first = (cell: string): string => calico.views.get(cell)?.explanation[0] ?? '';
    expect(first('training -> seldon-scheduler')).toBe('egress: allowed by Calico GlobalNetworkPolicy ml-platform-baseline (order 500) egress[0]: Allow');
    expect(first('training -> cluster-dns')).toBe('egress: allowed by Calico GlobalNetworkPolicy ml-platform-baseline (order 500) egress[1]: Allow');
    expect(first('seldon -> training-api')).toBe('ingress: allowed by Calico GlobalNetworkPolicy ml-platform-baseline (order 500) ingress[0]: Allow');
    expect(first('training -> predictor')).toMatch(/^egress: denied at the end of Calico's default tier, Calico GlobalNetworkPolicy ml-platform-baseline \(order 500\) applied and no rule accepted TCP\/8080/);
    // The application's Kubernetes NetworkPolicy (order 1000) still admits what it admits.
    expect(first('serving -> predictor')).toMatch(/^egress: allowed by financial-ml\/financial-ml-isolation egress\[1\]/);
  });
});
