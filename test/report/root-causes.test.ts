/**
 * Root cause first (issue 21), pure: failing cells grouped under the finding that explains them, causes with the
 * most cells first, one name per cause on every cell, the table and Markdown opening with the causes, and DNS
 * chains that share a verdict printed once.
 */
import { describe, expect, it } from 'vitest';
import { rootCauses, withCauses } from '../../src/diagnose/root-causes.js';
import type { DnsChain, DnsLink } from '../../src/model/dns-chain.js';
import type { CellVerdict, RunFinding } from '../../src/model/verdict.js';
import { renderDnsChainMarkdown, renderDnsChainText } from '../../src/report/render-dns-chain.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { ranges, renderTable } from '../../src/report/render-table.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const COREDNS = 'CoreDNS has no ready pod (Deployment kube-system/coredns scaled to 0)';
const SOURCES = ['serving', 'training', 'seldon', 'outsider'];
const TARGETS = ['cluster-dns', 'cluster-dns-tcp', 'scheduler-name', 'mlflow-name', 'seldon-scheduler', 'predictor'];

/** Every source's lookups fail (CoreDNS at 0); serving → predictor is also a policy gap found first by another finding. */
function dnsDown(): { cells: CellVerdict[]; findings: RunFinding[] } {
  const cells: CellVerdict[] = [];
  for (const source of SOURCES) {
    for (const target of TARGETS) {
      cells.push(
        verdict({
          source,
          target,
          pass: false,
          classification: 'dns',
          outcome: { kind: 'dns-timeout' },
          node: source === 'seldon' ? 'node-b' : 'node-a',
          reason: `${target} did not resolve (dns-timeout)`,
          // Two names for the same outage, as the per-cell diagnosis words them.
          findings:
            target === 'cluster-dns'
              ? ['service kube-system/kube-dns has no ready endpoints (its selector matches no pod): connections to it cannot succeed whatever the policies say']
              : ['policies allow this source to reach cluster DNS: the DNS service itself is down, or its packets are dropped', 'an unrelated note'],
        }),
      );
    }
  }
  cells.push(verdict({ source: 'outsider', target: 'default-listener', pass: false, classification: 'policy-gap', policy: 'deny', outcome: { kind: 'timeout' }, node: 'node-a', reason: 'policy says deny' }));
  cells.push(verdict({ source: 'serving', target: 'default-listener', outcome: { kind: 'connected' }, node: 'node-a', reason: 'ok' }));
  const dnsCells = cells.filter((c) => c.classification === 'dns').map((c) => ({ source: c.source, target: c.target, node: c.node as string }));
  const findings: RunFinding[] = [
    {
      kind: 'dns-chain',
      text: `DNS chain from outsider, seldon, serving, training on node-a, node-b: broken at coredns — ${COREDNS}`,
      cause: COREDNS,
      cells: dnsCells,
      owner: 'platform team',
      next: 'kubectl -n kube-system get deploy coredns',
    },
    // A later finding naming a cell the DNS chain already explains, and one cell of its own.
    {
      text: '2 cells: traffic from default to default — the scenario allows it, the policies block it',
      cause: 'policy gap: traffic from default to default — the scenario allows it, the policies block it',
      cells: [{ source: 'outsider', target: 'cluster-dns', node: 'node-a' }, { source: 'outsider', target: 'default-listener', node: 'node-a' }],
      owner: 'application team',
      next: 'kubectl describe networkpolicy -n default',
    },
    // About a passing cell only: not a cause.
    { text: 'serving reached default-listener through a node that does not enforce', cells: [{ source: 'serving', target: 'default-listener' }] },
  ];
  return { cells, findings };
}

