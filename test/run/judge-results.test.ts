/** From what ran to verdicts: where each check's observation comes from, or why it has none. */
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../../src/model/errors.js';
import type { AgentCheckResult, Outcome } from '../../src/model/outcome.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { ProbePodResult } from '../../src/probe/lifecycle.js';
import { judgeResults, type RunResults } from '../../src/run/judge-results.js';
import { planRun } from '../../src/run/plan.js';
import { cell, platformSnapshot, podSource, runnerSource, scenario, targets } from './scenario-builder.js';

const snapshot = platformSnapshot();
const context = { snapshot, engine: createPolicyEngine(snapshot), workloadLabels: {}, assess: {} };

/** One pod source and the runner, each checking the MinIO LoadBalancer address; plus one unplannable cell. */
function plan() {
  const sc = scenario(
    [podSource('serving', 'financial-ml', { labels: { app: 'serving' } }), runnerSource()],
    [targets.address('minio', '192.168.1.200', 9000), targets.listener('lst', 'other', 8080)],
    [cell('serving', 'minio', 'allow'), cell('runner', 'minio', 'allow'), cell('serving', 'lst', 'deny')],
  );
  return planRun(sc, { workloadLabels: {}, listenerIPs: {}, services: snapshot.services, timeoutMs: 1000, retries: 0 });
}

const p = plan();
const podKey = p.pods[0]!.key;
const result = (id: string, outcome: Outcome): AgentCheckResult => ({ id, outcome, attempts: [{ outcome, ms: 5 }] });
const done = (results: AgentCheckResult[]): ProbePodResult => ({
  kind: 'done',
  key: podKey,
  namespace: 'financial-ml',
  name: 'netcheck-probe-0',
  node: 'node-b',
  results,
  complete: true,
  problems: [],
});
const failed: ProbePodResult = { kind: 'failed', key: podKey, namespace: 'financial-ml', name: 'netcheck-probe-0', error: new ProbeError('ImagePullBackOff: no such image', { reason: 'ImagePullBackOff' }) };

