/**
 * The JUnit report as CI systems read it: stable test names, <error> vs <failure> vs <skipped> with counts that
 * agree, run findings in the affected testcases' output, and validity against the Jenkins JUnit schema
 * (test/fixtures/junit/junit-10.xsd, checked with xmllint from libxml2-utils).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentCheckResult, Outcome } from '../../src/model/outcome.js';
import type { CellVerdict, Classification, RunResult } from '../../src/model/verdict.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { ProbePodResult } from '../../src/probe/lifecycle.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { judgeResults } from '../../src/run/judge-results.js';
import { planRun, type RunPlan } from '../../src/run/plan.js';
import { cell, platformSnapshot, podSource, runnerSource, runResult as run, scenario, targets, verdict } from '../run/scenario-builder.js';

const SCHEMA = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'junit', 'junit-10.xsd');

function hasXmllint(): boolean {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const xmllintMissing = !hasXmllint();
if (xmllintMissing) console.warn('junit schema tests: skipped — xmllint is missing (Debian: apt-get install libxml2-utils; .ci/run installs it)');

const dir = mkdtempSync(join(tmpdir(), 'netcheck-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let written = 0;

/** xmllint's verdict on `xml` against the schema: the error lines, empty when valid. */
function schemaErrors(xml: string): string[] {
  const file = join(dir, `report-${written++}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', SCHEMA, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return [];
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? error);
    return stderr.split('\n').filter((l) => l.trim() !== '' && !l.endsWith('fails to validate'));
  }
}

/** An XPath expression evaluated by a real XML parser (so escaping is checked by what a CI tool would read). */
function xpath(xml: string, expression: string): string {
  const file = join(dir, `query-${written++}.xml`);
  writeFileSync(file, xml);
  // xmllint ends what it prints with a newline of its own.
  return execFileSync('xmllint', ['--xpath', expression, file], { encoding: 'utf8' }).replace(/\n$/, '');
}

interface Case {
  name: string;
  result: 'pass' | 'failure' | 'error' | 'skipped';
  type?: string;
  systemOut: string;
}

/** The testcases, read with regexes (no XML library in the project); attribute values never hold a raw `"`. */
function testcases(xml: string): Case[] {
  return [...xml.matchAll(/<testcase [^>]*?\sname="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map(([, name, body]) => {
    const element = /<(failure|error|skipped)\b[^>]*?(?:type="([^"]*)")?[^>]*>/.exec(body ?? '');
    const result = (element?.[1] ?? 'pass') as Case['result'];
    const type = /<(?:failure|error)\b[^>]*type="([^"]*)"/.exec(body ?? '')?.[1];
    return { name: name as string, result, ...(type !== undefined ? { type } : {}), systemOut: /<system-out>([\s\S]*?)<\/system-out>/.exec(body ?? '')?.[1] ?? '' };
  });
}

function counts(xml: string, element: 'testsuites' | 'testsuite'): Record<string, string> {
  const open = new RegExp(`<${element} ([^>]*)>`).exec(xml)?.[1] ?? '';
  return Object.fromEntries([...open.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k as string, v as string]).filter(([k]) => ['tests', 'failures', 'errors', 'skipped'].includes(k as string)));
}

const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });

/** One cell of every classification: what each becomes in JUnit. */
const everyClass: Array<{ classification: Classification; cell: CellVerdict; want: Case['result'] }> = [
  { classification: 'pass', cell: verdict({ source: 'serving', target: 'kube-dns', node: 'node-a', probe: 'financial-ml/p-0' }), want: 'pass' },
  { classification: 'policy-gap', cell: fail({ source: 'serving', target: 'scheduler', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'policy-gap', node: 'node-a', reason: 'policies deny it' }), want: 'failure' },
  { classification: 'data-plane', cell: fail({ source: 'training', target: 'scheduler', expect: 'deny', policy: 'deny', classification: 'data-plane', node: 'node-b', reason: 'leaks' }), want: 'failure' },
  { classification: 'dns', cell: fail({ source: 'training', target: 'mlflow', outcome: { kind: 'dns-timeout' }, classification: 'dns', node: 'node-b', reason: 'did not resolve' }), want: 'failure' },
  { classification: 'unknown', cell: fail({ source: 'runner', target: 'lb', policy: 'unknown', outcome: { kind: 'timeout' }, classification: 'unknown', probe: 'runner', reason: 'undecided' }), want: 'failure' },
  { classification: 'known-gap', cell: fail({ source: 'outsider', target: 'mlflow', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'known-gap', known: 'documented', reason: 'known gap: documented' }), want: 'skipped' },
  {
    classification: 'probe',
    cell: fail({ source: 'outsider', target: 'scheduler', expect: 'deny', outcome: { kind: 'error', message: 'pod never ran: ErrImagePull' }, attempts: [], classification: 'probe', reason: 'probe did not run: ErrImagePull' }),
    want: 'error',
  },
  {
    classification: 'probe',
    cell: fail({ source: 'serving', target: 'mlflow', outcome: { kind: 'error', message: 'not run: the API server is unreachable' }, attempts: [], classification: 'probe', reason: 'not run: the API server is unreachable' }),
    want: 'error',
  },
];

