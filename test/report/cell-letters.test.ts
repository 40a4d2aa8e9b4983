/**
 * The table's letters agree with its legend (issue 9 item 4): each observed letter is read from real verdicts
 * (judgeCell), and every letter a cell can show is explained by the legend the table prints.
 */
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/model/outcome.js';
import type { PolicyView } from '../../src/model/verdict.js';
import { CELL_LEGEND, expectedLetter, observedLetter } from '../../src/report/cell-text.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderTable } from '../../src/report/render-table.js';
import { judgeCell } from '../../src/run/verdict.js';
import { intentOf, type OutcomeExpectation, type Target } from '../../src/scenario/types.js';
import { runResult, targets } from '../run/scenario-builder.js';

const svc = targets.service('predictor', 'predictor', 'financial-ml', 8080);
const dnsT = targets.dns('kube-dns');
const ext = targets.address('ext', '198.51.100.7', 443);
const listener = targets.listener('other', 'other-ns', 8080);

function judged(target: Target, expect: 'allow' | 'deny' | OutcomeExpectation, policy: PolicyView, outcome: Outcome | 'not-run', readyEndpoints?: number) {
  const intent = expect === 'allow' || expect === 'deny' ? expect : intentOf(expect);
  return judgeCell({
    cell: { source: 'outsider', target: target.name, expect: intent, ...(intent !== expect ? { outcome: expect as OutcomeExpectation } : {}) },
    target,
    policy: { view: policy, explanation: [] },
    observed: outcome === 'not-run' ? { kind: 'not-run', reason: 'ImagePullBackOff' } : { kind: 'observed', outcome, attempts: [{ outcome, ms: 1 }] },
    ...(readyEndpoints !== undefined ? { readyEndpoints } : {}),
  });
}

const cases: Array<{ name: string; cell: ReturnType<typeof judged>; letters: string }> = [
  { name: 'connected', cell: judged(svc, 'allow', 'allow', { kind: 'connected' }), letters: 'AA' },
  { name: 'timeout', cell: judged(svc, 'deny', 'deny', { kind: 'timeout' }), letters: 'DD' },
  { name: 'refusal from a listener (blocked)', cell: judged(listener, 'deny', 'deny', { kind: 'refused' }), letters: 'DD' },
  { name: 'refusal nobody can attribute', cell: judged(ext, 'deny', 'unknown', { kind: 'refused' }), letters: 'D?' },
  // Issue 9 item 4: the Service has no endpoints; kube-proxy's refusal is blocked, and the cell fails as unknown.
  { name: 'deny against a Service without endpoints', cell: judged(svc, 'deny', 'deny', { kind: 'refused' }, 0), letters: 'DD' },
  { name: 'service name that did not resolve (deny)', cell: judged(svc, 'deny', 'deny', { kind: 'dns-nxdomain' }), letters: 'DN' },
  { name: 'service name that did not resolve (allow)', cell: judged(svc, 'allow', 'allow', { kind: 'dns-timeout' }), letters: 'AN' },
  { name: 'dns target answered NXDOMAIN when a name was expected', cell: judged(dnsT, 'allow', 'allow', { kind: 'dns-nxdomain' }), letters: 'AN' },
  { name: 'dns target answered although denied: the path is open', cell: judged(dnsT, 'deny', 'deny', { kind: 'dns-nxdomain' }), letters: 'DA' },
  { name: 'dns target blocked as intended', cell: judged(dnsT, 'deny', 'deny', { kind: 'dns-timeout' }), letters: 'DD' },
  { name: 'nxdomain expected and observed', cell: judged(svc, 'nxdomain', 'unknown', { kind: 'dns-nxdomain' }), letters: 'NN' },
  { name: 'nxdomain expected, the name exists', cell: judged(dnsT, 'nxdomain', 'allow', { kind: 'resolved', addresses: ['10.0.0.1'] }), letters: 'NA' },
  { name: 'probe did not run', cell: judged(svc, 'allow', 'allow', 'not-run'), letters: 'AP' },
  { name: 'agent error', cell: judged(svc, 'allow', 'allow', { kind: 'error', message: 'EMFILE' }), letters: 'AP' },
  { name: 'refused expected and observed', cell: judged(listener, 'refused', 'deny', { kind: 'refused' }), letters: 'DD' },
];

describe('table letters', () => {
  it.each(cases)('$name → $letters', ({ cell, letters }) => {
    expect(`${expectedLetter(cell)}${observedLetter(cell)}`).toBe(letters);
  });

  it('every letter a cell can show is in the legend', () => {
    const legendLetters = [...CELL_LEGEND.matchAll(/(?:^|[:,] )([A-Z?]) /g)].map((m) => m[1]);
    for (const { cell } of cases) {
      expect(legendLetters).toContain(expectedLetter(cell));
      expect(legendLetters).toContain(observedLetter(cell));
    }
    expect(legendLetters.sort()).toEqual(['?', 'A', 'D', 'N', 'P']);
  });

  it('the table prints them with the legend', () => {
    const cells = cases.slice(0, 6).map((c, i) => ({ ...c.cell, target: `t${i}` }));
    const text = renderTable(runResult(cells), 200);
    expect(text).toContain('D?✗');
    expect(text).toContain('DN✗');
    expect(text).toContain('? refused by an unknown party');
  });
});

describe('the JSON report carries what the letters are read from', () => {
  it('expectOutcome, path and the ClusterIP retry', () => {
    const retried = judgeCell({
      cell: { source: 'a', target: 'predictor', expect: 'allow' },
      target: svc,
      policy: { view: 'allow', explanation: [] },
      observed: { kind: 'observed', outcome: { kind: 'dns-timeout' }, attempts: [] },
      clusterIPRetry: { address: '10.96.0.9', port: 8080, outcome: { kind: 'connected' } },
    });
    const refused = judged(listener, 'refused', 'deny', { kind: 'refused' });
    const cells = (JSON.parse(renderJson(runResult([retried, { ...refused, target: 'other' }]))) as { cells: Array<Record<string, unknown>> }).cells;
    expect(cells[0]).toMatchObject({ path: 'unknown', clusterIPRetry: { address: '10.96.0.9', port: 8080, outcome: { kind: 'connected' }, path: 'open' } });
    expect(cells[0]).not.toHaveProperty('expectOutcome');
    expect(cells[1]).toMatchObject({ expect: 'deny', expectOutcome: 'refused', path: 'blocked' });
  });
});
