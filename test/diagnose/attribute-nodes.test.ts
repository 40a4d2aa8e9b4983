import { describe, expect, it } from 'vitest';
import { attributeNodeFaults, findBrokenNodePairs } from '../../src/diagnose/attribute-nodes.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { verdict } from '../run/scenario-builder.js';

const at = (node: string | undefined) => (node === undefined ? {} : { node });
const passing = (node: string | undefined): CellVerdict => verdict({ source: 's', target: 't', ...at(node), outcome: { kind: 'connected' } });
const failing = (node: string | undefined, p: Partial<CellVerdict>): CellVerdict =>
  verdict({ source: 's', target: 't', ...at(node), pass: false, outcome: { kind: 'timeout' }, classification: 'data-plane', ...p });

describe('attributeNodeFaults', () => {
  const cases: Array<{ name: string; cells: CellVerdict[]; want: Array<string | RegExp> }> = [
    {
      name: 'DNS timeout from one node, resolved from the other: that node',
      cells: [failing('a', { outcome: { kind: 'dns-timeout' }, classification: 'dns', findings: ['policies allow this source to reach cluster DNS: the DNS service itself is down'] }), passing('b')],
      want: [/^fails from node a \(dns-timeout\) but passes from b: the data plane of node a drops it/, 'pass'],
    },
    {
      name: 'connection timeout only from one node',
      cells: [passing('a'), failing('b', {}), passing('c')],
      want: ['pass', /fails from node b \(timeout\) but passes from a, c/, 'pass'],
    },
    { name: 'fails from every node: left as judged', cells: [failing('a', { reason: 'x' }), failing('b', { reason: 'y' })], want: ['x', 'y'] },
    { name: 'an answer proves the path: NXDOMAIN stays a DNS fault', cells: [failing('a', { outcome: { kind: 'dns-nxdomain' }, classification: 'dns', reason: 'nx' }), passing('b')], want: ['nx', 'pass'] },
    { name: 'a policy gap keeps its reason', cells: [failing('a', { classification: 'policy-gap', reason: 'gap' }), passing('b')], want: ['gap', 'pass'] },
    { name: 'a probe fault keeps its reason', cells: [failing('a', { outcome: { kind: 'error', message: 'm' }, classification: 'probe', reason: 'probe' }), passing('b')], want: ['probe', 'pass'] },
    { name: 'no node (runner, not per-node): untouched', cells: [failing(undefined, { reason: 'r' }), passing(undefined)], want: ['r', 'pass'] },
  ];
  it.each(cases)('$name', ({ cells, want }) => {
    const out = attributeNodeFaults(cells);
    expect(out.map((c) => (c.pass ? 'pass' : c.reason))).toEqual(want.map((w) => (w === 'pass' ? 'pass' : typeof w === 'string' ? w : expect.stringMatching(w))));
    for (const [i, c] of out.entries()) {
      if (want[i] instanceof RegExp) {
        expect(c.classification).toBe('data-plane');
        expect(c.findings).toBeUndefined();
      }
      else expect(c).toBe(cells[i]);
    }
  });
});

describe('findBrokenNodePairs', () => {
  // Per-node listener cells: the probe on `from`, the listener on `to`.
  const cell = (from: string, to: string, pass: boolean, policy: 'allow' | 'deny' = 'allow'): CellVerdict =>
    verdict({ source: 's', target: 'listener', node: from, pinnedNode: from, targetNode: to, policy, pass, ...(pass ? { outcome: { kind: 'connected' } } : { outcome: { kind: 'timeout' }, classification: 'data-plane' }) });
  it('names the pair when every allowed check between two nodes goes unanswered and each node reaches itself', () => {
    const cells = [cell('a', 'a', true), cell('a', 'b', false), cell('b', 'a', false), cell('b', 'b', true), cell('a', 'b', false, 'deny')];
    const pairs = findBrokenNodePairs(cells);
    expect(pairs.map((p) => p.nodes)).toEqual([['a', 'b']]);
    expect(pairs[0]?.cells).toEqual([cells[1], cells[2]]);
    expect(attributeNodeFaults(cells)[1]?.reason).toMatch(/^fails between node a and node b \(timeout\) while checks within each pass: the path between these two nodes drops it/);
  });
  it('is not a pair fault when one node fails within itself too (that node is broken), or a check between them passes', () => {
    expect(findBrokenNodePairs([cell('a', 'a', false), cell('a', 'b', false), cell('b', 'a', false), cell('b', 'b', true)])).toEqual([]);
    expect(findBrokenNodePairs([cell('a', 'a', true), cell('a', 'b', true), cell('b', 'a', false), cell('b', 'b', true)])).toEqual([]);
  });
});
