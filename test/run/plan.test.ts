import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/model/errors.js';
import { MAX_PLAN_BYTES, planListeners, planRun, workloadKey, type RunPlan } from '../../src/run/plan.js';
import { cell, podSource, runnerSource, scenario, service, targets } from './scenario-builder.js';

const base = { workloadLabels: {}, listenerIPs: {}, services: [], timeoutMs: 1500, retries: 2 };

describe('planRun', () => {
  it('maps each target kind to its check, with the expectation attached', () => {
    const sc = scenario(
      [podSource('serving', 'financial-ml', { labels: { app: 'x' } })],
      [
        targets.dns('dns', 'kubernetes.default', 'TCP'),
        targets.service('mlflow', 'mlflow', 'financial-ml', 'http', { path: '/health', expectStatus: 200 }),
        targets.listener('lst', 'seldon-system', 9000),
        targets.address('minio-lb', '192.168.1.200', 9000),
      ],
      [cell('serving', 'dns', 'allow'), cell('serving', 'mlflow', 'allow'), cell('serving', 'lst', 'deny'), cell('serving', 'minio-lb', 'deny')],
    );
    const plan = planRun(sc, {
      ...base,
      services: [service('financial-ml', 'mlflow', { app: 'mlflow' }, 5000, { ports: [{ name: 'http', port: 5000, targetPort: 5000, protocol: 'TCP' }] })],
      listenerIPs: { lst: '10.1.2.3' },
    });
    expect(plan.pods).toHaveLength(1);
    expect(plan.runner).toBeUndefined();
    expect(plan.pods[0]?.plan).toEqual({
      retries: 2,
      checks: [
        { id: '0', kind: 'dns', target: 'kubernetes.default', protocol: 'TCP', timeoutMs: 1500, expect: 'allow' },
        { id: '1', kind: 'http', target: 'mlflow.financial-ml', port: 5000, timeoutMs: 1500, expect: 'allow', http: { path: '/health', expectStatus: 200 } },
        { id: '2', kind: 'tcp', target: '10.1.2.3', port: 9000, timeoutMs: 1500, expect: 'deny' },
        { id: '3', kind: 'tcp', target: '192.168.1.200', port: 9000, timeoutMs: 1500, expect: 'deny' },
      ],
    });
    expect(plan.checks.map((c) => [c.id, c.cell.target, c.runsOn === plan.pods[0]?.key])).toEqual([
      ['0', 'dns', true],
      ['1', 'mlflow', true],
      ['2', 'lst', true],
      ['3', 'minio-lb', true],
    ]);
  });

  it('shares one pod between sources with the same identity, clones `as:` labels, and keeps runner checks apart', () => {
    const sc = scenario(
      [
        podSource('a', 'financial-ml', { labels: { role: 'probe' }, as: { kind: 'deployment', name: 'mlflow' } }),
        podSource('b', 'financial-ml', { labels: { app: 'mlflow', role: 'probe' } }),
        podSource('c', 'financial-ml', { labels: {} }),
        runnerSource(),
      ],
      [targets.address('lb', '192.168.1.208', 5000)],
      [cell('a', 'lb', 'allow'), cell('b', 'lb', 'allow'), cell('c', 'lb', 'allow'), cell('runner', 'lb', 'allow')],
    );
    const plan = planRun(sc, { ...base, workloadLabels: { [workloadKey('financial-ml', 'Deployment', 'mlflow')]: { app: 'mlflow', role: 'server' } } });
    expect(plan.pods.map((p) => ({ sources: p.sources, labels: p.labels, checks: p.plan.checks.length }))).toEqual([
      { sources: ['a', 'b'], labels: { app: 'mlflow', role: 'probe' }, checks: 2 },
      { sources: ['c'], labels: {}, checks: 1 },
    ]);
    expect(plan.runner?.checks.map((c) => c.id)).toEqual(['3']);
    expect(plan.checks.find((c) => c.id === '3')?.runsOn).toBe('runner');
  });

  it('--per-node multiplies pod sources across nodes, but not pinned sources or the runner', () => {
    const sc = scenario(
      [podSource('a', 'ns'), podSource('pinned', 'ns', { node: 'n2', labels: { x: '1' } }), runnerSource()],
      [targets.address('t', '10.0.0.1', 80)],
      [cell('a', 't', 'deny'), cell('pinned', 't', 'deny'), cell('runner', 't', 'deny')],
    );
    const plan = planRun(sc, { ...base, perNode: ['n1', 'n2', 'n3'] });
    expect(plan.pods.map((p) => [p.sources[0], p.node])).toEqual([
      ['a', 'n1'],
      ['a', 'n2'],
      ['a', 'n3'],
      ['pinned', 'n2'],
    ]);
    const ids = plan.checks.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(plan.checks.filter((c) => c.cell.source === 'a').map((c) => c.node)).toEqual(['n1', 'n2', 'n3']);
  });

  it.each([
    { name: 'named port on an unknown service', target: targets.service('s', 'nope', 'ns', 'http'), listenerIPs: {}, skipped: /not found/ },
    { name: 'named port the service lacks', target: targets.service('s', 'web', 'ns', 'grpc'), listenerIPs: {}, skipped: /no port named "grpc"/ },
    { name: 'listener that did not start', target: targets.listener('s', 'ns', 80), listenerIPs: {}, skipped: /did not start/ },
  ])('records why a check cannot be planned: $name', ({ target, listenerIPs, skipped }) => {
    const sc = scenario([podSource('a', 'ns')], [target], [cell('a', 's', 'allow')]);
    const plan = planRun(sc, { ...base, listenerIPs, services: [service('ns', 'web', { app: 'web' }, 80)] });
    expect(plan.checks[0]?.check).toBeUndefined();
    expect(plan.checks[0]?.skipped).toMatch(skipped);
    expect(plan.pods[0]?.plan.checks).toEqual([]);
  });

  it('rejects an `as:` workload that does not exist, pointing at the scenario', () => {
    const sc = scenario([podSource('a', 'ns', { as: { kind: 'deployment', name: 'ghost' } })], [targets.dns('d')], [cell('a', 'd', 'allow')]);
    expect(() => planRun(sc, base)).toThrow(ScenarioError);
    expect(() => planRun(sc, base)).toThrow(/scenario.yaml:1: source a: deployment\/ghost not found in namespace ns/);
  });
});

