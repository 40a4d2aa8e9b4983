/**
 * What the on-call engineer sees (src/report/render-table.ts, render-markdown.ts): the cluster the run talked to,
 * known gaps as one line (every one with --show-known), and --failures-only.
 */
import { describe, expect, it } from 'vitest';
import type { CellVerdict, RunResult } from '../../src/model/verdict.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderTable } from '../../src/report/render-table.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });
const known = (source: string, target: string, node?: string): CellVerdict =>
  fail({ source, target, policy: 'deny', outcome: { kind: 'timeout' }, classification: 'known-gap', known: `${source} cannot reach ${target}`, reason: `known gap: ${source} cannot reach ${target}`, ...(node ? { node } : {}) });

function result(): RunResult {
  return runResult([
    verdict({ source: 'serving', target: 'dns' }),
    verdict({ source: 'serving', target: 'predictor' }),
    fail({ source: 'serving', target: 'scheduler', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'policy-gap', reason: 'egress denied by financial-ml/financial-ml-isolation' }),
    verdict({ source: 'training', target: 'dns' }),
    known('training', 'predictor'),
    known('training', 'mlflow-lb'),
    verdict({ source: 'seldon', target: 'dns' }),
    verdict({ source: 'seldon', target: 'predictor' }),
  ]);
}

describe('the table for on-call', () => {
  it('names the cluster context and server under the headline', () => {
    const lines = renderTable(result()).split('\n');
    expect(lines[1]).toBe('cluster: context lab · https://127.0.0.1:6443');
    const noContext = renderTable({ ...result(), cluster: { server: 'https://10.0.0.1:6443', nodes: [], unknown: [] } }).split('\n');
    expect(noContext[1]).toBe('cluster: https://10.0.0.1:6443');
  });

  it('collapses known gaps to one line naming each pair (counting a pair seen from several nodes once, ×N)', () => {
    const r = result();
    const text = renderTable({ ...r, cells: [...r.cells, known('training', 'predictor', 'node-b')] }).replace(/\n  /g, ' ');
    expect(text).toContain('3 known gaps (documented in the scenario, not failing the run): training → predictor ×2, training → mlflow-lb; --show-known lists why');
    expect(text).not.toContain('why: known gap');
    expect(text).not.toContain('Known gaps (');
  });

  it('--show-known lists each known gap with its reason', () => {
    const text = renderTable(result(), 100, { showKnown: true });
    expect(text).toContain('Known gaps (2, not failing the run):');
    expect(text).toContain('why: known gap: training cannot reach predictor');
    expect(text).not.toContain('--show-known lists why');
  });

  it('--failures-only keeps only rows and columns with a failure, marks other cells ·, and keeps the reasons', () => {
    const text = renderTable(result(), 100, { failuresOnly: true });
    const lines = text.split('\n');
    expect(lines[2]).toBe('--failures-only: 1 failing cell of 8 shown');
    const matrix = lines.slice(lines.indexOf('') + 1, lines.indexOf('', lines.indexOf('') + 1));
    expect(matrix).toEqual(['        1', 'serving AD✗']);
    expect(text).toContain('targets: 1 scheduler');
    expect(text).toContain('why: egress denied by financial-ml/financial-ml-isolation');
    expect(text).toContain('2 known gaps (documented in the scenario, not failing the run)');
    expect(text).not.toMatch(/^training/m);
    // The verdict line still counts the whole run.
    expect(lines.at(-2)).toBe('FAIL 8 cells: 5 passed, 1 failed, 2 known gaps');
  });

  it('--failures-only on a run with one failure among other cells of the same row shows them as ·', () => {
    const r = result();
    const cells = [...r.cells, fail({ source: 'seldon', target: 'scheduler', classification: 'data-plane', reason: 'leak' })];
    const lines = renderTable({ ...r, cells }, 100, { failuresOnly: true }).split('\n');
    expect(lines).toContain('serving AD✗');
    expect(lines).toContain('seldon  AA✗');
    const two = runResult([fail({ source: 'a', target: 'x', reason: 'r' }), verdict({ source: 'a', target: 'y' }), fail({ source: 'b', target: 'y', reason: 'r' })]);
    const m = renderTable(two, 100, { failuresOnly: true }).split('\n');
    expect(m).toContain('a      AA✗  ·');
    expect(m).toContain('b      ·    AA✗');
  });
});

describe('Markdown for on-call', () => {
  it('names context and server', () => {
    expect(renderMarkdown(result())).toContain('Run `r1` on context `lab` (https://127.0.0.1:6443): 8 cells');
  });

  it('--failures-only drops the folded known gaps and all cells, keeping the failures with their reasons', () => {
    const full = renderMarkdown(result());
    expect(full).toContain('<details><summary>All cells (8)</summary>');
    const md = renderMarkdown(result(), { failuresOnly: true });
    expect(md).toContain('| ✗ | serving | scheduler |');
    expect(md).toContain('egress denied by financial-ml/financial-ml-isolation');
    expect(md).not.toContain('<details>');
    expect(md).not.toContain('| ✓ |');
    expect(md).toContain('2 known gaps (documented in the scenario) and the passing cells are not shown (--failures-only).');
  });
});