describe('rootCauses', () => {
  it('puts each failing cell under the first finding naming it, most cells first; leaves apart what no finding explains and findings about passing cells', () => {
    const { cells, findings } = dnsDown();
    const extra = verdict({ source: 'seldon', target: 'default-listener', pass: false, classification: 'data-plane', outcome: { kind: 'timeout' }, reason: 'dropped' });
    const { causes, unexplained, others } = rootCauses({ cells: [...cells, extra], findingCells: findings });
    expect(causes.map((c) => [c.name, c.cells.length])).toEqual([
      [COREDNS, 24],
      ['policy gap: traffic from default to default — the scenario allows it, the policies block it', 1],
    ]);
    expect(unexplained).toEqual([extra]);
    expect(others.map((f) => f.text)).toEqual(['serving reached default-listener through a node that does not enforce']);
  });

  it('orders by cells explained, not by the diagnosis order, when a later finding explains more', () => {
    const { cells, findings } = dnsDown();
    const reordered = [findings[1] as RunFinding, { ...(findings[0] as RunFinding), cells: (findings[0] as RunFinding).cells.slice(0, 3) }];
    const { causes } = rootCauses({ cells, findingCells: reordered });
    expect(causes.map((c) => c.cells.length)).toEqual([3, 2]);
    expect(causes[0]?.name).toBe(COREDNS);
  });

  it('withCauses: every cell a cause explains carries its one name, and no other wording of the same DNS outage', () => {
    const { cells, findings } = dnsDown();
    const explained = withCauses(cells, findings).filter((c) => c.classification === 'dns');
    expect(new Set(explained.map((c) => c.cause))).toEqual(new Set([COREDNS]));
    const wording = explained.flatMap((c) => c.findings ?? []);
    expect(wording.filter((f) => /kube-dns|cluster DNS/.test(f))).toEqual([]);
    expect(wording).toContain('an unrelated note');
    // A cell nothing explains is left as it was.
    const passing = withCauses(cells, findings).find((c) => c.pass);
    expect(passing?.cause).toBeUndefined();
  });
});