describe('JUnit: <error> for a check that could not run, <failure> for a mismatch, <skipped> for a known gap', () => {
  const xml = renderJunit(run(everyClass.map((c) => c.cell)));
  const cases = testcases(xml);

  it.each(everyClass.map((c, i) => ({ ...c, i })))('$classification → $want', ({ classification, want, i }) => {
    expect(cases[i]?.result).toBe(want);
    if (want === 'failure' || want === 'error') expect(cases[i]?.type).toBe(classification);
  });

  it('the counts on <testsuite> and <testsuites> agree with the testcases', () => {
    const tally = (r: Case['result']): string => String(cases.filter((c) => c.result === r).length);
    expect(counts(xml, 'testsuite')).toEqual({ tests: String(cases.length), failures: tally('failure'), errors: tally('error'), skipped: tally('skipped') });
    // The schema has no `skipped` on <testsuites>.
    expect(counts(xml, 'testsuites')).toEqual({ tests: String(cases.length), failures: tally('failure'), errors: tally('error') });
    expect(counts(xml, 'testsuite')).toEqual({ tests: '8', failures: '4', errors: '2', skipped: '1' });
  });

  it('a run whose every check could not run has errors and no failures: broken infrastructure, not a regression', () => {
    const notRun = everyClass.filter((c) => c.classification === 'probe').map((c) => c.cell);
    const doc = renderJunit(run(notRun));
    expect(counts(doc, 'testsuite')).toEqual({ tests: '2', failures: '0', errors: '2', skipped: '0' });
    expect(testcases(doc).map((c) => c.result)).toEqual(['error', 'error']);
  });
});

/** A pod source and the runner, checking an address and a listener. */
function plan(perNode?: string[]): RunPlan {
  const sc = scenario(
    [podSource('serving', 'financial-ml', { labels: { app: 'serving' } }), runnerSource()],
    [targets.address('minio', '192.168.1.200', 9000), targets.listener('lst', 'other', 8080)],
    [cell('serving', 'minio', 'allow'), cell('runner', 'minio', 'allow'), cell('serving', 'lst', 'deny')],
  );
  return planRun(sc, { workloadLabels: {}, listenerIPs: { lst: '10.42.0.99' }, services: snapshot.services, timeoutMs: 1000, retries: 0, ...(perNode ? { perNode } : {}) });
}

const snapshot = platformSnapshot();
const context = { snapshot, engine: createPolicyEngine(snapshot), workloadLabels: {}, assess: {} };
const agentResult = (id: string, outcome: Outcome): AgentCheckResult => ({ id, outcome, attempts: [{ outcome, ms: 5 }] });

/** Every pod of the plan ran on `landedOn(pod)` and every check connected (or timed out, for deny cells). */
function judge(p: RunPlan, landedOn: (node: string | undefined) => string): RunResult {
  const podResults: ProbePodResult[] = p.pods.map((pod, i) => ({
    kind: 'done',
    key: pod.key,
    namespace: pod.namespace,
    name: `netcheck-probe-${i}`,
    node: landedOn(pod.node),
    results: pod.plan.checks.map((c) => agentResult(c.id, c.expect === 'deny' ? { kind: 'timeout' } : { kind: 'connected' })),
    complete: true,
    problems: [],
  }));
  const runner = { results: (p.runner?.checks ?? []).map((c) => agentResult(c.id, { kind: 'connected' })) };
  return run(judgeResults(p, { podResults, runner }, context));
}

