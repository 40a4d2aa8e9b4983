/** `--from` / `--to`: narrowing the built-in financial-ml scenario (src/scenario/select.ts). */
import { beforeAll, describe, expect, it } from 'vitest';
import { usageError } from './thrown.js';
import { loadScenario } from '../../src/scenario/load.js';
import { selectScenario, splitFocusList } from '../../src/scenario/select.js';
import type { Scenario } from '../../src/scenario/types.js';

let scenario: Scenario;
beforeAll(async () => {
  scenario = await loadScenario('financial-ml');
});

const pairs = (s: Scenario) => s.cells.map((c) => `${c.source}>${c.target}`);

describe('selectScenario', () => {
  it('without --from/--to is the scenario itself', () => {
    expect(selectScenario(scenario, {})).toBe(scenario);
    expect(selectScenario(scenario, { from: [], to: [] })).toBe(scenario);
  });

  it('--from one source keeps its row and drops the sources and targets nothing uses', () => {
    const s = selectScenario(scenario, { from: ['seldon'] });
    expect(pairs(s)).toEqual(['seldon>cluster-dns', 'seldon>predictor', 'seldon>training-api']);
    expect(s.sources.map((x) => x.name)).toEqual(['seldon']);
    expect(s.targets.map((x) => x.name)).toEqual(['cluster-dns', 'predictor', 'training-api']);
    // Expectations and known gaps travel with their cells.
    expect(s.cells.every((c) => scenario.cells.includes(c))).toBe(true);
  });

  it('--to one target keeps its column from every source', () => {
    const s = selectScenario(scenario, { to: ['predictor'] });
    expect(pairs(s)).toEqual(['serving>predictor', 'training>predictor', 'seldon>predictor', 'outsider>predictor']);
    expect(s.cells.find((c) => c.source === 'training')?.known).toMatch(/required/);
  });

  it('both intersect; comma lists and repeated flags add up; duplicates are harmless', () => {
    const s = selectScenario(scenario, { from: ['serving,training', 'serving'], to: ['cluster-dns', 'training-api,cluster-dns'] });
    expect(pairs(s)).toEqual(['serving>cluster-dns', 'serving>training-api', 'training>cluster-dns', 'training>training-api']);
  });

  it('a namespace stands for the sources in it (--from) and the service/listener targets in it (--to)', () => {
    expect(selectScenario(scenario, { from: ['financial-ml'] }).sources.map((x) => x.name)).toEqual(['serving']);
    const s = selectScenario(scenario, { from: ['serving'], to: ['kube-system'] });
    expect(pairs(s)).toEqual(['serving>dns-metrics']);
  });

  it('the runner is a source like any other', () => {
    expect(pairs(selectScenario(scenario, { from: ['ci-runner'], to: ['inference-lb'] }))).toEqual(['ci-runner>inference-lb']);
  });

  it('an unknown name is exit 2 with "did you mean" and the list of names', () => {
    const e = usageError(() => selectScenario(scenario, { from: ['servng'] }));
    expect(e.message).toBe('--from servng: scenario financial-ml has no source or namespace of that name; did you mean `serving`?');
    expect(e.hint).toBe('sources: serving, training, seldon, outsider, ci-runner');
    const t = usageError(() => selectScenario(scenario, { to: ['predicter'] }));
    expect(t.message).toBe('--to predicter: scenario financial-ml has no target or namespace of that name; did you mean `predictor`?');
    const far = usageError(() => selectScenario(scenario, { to: ['nothing-like-it'] }));
    expect(far.message).toBe('--to nothing-like-it: scenario financial-ml has no target or namespace of that name');
  });

  it('names that exist but share no cell are exit 2, pointing at `netcheck probe`', () => {
    const e = usageError(() => selectScenario(scenario, { from: ['ci-runner'], to: ['cluster-dns'] }));
    expect(e.message).toBe('--from/--to: scenario financial-ml has no cell from ci-runner to cluster-dns');
    expect(e.hint).toMatch(/netcheck probe --from/);
  });

  it('an empty item in a list is exit 2', () => {
    expect(usageError(() => splitFocusList('from', ['serving,'])).message).toBe('--from serving,: an empty name');
    expect(splitFocusList('to', undefined)).toEqual([]);
  });
});