describe('planRun splits a plan too large for one container arg', () => {
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
  const manyTargets = (count: number) => Array.from({ length: count }, (_, i) => targets.address(`t${i}`, `10.0.${Math.floor(i / 250)}.${i % 250}`, 8000 + (i % 1000)));
  const wide = (sources: string[], count: number) => {
    const list = manyTargets(count);
    return scenario(
      sources.map((s) => podSource(s, 'ns', { labels: { app: 'same' } })),
      list,
      sources.flatMap((s) => list.map((t) => cell(s, t.name, 'deny'))),
    );
  };

  /** Every planned check is carried by exactly one pod, the one its runsOn names, under its own id. */
  function expectEveryCheckPlannedOnce(plan: RunPlan): void {
    const carriers = new Map<string, string[]>();
    for (const pod of plan.pods) for (const c of pod.plan.checks) carriers.set(c.id, [...(carriers.get(c.id) ?? []), pod.key]);
    for (const planned of plan.checks) expect(carriers.get(planned.id)).toEqual([planned.runsOn]);
    expect(carriers.size).toBe(plan.checks.length);
  }

  it.each([
    { name: 'small plan, default bound', sources: ['a'], count: 20, maxPlanBytes: undefined, parts: 1 },
    { name: 'one source, many targets', sources: ['a'], count: 400, maxPlanBytes: 8 * 1024, parts: 5 },
    { name: 'two sources sharing an identity', sources: ['a', 'b'], count: 200, maxPlanBytes: 8 * 1024, parts: 5 },
    { name: 'per-node × hundreds of targets at the real bound', sources: ['a'], count: 1500, maxPlanBytes: undefined, parts: 2 },
  ])('$name → $parts part(s), each within the bound', ({ sources, count, maxPlanBytes, parts }) => {
    const plan = planRun(wide(sources, count), { ...base, ...(maxPlanBytes !== undefined ? { maxPlanBytes } : {}) });
    const bound = maxPlanBytes ?? MAX_PLAN_BYTES;
    expect(plan.pods).toHaveLength(parts);
    for (const pod of plan.pods) {
      expect(bytes(pod.plan)).toBeLessThanOrEqual(bound);
      expect(pod.plan.retries).toBe(base.retries);
      expect(pod.labels).toEqual({ app: 'same' });
    }
    expect(new Set(plan.pods.map((p) => p.key)).size).toBe(parts);
    expect(plan.pods.map((p) => p.part?.index)).toEqual(parts === 1 ? [undefined] : Array.from({ length: parts }, (_, i) => i + 1));
    expectEveryCheckPlannedOnce(plan);
    // Check order, and so result order, is kept across the parts.
    expect(plan.pods.flatMap((p) => p.plan.checks.map((c) => c.id))).toEqual(plan.checks.map((c) => c.id));
  });

  it('keeps the identity key for the first part, and lists in each part only the sources it probes for', () => {
    const plan = planRun(wide(['a', 'b'], 100), { ...base, maxPlanBytes: 8 * 1024 });
    const unsplit = planRun(wide(['a', 'b'], 100), base);
    expect(plan.pods[0]?.key).toBe(unsplit.pods[0]?.key);
    expect(plan.pods.map((p) => p.key.slice(unsplit.pods[0]!.key.length))).toEqual(['', '#2', '#3']);
    expect(plan.pods.map((p) => p.sources)).toEqual([['a'], ['a', 'b'], ['b']]);
  });

  it('splits per node and leaves other identities alone', () => {
    const list = manyTargets(150);
    const sc = scenario(
      [podSource('big', 'ns'), podSource('small', 'ns', { labels: { x: '1' } })],
      list,
      [...list.map((t) => cell('big', t.name, 'deny')), cell('small', 't0', 'deny')],
    );
    const plan = planRun(sc, { ...base, perNode: ['n1', 'n2'], maxPlanBytes: 8 * 1024 });
    expect(plan.pods.map((p) => [p.sources.join(), p.node, p.part?.count])).toEqual([
      ['big', 'n1', 2],
      ['big', 'n1', 2],
      ['big', 'n2', 2],
      ['big', 'n2', 2],
      ['small', 'n1', undefined],
      ['small', 'n2', undefined],
    ]);
    expectEveryCheckPlannedOnce(plan);
  });

  it('gives a check larger than the bound a part of its own rather than dropping it', () => {
    const long = targets.service('long', 'web', 'ns', 80, { path: `/${'x'.repeat(2000)}` });
    const sc = scenario([podSource('a', 'ns')], [targets.dns('d'), long, targets.dns('e')], [cell('a', 'd', 'allow'), cell('a', 'long', 'allow'), cell('a', 'e', 'allow')]);
    const plan = planRun(sc, { ...base, maxPlanBytes: 1024 });
    expect(plan.pods.map((p) => p.plan.checks.map((c) => c.id))).toEqual([['0'], ['1'], ['2']]);
    expectEveryCheckPlannedOnce(plan);
  });
});