describe('reports, root cause first', () => {
  const result = () => {
    const { cells, findings } = dnsDown();
    return runResult(withCauses(cells, findings), { findings: findings.map((f) => f.text), findingCells: findings });
  };

  it('table: the causes come right after the headline, with count, owner and next command, before the table', () => {
    const lines = renderTable(result()).split('\n');
    const head = lines.slice(0, 5).join(' ').replace(/\s+/g, ' ');
    expect(head).toContain(`CAUSE 1 (24 cells): ${COREDNS} — platform team — next: kubectl -n kube-system get deploy coredns`);
    expect(head).toContain('CAUSE 2 (1 cell): policy gap: traffic from default to default');
    expect(lines.findIndex((l) => l.startsWith('CAUSE 1'))).toBeLessThan(lines.findIndex((l) => l.startsWith('serving ')));
  });

  it('table: a cause\'s cells take one or two lines; --show-cells lists each in full under its cause', () => {
    const text = renderTable(result());
    const section = text.slice(text.indexOf('Failures by cause'));
    const block = section.slice(section.indexOf(`CAUSE 1 (24 cells)`), section.indexOf('CAUSE 2'));
    const lines = block.split('\n');
    const first = lines.findIndex((l) => l.startsWith('    ✗ '));
    expect(first).toBeGreaterThan(0);
    let end = first + 1;
    while (end < lines.length && /^ {6}\S/.test(lines[end] as string)) end++;
    expect(end - first).toBeLessThanOrEqual(2);
    expect(block).toMatch(/serving → 1–6 · training → 1–6 · seldon → 1–6 · outsider → 1–6/);
    expect(block).not.toMatch(/why:/);
    const verbose = renderTable(result(), 100, { showCells: true });
    const vblock = verbose.slice(verbose.indexOf('Failures by cause'));
    expect(vblock.match(/^ {4}✗ \S+ → \S+ on node-\w \[dns\]/gm)).toHaveLength(24);
    // The outage is named once per cell in the same words: the cause line, never the per-cell wordings.
    expect(verbose).not.toMatch(/finding: (service kube-system\/kube-dns|policies allow this source to reach cluster DNS)/);
    for (const line of verbose.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
  });

  it('table: a cause\'s finding is not repeated among the other findings; a finding that explains no failure still is', () => {
    const text = renderTable(result());
    expect(text.match(/broken at coredns/g)).toHaveLength(1);
    expect(text).toMatch(/Other findings:\n {2}- serving reached default-listener/);
  });

  it('Markdown: the causes open the summary; each cause\'s cells are listed under it and folded in full', () => {
    const md = renderMarkdown(result());
    const lines = md.split('\n');
    expect(lines[2]).toBe(`**CAUSE 1 (24 cells):** ${COREDNS} — platform team — next: \`kubectl -n kube-system get deploy coredns\``);
    expect(lines[4]).toMatch(/^\*\*CAUSE 2 \(1 cell\):\*\* policy gap/);
    expect(md).toContain(`#### CAUSE 1 (24 cells): ${COREDNS}`);
    expect(md).toContain('<details><summary>Each cell (24)</summary>');
    expect(md).not.toContain('### Unexplained failures');
  });

  it('JSON and JUnit keep every cell, each failing cell with its cause', () => {
    const r = result();
    const json = JSON.parse(renderJson(r)) as { cells: Array<{ source: string; target: string; cause?: string; pass: boolean }> };
    expect(json.cells).toHaveLength(r.cells.length);
    expect(json.cells.filter((c) => c.cause === COREDNS)).toHaveLength(24);
    expect(json.cells.find((c) => c.pass)?.cause).toBeUndefined();
    const xml = renderJunit(r);
    expect(xml.match(/<testcase /g)).toHaveLength(r.cells.length);
    expect(xml.match(/<failure message="\[dns\] cause: CoreDNS has no ready pod/g)).toHaveLength(24);
  });

  it('a run whose result has no cause on its cells (an older JSON) still groups by its findings', () => {
    const { cells, findings } = dnsDown();
    const text = renderTable(runResult(cells, { findings: findings.map((f) => f.text), findingCells: findings }));
    expect(text.split('\n').slice(0, 4).join(' ')).toContain('CAUSE 1 (24 cells)');
  });
});

describe('DNS chains sharing a verdict', () => {
  const link = (id: DnsLink['id'], title: string, status: DnsLink['status'], evidence: string[]): DnsLink => ({ id, title, status, evidence });
  const chain = (description: string, namespace: string, node: string, lookups: string): DnsChain => ({
    kind: 'dns-chain',
    source: { namespace, labels: { app: description }, node, description, probe: `${namespace}/p-${description}` },
    nameserver: '10.96.0.10',
    links: [
      link('lookup', 'lookups through 10.96.0.10', 'broken', [`kubernetes.default over UDP to 10.96.0.10: ${lookups}`]),
      link('service', 'the nameserver’s Service and EndpointSlices', 'broken', ['EndpointSlices: 0 ready endpoint(s)']),
    ],
    verdict: { link: 'coredns', status: 'broken', text: COREDNS, owner: 'platform team', next: 'kubectl -n kube-system get deploy coredns' },
  });

  it('prints one chain listing the sources and nodes; a link seen differently on another node is shown per node', () => {
    const chains = [chain('serving', 'financial-ml', 'node-a', 'refused'), chain('training', 'pytorch', 'node-a', 'refused'), chain('seldon', 'seldon-system', 'node-b', 'dns-timeout')];
    const text = renderDnsChainText(chains);
    expect(text.match(/Verdict:/g)).toHaveLength(1);
    expect(text).toMatch(/^DNS chain shared by 3 sources/);
    for (const c of chains) expect(text).toContain(`probe ${c.source.probe}`);
    expect(text).toContain('1. lookups through 10.96.0.10: BROKEN — from serving on node-a; training on node-a');
    expect(text).toContain('1. lookups through 10.96.0.10: BROKEN — from seldon on node-b');
    expect(text.match(/2\. the nameserver’s Service/g)).toHaveLength(1);
    const md = renderDnsChainMarkdown(chains);
    expect(md.match(/\*\*Verdict/g)).toHaveLength(1);
    expect(md).toContain('(from seldon on node-b)');
  });

  it('keeps chains with different verdicts apart', () => {
    const other = { ...chain('outsider', 'default', 'node-b', 'dns-timeout'), verdict: { status: 'broken' as const, link: 'policy' as const, text: 'policy blocks port 53' } };
    const text = renderDnsChainText([chain('serving', 'financial-ml', 'node-a', 'refused'), other]);
    expect(text.match(/Verdict:/g)).toHaveLength(2);
    expect(text).not.toContain('shared by');
  });
});

describe('ranges', () => {
  it('writes runs of three or more as a range', () => {
    expect(ranges([1, 2, 3, 5, 7, 8])).toBe('1–3, 5, 7, 8');
    expect(ranges([4])).toBe('4');
    expect(ranges([])).toBe('');
  });
});
