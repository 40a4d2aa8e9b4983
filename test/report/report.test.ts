import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CellVerdict, RunResult } from '../../src/model/verdict.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderTable } from '../../src/report/render-table.js';
import { summarizeCells } from '../../src/run/verdict.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

function fixedResult(): RunResult {
  const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });
  const cells: CellVerdict[] = [
    verdict({ source: 'serving', target: 'kube-dns', outcome: { kind: 'resolved', addresses: ['10.43.0.10'] }, node: 'node-a', probe: 'financial-ml/netcheck-r1-0', reason: 'resolved 10.43.0.10, as expected (allow)' }),
    verdict({ source: 'serving', target: 'mlflow', outcome: { kind: 'http', status: 200 }, node: 'node-a', probe: 'financial-ml/netcheck-r1-0', reason: 'http:200, as expected (allow)' }),
    fail({
      source: 'serving',
      target: 'scheduler',
      policy: 'deny',
      outcome: { kind: 'timeout' },
      attempts: [{ outcome: { kind: 'timeout' }, ms: 1000 }, { outcome: { kind: 'timeout' }, ms: 1001 }],
      classification: 'policy-gap',
      node: 'node-a',
      probe: 'financial-ml/netcheck-r1-0',
      reason: 'expected allow, observed timeout, and the policies say deny: egress: denied, isolated by financial-ml/financial-ml-isolation and no rule admits TCP/9005',
      policyExplanation: ['egress: denied, isolated by financial-ml/financial-ml-isolation and no rule admits TCP/9005; near miss: namespaceSelector name=seldon-system: namespace seldon-system has no label `name`', 'ingress: allowed, no policy isolates this side'],
      findings: ['namespace seldon-system has no label name, but financial-ml/financial-ml-isolation selects it by namespaceSelector name=seldon-system — fix: kubectl label namespace seldon-system name=seldon-system'],
    }),
    verdict({ source: 'training', target: 'kube-dns', outcome: { kind: 'resolved', addresses: [] }, node: 'node-b', reason: 'resolved, as expected (allow)' }),
    fail({ source: 'training', target: 'mlflow', outcome: { kind: 'dns-timeout' }, attempts: [{ outcome: { kind: 'dns-timeout' }, ms: 1000 }], classification: 'dns', node: 'node-b', reason: 'mlflow.financial-ml did not resolve (dns-timeout): a DNS fault, not a policy verdict' }),
    fail({ source: 'training', target: 'scheduler', expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane', node: 'node-b', reason: 'expected deny, observed connected; policies say deny: the data plane lets it through (the CNI does not enforce this policy)' }),
    fail({ source: 'outsider', target: 'mlflow', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'known-gap', known: 'seeds: the "<baseline>" & app policy | contradict', reason: 'known gap: seeds: the "<baseline>" & app policy | contradict' }),
    fail({ source: 'outsider', target: 'scheduler', expect: 'deny', policy: 'deny', outcome: { kind: 'error', message: 'pod never ran: ErrImagePull <node:20-alpine>' }, attempts: [], classification: 'probe', reason: 'probe did not run: ErrImagePull <node:20-alpine>' }),
    verdict({ source: 'runner', target: 'mlflow-lb', policy: 'unknown', outcome: { kind: 'connected' }, probe: 'runner', reason: 'connected, as expected (allow)' }),
  ];
  const broken = 'data plane broken on node node-b: 1 check(s) fail from it that pass from other nodes';
  return runResult(cells, { findings: [broken], findingCells: [{ text: broken, cause: 'data plane broken on node node-b', owner: 'platform team', next: 'netcheck run financial-ml --per-node', cells: [{ source: 'training', target: 'scheduler', node: 'node-b' }] }] });
}

function golden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** Minimal XML well-formedness: balanced tags, escaped text and attributes. */
function checkWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\n/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    expect(between).not.toMatch(/[<>]/);
    expect(between).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    const [, closing, name, attrs, selfClosing] = m;
    expect(attrs ?? '').not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name as string);
    last = tag.lastIndex;
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

