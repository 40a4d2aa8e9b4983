/**
 * src/report/watch-metrics.ts: what one run's result becomes in Prometheus, and the consecutive-failure streaks
 * the alert rules page on.
 */
import { describe, expect, it } from 'vitest';
import { ClusterError, ExitCode, NetcheckError, ProbeError, ScenarioError } from '../../src/model/errors.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { runErrorReason, runMetrics } from '../../src/report/watch-metrics.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });

describe('runMetrics: cells', () => {
  it('one series per (source, target, expect) with the scenario name; 1 pass, 0 fail', () => {
    const result = runResult([
      verdict({ source: 'serving', target: 'cluster-dns' }),
      fail({ source: 'training', target: 'cluster-dns', classification: 'dns' }),
      fail({ source: 'outsider', target: 'mlflow', expect: 'deny', classification: 'policy-gap' }),
    ]);
    const { cells, failing } = runMetrics(result, []);
    expect(cells).toEqual([
      { labels: { scenario: 'financial-ml', source: 'serving', target: 'cluster-dns', expect: 'allow' }, ok: 1 },
      { labels: { scenario: 'financial-ml', source: 'training', target: 'cluster-dns', expect: 'allow' }, ok: 0 },
      { labels: { scenario: 'financial-ml', source: 'outsider', target: 'mlflow', expect: 'deny' }, ok: 0 },
    ]);
    expect(failing.map((f) => [f.labels.source, f.labels.classification, f.runs])).toEqual([
      ['training', 'dns', 1],
      ['outsider', 'policy-gap', 1],
    ]);
  });

  it('a --per-node run folds the nodes of a pair into one series (no node label): one failing node fails it, with the worst classification', () => {
    const result = runResult([
      verdict({ source: 'serving', target: 'mlflow', pinnedNode: 'node-a' }),
      fail({ source: 'serving', target: 'mlflow', pinnedNode: 'node-b', classification: 'unknown' }),
      fail({ source: 'serving', target: 'mlflow', pinnedNode: 'node-c', classification: 'data-plane' }),
    ]);
    const { cells, failing } = runMetrics(result, []);
    expect(cells).toHaveLength(1);
    expect(cells[0]?.ok).toBe(0);
    expect(failing).toEqual([{ labels: { scenario: 'financial-ml', source: 'serving', target: 'mlflow', expect: 'allow', classification: 'data-plane' }, runs: 1 }]);
  });

  it('a known gap is 0 with classification known-gap', () => {
    const { cells, failing } = runMetrics(runResult([fail({ source: 'outsider', target: 'mlflow', classification: 'known-gap', known: 'documented' })]), []);
    expect(cells[0]?.ok).toBe(0);
    expect(failing[0]?.labels.classification).toBe('known-gap');
  });
});

describe('runMetrics: consecutive failures', () => {
  const dnsDown = runResult([fail({ source: 'serving', target: 'cluster-dns', classification: 'dns' })]);
  const dnsUp = runResult([verdict({ source: 'serving', target: 'cluster-dns' })]);
  const dataPlane = runResult([fail({ source: 'serving', target: 'cluster-dns', classification: 'data-plane' })]);

  it('counts runs in a row that failed with the same classification, and starts again after a pass', () => {
    const first = runMetrics(dnsDown, []);
    const second = runMetrics(dnsDown, [], first.streaks);
    const third = runMetrics(dnsDown, [], second.streaks);
    expect([first, second, third].map((m) => m.failing[0]?.runs)).toEqual([1, 2, 3]);
    const passed = runMetrics(dnsUp, [], third.streaks);
    expect(passed.failing).toEqual([]);
    expect(runMetrics(dnsDown, [], passed.streaks).failing[0]?.runs).toBe(1);
  });

  it('a change of classification starts a new streak (a probe failure then a DNS one is not two DNS failures)', () => {
    const probe = runMetrics(runResult([fail({ source: 'serving', target: 'cluster-dns', classification: 'probe' })]), []);
    expect(runMetrics(dnsDown, [], probe.streaks).failing[0]?.runs).toBe(1);
    expect(runMetrics(dataPlane, [], runMetrics(dnsDown, []).streaks).failing[0]).toMatchObject({ runs: 1, labels: { classification: 'data-plane' } });
  });
});

describe('runMetrics: findings', () => {
  it('counts findings by kind (the DNS chain, else the classification of their cells, else run) and owner', () => {
    const cells = [fail({ source: 'serving', target: 'scheduler', classification: 'policy-gap' }), fail({ source: 'training', target: 'mlflow', classification: 'data-plane' })];
    const result = runResult(cells, {
      findings: ['label the namespace', 'node-b is broken', 'DNS chain: CoreDNS has no endpoints', 'nodes left out: node-c'],
      findingCells: [
        { text: 'label the namespace', cells: [{ source: 'serving', target: 'scheduler' }], owner: 'application team' },
        { text: 'node-b is broken', cells: [{ source: 'training', target: 'mlflow', node: 'node-b' }], owner: 'platform team' },
        { text: 'DNS chain: CoreDNS has no endpoints', cells: [{ source: 'training', target: 'mlflow' }], owner: 'platform team', kind: 'dns-chain' },
      ],
    });
    expect(runMetrics(result, []).findings).toEqual([
      { labels: { kind: 'policy-gap', owner: 'application' }, count: 1 },
      { labels: { kind: 'data-plane', owner: 'platform' }, count: 1 },
      { labels: { kind: 'dns-chain', owner: 'platform' }, count: 1 },
      { labels: { kind: 'run', owner: 'unassigned' }, count: 1 },
    ]);
  });
});

describe('runMetrics: errors (a run that could not probe is an error, not a pass)', () => {
  it('names each reason once per run, in a fixed set', () => {
    const failures = [
      new ProbeError('pod a never ran: ErrImagePull', { pod: 'a', reason: 'ImagePullFailed' }),
      new ProbeError('pod b never ran: ErrImagePull', { pod: 'b', reason: 'ImagePullFailed' }),
      new ProbeError('budget exceeded with 1 pod(s) still pending', { reason: 'BudgetExceeded' }),
    ];
    expect(runMetrics(runResult([]), failures).errors).toEqual(['probe-pod-failed', 'budget-exceeded']);
  });

  it.each([
    [new ClusterError('cannot reach https://10.0.0.1:6443', { reason: 'Unreachable' }), 'cluster-unreachable'],
    [new ClusterError('list pods: forbidden', { verb: 'list', resource: 'pods', reason: 'Forbidden' }), 'forbidden'],
    [new ProbeError('create pod refused', { reason: 'AdmissionDenied' }, { cause: new ClusterError('denied', { reason: 'PodSecurity' }) }), 'forbidden'],
    [new ClusterError('namespace x does not exist', { reason: 'ScenarioNotOnCluster' }), 'scenario-not-on-cluster'],
    [new ScenarioError({ file: 's.yaml', line: 3 }, 'bad'), 'scenario-not-on-cluster'],
    [new NetcheckError('bug', ExitCode.Internal), 'internal'],
    [new NetcheckError('stopped (SIGTERM) before the run finished', ExitCode.Interrupted), undefined],
  ] as const)('%s → %s', (error, reason) => {
    expect(runErrorReason(error)).toBe(reason);
  });
});