describe('JUnit names are a function of the scenario, not of where probes landed', () => {
  it('the same scenario with its probe pod scheduled on different nodes: identical names; the node is in the testcase output', () => {
    const onA = renderJunit(judge(plan(), () => 'node-a'));
    const onB = renderJunit(judge(plan(), () => 'node-b'));
    expect(testcases(onA).map((c) => c.name)).toEqual(['serving → minio (allow)', 'runner → minio (allow)', 'serving → lst (deny)']);
    expect(testcases(onB).map((c) => c.name)).toEqual(testcases(onA).map((c) => c.name));
    expect(testcases(onA)[0]?.systemOut).toMatch(/^node: node-a$/m);
    expect(testcases(onB)[0]?.systemOut).toMatch(/^node: node-b$/m);
    expect(testcases(onB)[1]?.systemOut).toMatch(/^probe: runner$/m);
  });

  it('--per-node: the node is part of each pod cell\'s name (both nodes of a listener pair), and names stay unique', () => {
    const result = judge(plan(['node-a', 'node-b']), (pinned) => pinned as string);
    expect(result.cells.map((c) => c.pinnedNode ?? null)).toEqual(['node-a', 'node-b', null, 'node-a', 'node-a', 'node-b', 'node-b']);
    const names = testcases(renderJunit(result)).map((c) => c.name);
    expect(names).toEqual([
      'serving → minio @node-a (allow)',
      'serving → minio @node-b (allow)',
      'runner → minio (allow)',
      'serving → lst @node-a→node-a (deny)',
      'serving → lst @node-a→node-b (deny)',
      'serving → lst @node-b→node-a (deny)',
      'serving → lst @node-b→node-b (deny)',
    ]);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('JUnit: run findings go into the output of the testcases they are about (GitLab shows only per-testcase output)', () => {
  const cells = [
    verdict({ source: 'serving', target: 'mlflow', node: 'node-a', pinnedNode: 'node-a' }),
    fail({ source: 'serving', target: 'mlflow', node: 'node-b', pinnedNode: 'node-b', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: 'fails from node node-b' }),
    verdict({ source: 'serving', target: 'kube-dns', node: 'node-a', pinnedNode: 'node-a' }),
    fail({ source: 'serving', target: 'kube-dns', node: 'node-b', pinnedNode: 'node-b', outcome: { kind: 'dns-timeout' }, classification: 'data-plane', reason: 'fails from node node-b' }),
  ];
  const broken = 'data plane broken on node node-b: 2 check(s) fail from it that pass from other nodes';
  const skippedNodes = '--per-node: no probes from node-c (cordoned)';
  const xml = renderJunit(
    run(cells, {
      findings: [skippedNodes, broken],
      findingCells: [{ text: broken, cells: [{ source: 'serving', target: 'mlflow', node: 'node-b' }, { source: 'serving', target: 'kube-dns', node: 'node-b' }] }],
    }),
  );

  it('each affected testcase carries the finding; the others do not', () => {
    const withFinding = testcases(xml).map((c) => [c.name, c.systemOut.includes(`run finding: ${broken}`)]);
    expect(withFinding).toEqual([
      ['serving → mlflow @node-a (allow)', false],
      ['serving → mlflow @node-b (allow)', true],
      ['serving → kube-dns @node-a (allow)', false],
      ['serving → kube-dns @node-b (allow)', true],
    ]);
  });

  it('every finding, also one about no cell, stays in the suite output', () => {
    const suiteOut = /<\/testcase>\n {4}<system-out>([\s\S]*?)<\/system-out>\n {2}<\/testsuite>/.exec(xml)?.[1];
    expect(suiteOut).toBe(`finding: ${skippedNodes}\nfinding: ${broken}`);
  });
});

describe.skipIf(xmllintMissing)('JUnit validates against the Jenkins JUnit schema (xmllint --schema)', () => {
  const hostile = 'a <tag> & "quoted" \'single\'\ttab\u0000nul\u0001\u001b[31mansi\u007f\r\nline ]]> \ud800lone';
  const reports: Array<[string, RunResult]> = [
    ['every classification', run(everyClass.map((c) => c.cell), { findings: ['cluster DNS looks down'] })],
    ['all pass', run([verdict({ source: 'a', target: 'b', node: 'n1' }), verdict({ source: 'runner', target: 'lb', probe: 'runner' })])],
    ['no cells', run([])],
    ['per-node from the planner', judge(plan(['node-a', 'node-b']), (n) => n as string)],
    [
      'findings about cells',
      run([fail({ source: 's', target: 't', node: 'n2', classification: 'data-plane', reason: 'r' })], {
        findings: ['data plane broken on node n2'],
        findingCells: [{ text: 'data plane broken on node n2', cells: [{ source: 's', target: 't', node: 'n2' }] }],
      }),
    ],
    [
      'XML-hostile text everywhere',
      run(
        [
          fail({ source: `src${hostile}`, target: `tgt${hostile}`, node: `node${hostile}`, probe: hostile, classification: 'policy-gap', reason: hostile, policyExplanation: [hostile], findings: [hostile] }),
          fail({ source: 'k', target: 'g', classification: 'known-gap', known: hostile, reason: `known gap: ${hostile}` }),
          fail({ source: 'p', target: 'q', outcome: { kind: 'error', message: hostile }, classification: 'probe', reason: hostile }),
        ],
        { scenario: hostile, runId: hostile, findings: [hostile], cluster: { server: hostile, context: hostile, nodes: [], unknown: [] } },
      ),
    ],
  ];

  it.each(reports)('%s', (_name, result) => {
    expect(schemaErrors(renderJunit(result))).toEqual([]);
  });

  it('the check can fail: the schema rejects what netcheck used to write (`skipped` on <testsuites>)', () => {
    const old = renderJunit(reports[0]![1]).replace('<testsuites name="netcheck"', '<testsuites name="netcheck" skipped="1"');
    expect(schemaErrors(old).join('\n')).toMatch(/attribute 'skipped' is not allowed/);
  });

  it('hostile text reads back as written, less the characters XML 1.0 cannot hold', () => {
    const xml = renderJunit(reports[5]![1]);
    const readable = hostile.replace(/[\u0000\u0001\u001b]|\ud800/g, '');
    expect(xpath(xml, 'string(//testcase[1]/failure/@message)')).toBe(`[policy-gap] ${readable}`);
    expect(xpath(xml, 'string(//testcase[1]/@name)')).toBe(`src${readable} → tgt${readable} (allow)`);
    expect(xpath(xml, 'string(//testcase[2]/skipped/@message)')).toBe(`known gap: ${readable}`);
  });
});