describe('renderers (golden files in test/report/golden; UPDATE_GOLDEN=1 rewrites them)', () => {
  const result = fixedResult();

  it.each([
    ['table.txt', renderTable],
    ['report.json', renderJson],
    ['junit.xml', renderJunit],
    ['summary.md', renderMarkdown],
  ] as const)('%s', (name, render) => {
    golden(name, render(result));
  });

  it('table fits 100 columns', () => {
    for (const line of renderTable(result).split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
  });

  it('table splits a wide matrix into blocks of columns', () => {
    const cells = Array.from({ length: 40 }, (_, i) => verdict({ source: 's', target: `target-${i}` }));
    const wide: RunResult = { ...result, cells, summary: summarizeCells(cells), findings: [] };
    const lines = renderTable(wide).split('\n');
    expect(lines.filter((l) => l.startsWith('s ')).length).toBeGreaterThan(1);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(100);
  });

  it('JSON carries every cell with the documented fields', () => {
    const doc = JSON.parse(renderJson(result)) as { runId: string; cells: Array<Record<string, unknown>>; summary: { failed: number } };
    expect(doc.runId).toBe('r1');
    expect(doc.cells).toHaveLength(result.cells.length);
    for (const c of doc.cells) {
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['source', 'target', 'expect', 'policy', 'outcome', 'pass', 'classification', 'reason', 'attempts', 'node']));
    }
    expect(doc.summary.failed).toBe(4);
  });

  it('JUnit is well-formed, one testcase per cell, failures carry the diagnosis, a probe that never ran is an error, known gaps are skipped', () => {
    const xml = renderJunit(result);
    checkWellFormed(xml);
    expect(xml.match(/<testcase /g)).toHaveLength(result.cells.length);
    expect(xml.match(/<failure /g)).toHaveLength(3);
    expect(xml.match(/<error /g)).toHaveLength(1);
    expect(xml.match(/<skipped /g)).toHaveLength(1);
    expect(xml).toContain('finding: namespace seldon-system has no label name');
    expect(xml).toContain('&quot;&lt;baseline&gt;&quot; &amp; app policy');
  });

  it('Markdown: root cause first (one line per cause), then the failures under their cause, then what no cause explains and what could not run; known gaps and all cells folded', () => {
    const md = renderMarkdown(result);
    const at = (text: string): number => {
      expect(md).toContain(text);
      return md.indexOf(text);
    };
    const order = [
      at('**CAUSE 1 (1 cell):** data plane broken on node node-b'),
      at('Run `r1`'),
      at('### Failures by cause'),
      at('#### CAUSE 1 (1 cell): data plane broken on node node-b'),
      at('Cells: training → scheduler (node-b)'),
      at('### Unexplained failures'),
      at('| ✗ | serving | scheduler |'),
      at('### Could not run'),
      at('| ✗ | outsider | scheduler |'),
      at('<details><summary>Known gaps (1, documented in the scenario'),
      at('- outsider → mlflow: seeds:'),
      at('<details><summary>All cells (9)</summary>'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(md.split('\n')[0]).toBe('## netcheck · financial-ml · ❌ 3 failed, 1 could not run');
    expect(md.split('\n')[2]).toBe('**CAUSE 1 (1 cell):** data plane broken on node node-b — platform team — next: `netcheck run financial-ml --per-node`');
    const unexplained = md.slice(at('### Unexplained failures'), at('### Could not run'));
    expect(unexplained).not.toContain('| outsider | scheduler |');
    expect(unexplained).not.toContain('| training | scheduler |');
    expect(unexplained).toContain('kubectl label namespace seldon-system name=seldon-system');
    // The cause's finding is said under CAUSE 1, not again among the other findings.
    expect(md).not.toContain('### Findings');
  });

  it('Markdown escapes table-breaking characters', () => {
    const md = renderMarkdown(result);
    const section = md.slice(md.indexOf('### Failures'), md.indexOf('### Could not run'));
    const failureRows = section.split('\n').filter((l) => l.startsWith('| ✗'));
    expect(failureRows.length).toBeGreaterThan(0);
    for (const row of failureRows) expect(row.split(/(?<!\\)\|/).length).toBe(11);
  });
});