describe('judgeResults', () => {
  it.each<{ name: string; results: RunResults; pod: [string, string | undefined, string | undefined]; runner: [string, string | undefined] }>([
    {
      name: 'both ran and reported',
      results: { podResults: [done([result('0', { kind: 'connected' })])], runner: { results: [result('1', { kind: 'timeout' })] } },
      pod: ['connected', 'financial-ml/netcheck-probe-0', 'node-b'],
      runner: ['timeout', undefined],
    },
    {
      name: 'the pod ran but did not report the check; the runner failed',
      results: { podResults: [done([])], runner: { error: 'the local agent failed (exit code 1)' } },
      pod: ['error', 'financial-ml/netcheck-probe-0', 'the agent did not report this check'],
      runner: ['error', 'the local agent failed (exit code 1)'],
    },
    {
      name: 'the pod could not start; the runner never ran',
      results: { podResults: [failed], runner: undefined },
      pod: ['error', 'financial-ml/netcheck-probe-0', 'ImagePullBackOff: no such image'],
      runner: ['error', 'the runner did not run'],
    },
    {
      name: 'the budget ran out before the pod settled',
      results: { podResults: [], runner: undefined, pendingReason: 'budget exceeded with 1 pod(s) still pending' },
      pod: ['error', undefined, 'budget exceeded with 1 pod(s) still pending'],
      runner: ['error', 'the runner did not run'],
    },
    {
      name: 'the pod never settled, no budget reason',
      results: { podResults: [], runner: undefined },
      pod: ['error', undefined, 'probe pod for serving did not finish'],
      runner: ['error', 'the runner did not run'],
    },
  ])('$name', ({ results, pod, runner }) => {
    const cells = judgeResults(p, results, context);
    expect(cells.map((c) => [c.source, c.target])).toEqual([
      ['serving', 'minio'],
      ['runner', 'minio'],
      ['serving', 'lst'],
    ]);
    const [fromPod, fromRunner, unplanned] = cells;
    const [podOutcome, probe, podDetail] = pod;
    expect(fromPod?.outcome.kind).toBe(podOutcome);
    expect(fromPod?.probe).toBe(probe);
    if (podOutcome === 'error') {
      expect(fromPod?.classification).toBe('probe');
      expect(fromPod?.reason).toBe(`probe did not run: ${podDetail}`);
    } else {
      expect(fromPod?.node).toBe(podDetail);
      expect(fromPod?.pass).toBe(true);
    }
    expect(fromRunner?.probe).toBe('runner');
    expect(fromRunner?.outcome.kind).toBe(runner[0]);
    if (runner[1] !== undefined) expect(fromRunner?.reason).toBe(`probe did not run: ${runner[1]}`);
    // A check that could not be planned says why, whatever happened to its pod.
    expect(unplanned?.classification).toBe('probe');
    expect(unplanned?.reason).toMatch(/^probe did not run: listener for lst has no IP/);
  });

  it.each([
    { name: 'endpoints known: a rejection', readyEndpoints: 2, reason: /observed refused \(rejected: the data plane refused it, or nothing listens on the port in the endpoint pods\)/ },
    { name: 'endpoints unknown: cannot tell', readyEndpoints: undefined, reason: /^refused: either nothing listens on mlflow\.financial-ml:5000 or the data plane rejected/ },
  ])('a refusal is read with the Service the snapshot knows: $name', ({ readyEndpoints, reason }) => {
    const sc = scenario(
      [podSource('serving', 'financial-ml', { labels: { app: 'serving' } })],
      [targets.service('mlflow', 'mlflow', 'financial-ml', 5000)],
      [cell('serving', 'mlflow', 'allow')],
    );
    const base = platformSnapshot();
    const known = { ...base, services: base.services.map((svc) => (svc.name === 'mlflow' && readyEndpoints !== undefined ? { ...svc, readyEndpoints } : svc)) };
    const planned = planRun(sc, { workloadLabels: {}, listenerIPs: {}, services: known.services, timeoutMs: 1000, retries: 0 });
    const [verdict] = judgeResults(
      planned,
      { podResults: [{ ...done([result('0', { kind: 'refused' })]), key: planned.pods[0]!.key }], runner: undefined },
      { snapshot: known, engine: createPolicyEngine(known), workloadLabels: {}, assess: {} },
    );
    expect(verdict?.pass).toBe(false);
    expect(verdict?.reason).toMatch(reason);
    if (readyEndpoints === undefined) expect(verdict?.classification).toBe('unknown');
    else expect(verdict?.classification).not.toBe('unknown');
  });

  it('a failing cell whose name did not resolve asks what policy says about the source’s own DNS', () => {
    const sc = scenario(
      [podSource('serving', 'financial-ml', { labels: { app: 'serving' } })],
      [targets.service('mlflow', 'mlflow', 'financial-ml', 5000)],
      [cell('serving', 'mlflow', 'allow')],
    );
    const unlabeled = platformSnapshot({ kubeSystemLabeled: false });
    const planned = planRun(sc, { workloadLabels: {}, listenerIPs: {}, services: unlabeled.services, timeoutMs: 1000, retries: 0 });
    const [verdict] = judgeResults(
      planned,
      { podResults: [{ ...done([result('0', { kind: 'dns-timeout' })]), key: planned.pods[0]!.key }], runner: undefined },
      { snapshot: unlabeled, engine: createPolicyEngine(unlabeled), workloadLabels: {}, assess: {} },
    );
    expect(verdict?.classification).toBe('dns');
    expect(verdict?.findings?.[0]).toMatch(/^policy denies this source's DNS lookups/);
    expect(verdict?.findings).toContain('namespace kube-system has no label name, but financial-ml/financial-ml-baseline selects it by namespaceSelector name=kube-system — fix: kubectl label namespace kube-system name=kube-system');
  });

  it('judges ipBlock rules with the probe pod’s own IP once it ran (a real cluster showed an ingress ipBlock admitting a probe the policy column denied)', () => {
    const sc = scenario([podSource('serving', 'financial-ml', { labels: { app: 'serving' } })], [targets.service('scheduler', 'scheduler', 'seldon-system', 9005)], [cell('serving', 'scheduler', 'allow')]);
    const fenced = platformSnapshot();
    fenced.policies.push({ name: 'pod-cidr-only', namespace: 'seldon-system', podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] });
    const planned = planRun(sc, { workloadLabels: {}, listenerIPs: {}, services: fenced.services, timeoutMs: 1000, retries: 0 });
    const judge = (ip: string | undefined) =>
      judgeResults(
        planned,
        { podResults: [{ ...done([result('0', { kind: 'connected' })]), key: planned.pods[0]!.key, ...(ip !== undefined ? { ip } : {}) }], runner: undefined },
        { snapshot: fenced, engine: createPolicyEngine(fenced), workloadLabels: {}, assess: {} },
      )[0];
    expect(judge('10.244.2.7')).toMatchObject({ policy: 'allow', pass: true });
    expect(judge('192.0.2.9')).toMatchObject({ policy: 'deny' }); // an address outside the block: the column denies
    expect(judge(undefined)?.policy).toBe('deny');
  });
});