describe('planListeners', () => {
  it('groups listener targets by namespace and labels, one port entry each', () => {
    const sc = scenario(
      [],
      [targets.listener('a', 'ns', 80, { app: 'l' }), targets.listener('b', 'ns', 81, { app: 'l' }), targets.listener('c', 'other', 80, { app: 'l' })],
      [],
    );
    expect(planListeners(sc).map((l) => [l.namespace, l.targets, l.listen.map((p) => p.port)])).toEqual([
      ['ns', ['a', 'b'], [80, 81]],
      ['other', ['c'], [80]],
    ]);
  });
  it('--per-node: one listener per node, pinned there; a listener target with `node:` stays on its node', () => {
    const pinned = { ...targets.listener('b', 'ns', 81, { app: 'm' }), node: 'n2' };
    const sc = scenario([], [targets.listener('a', 'ns', 80, { app: 'l' }), pinned], []);
    expect(planListeners(sc, ['n1', 'n2']).map((l) => [l.node, l.targets])).toEqual([
      ['n1', ['a']],
      ['n2', ['a']],
      ['n2', ['b']],
    ]);
    expect(planListeners(sc).map((l) => [l.node ?? null, l.targets])).toEqual([
      [null, ['a']],
      ['n2', ['b']],
    ]);
  });
});

describe('planRun: every (source node, destination node) pair of a per-node run', () => {
  const sc = scenario([podSource('serving', 'financial-ml')], [targets.listener('lst', 'seldon-system', 9000)], [cell('serving', 'lst', 'deny')]);
  const listenerIPs = { 'lst@n1': '10.244.1.9', 'lst@n2': '10.244.2.9' };

  it('checks each listener node from each probe node, by that listener\'s IP', () => {
    const plan = planRun(sc, { ...base, listenerIPs, perNode: ['n1', 'n2'] });
    expect(plan.checks.map((c) => [c.node, c.targetNode, c.check?.target, c.id])).toEqual([
      ['n1', 'n1', '10.244.1.9', '0@n1>n1'],
      ['n1', 'n2', '10.244.2.9', '0@n1>n2'],
      ['n2', 'n1', '10.244.1.9', '0@n2>n1'],
      ['n2', 'n2', '10.244.2.9', '0@n2>n2'],
    ]);
    expect(plan.pods.map((p) => [p.node, p.plan.checks.length])).toEqual([
      ['n1', 2],
      ['n2', 2],
    ]);
  });
  it('a listener on one node that did not start skips only its pairs, naming the node', () => {
    const plan = planRun(sc, { ...base, listenerIPs: { 'lst@n1': '10.244.1.9' }, perNode: ['n1', 'n2'] });
    expect(plan.checks.filter((c) => c.skipped).map((c) => [c.node, c.targetNode, c.skipped])).toEqual([
      ['n1', 'n2', 'listener for lst on n2 has no IP (it did not start)'],
      ['n2', 'n2', 'listener for lst on n2 has no IP (it did not start)'],
    ]);
  });
});
