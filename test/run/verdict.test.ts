import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/model/outcome.js';
import type { Classification, PolicyView } from '../../src/model/verdict.js';
import { judgeCell, runExitCode, summarizeCells } from '../../src/run/verdict.js';
import { intentOf, type OutcomeExpectation, type Target } from '../../src/scenario/types.js';
import { targets } from './scenario-builder.js';

const svc = targets.service('mlflow', 'mlflow', 'financial-ml', 5000);
const dnsT = targets.dns('dns');
const web = targets.service('web', 'web', 'financial-ml', 80, { path: '/', expectStatus: 200 });
const ext = targets.address('ext', '198.51.100.7', 443);
const listener = targets.listener('other', 'other-ns', 8080);
const webLb = targets.address('web-lb', '192.168.1.209', 80, { path: '/', expectStatus: 200 });

interface Row {
  name: string;
  target: Target;
  expect: 'allow' | 'deny';
  policy: PolicyView;
  outcome: Outcome;
  known?: string;
  readyEndpoints?: number;
  classification: Classification;
  pass: boolean;
  reason: RegExp;
}

const rows: Row[] = [
  { name: 'allow, connected', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'connected' }, classification: 'pass', pass: true, reason: /as expected/ },
  { name: 'deny, timeout', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'pass', pass: true, reason: /as expected/ },
  { name: 'deny intended, policy allows, open', target: svc, expect: 'deny', policy: 'allow', outcome: { kind: 'connected' }, classification: 'policy-gap', pass: false, reason: /policies say allow: egress: admitted by X/ },
  { name: 'allow intended, policy denies, blocked', target: svc, expect: 'allow', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'policy-gap', pass: false, reason: /policies say deny/ },
  { name: 'deny intended and by policy, but open', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane', pass: false, reason: /does not enforce/ },
  { name: 'allow by policy, blocked', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'timeout' }, classification: 'data-plane', pass: false, reason: /drops it/ },
  { name: 'allow by policy, no endpoints', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'timeout' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /no ready endpoints/ },
  // A Service without endpoints: kube-proxy or the enforcer rejects it (kube-router's egress rule admits no pod behind
  // the ClusterIP); the refusal is the node's, not a backend's, and the reason says no more than that.
  { name: 'allow by policy, no endpoints, refused', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /no ready endpoints/ },
  // Issue 9 item 4: a deny check against a Service without endpoints proves nothing about the policy.
  { name: 'deny, no endpoints, refused: the check could not test the policy', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'unknown', pass: false, reason: /^service financial-ml\/mlflow has no ready endpoints: a refusal \(the enforcer or kube-proxy rejected it\) proves nothing about the policy/ },
  { name: 'deny, no endpoints, timeout: not a pass either', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'timeout' }, readyEndpoints: 0, classification: 'unknown', pass: false, reason: /has no ready endpoints: timeout proves nothing about the policy/ },
  { name: 'allow, no endpoints, policy unknown: still the missing endpoints', target: svc, expect: 'allow', policy: 'unknown', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /^expected allow, observed refused: service financial-ml\/mlflow has no ready endpoints \(refused: the enforcer or kube-proxy rejected it\)$/ },
  { name: 'allow, no endpoints, policy unknown, timeout: the same cause, no claim of a refusal', target: svc, expect: 'allow', policy: 'unknown', outcome: { kind: 'timeout' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /^expected allow, observed timeout: service financial-ml\/mlflow has no ready endpoints$/ },
  { name: 'allow, no endpoints, policy denies too: the policy first', target: svc, expect: 'allow', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'policy-gap', pass: false, reason: /policies say deny/ },
  // Issue 9 item 9: a LoadBalancer address mapped to its Service is judged by that Service's endpoints.
  { name: 'LoadBalancer address without endpoints, allow, refused', target: ext, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /no ready endpoints/ },
  { name: 'LoadBalancer address without endpoints, allow, policy unknown (runner)', target: ext, expect: 'allow', policy: 'unknown', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /no ready endpoints/ },
  { name: 'LoadBalancer address without endpoints, deny, refused', target: ext, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'unknown', pass: false, reason: /no ready endpoints: a refusal \(the enforcer or kube-proxy rejected it\) proves nothing/ },
  { name: 'http answer from an empty pool is not an application answer', target: webLb, expect: 'allow', policy: 'allow', outcome: { kind: 'http', status: 503 }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /expected http:200, observed http:503, and (service .*|the service) has no ready endpoints: the answer is not a backend's/ },
  // A refusal is a rejection: kube-router/OVN-Kubernetes REJECT denied flows exactly like a port nothing listens on.
  // Blocked when netcheck knows the target is served; otherwise netcheck cannot tell, and says so.
  { name: 'refused by a listener, deny: a rejecting CNI enforced it', target: listener, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, classification: 'pass', pass: true, reason: /^refused \(rejected: the data plane refused it, or nothing listens on port 8080 in the listener pod\), as expected \(deny\)$/ },
  { name: 'refused by a listener the policies allow', target: listener, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, classification: 'data-plane', pass: false, reason: /^expected allow, observed refused \(rejected: .*\); policies say allow: the data plane rejects it/ },
  { name: 'refused by a listener the policies deny: the policy, not the data plane', target: listener, expect: 'allow', policy: 'deny', outcome: { kind: 'refused' }, classification: 'policy-gap', pass: false, reason: /observed refused \(rejected: .*\), and the policies say deny/ },
  { name: 'refused by a service with ready endpoints, deny', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 2, classification: 'pass', pass: true, reason: /^refused \(rejected: the data plane refused it, or nothing listens on the port in the endpoint pods\), as expected \(deny\)$/ },
  { name: 'refused by a service with ready endpoints, allowed by policy', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 2, classification: 'data-plane', pass: false, reason: /observed refused \(rejected: .*endpoint pods\); policies say allow: the data plane rejects it/ },
  { name: 'refused, endpoints unknown (allow): cannot tell', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, classification: 'unknown', pass: false, reason: /^refused: either nothing listens on mlflow\.financial-ml:5000 or the data plane rejected the connection .*cannot tell without the target's endpoints$/ },
  { name: 'refused, endpoints unknown (deny): not a pass either', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, classification: 'unknown', pass: false, reason: /either nothing listens on mlflow\.financial-ml:5000/ },
  { name: 'refused by an address netcheck cannot map to a Service', target: ext, expect: 'deny', policy: 'unknown', outcome: { kind: 'refused' }, classification: 'unknown', pass: false, reason: /either nothing listens on 198\.51\.100\.7:443 or the data plane rejected/ },
  { name: 'refused by a LoadBalancer address whose Service has endpoints', target: ext, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 1, classification: 'pass', pass: true, reason: /as expected \(deny\)/ },
  { name: 'known gap refused by a listener fails as documented', target: listener, expect: 'allow', policy: 'deny', outcome: { kind: 'refused' }, known: 'seeds contradict', classification: 'known-gap', pass: false, reason: /known gap: seeds contradict/ },
  { name: 'service name does not resolve (allow)', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'dns-timeout' }, classification: 'dns', pass: false, reason: /mlflow.financial-ml did not resolve/ },
  { name: 'service name does not resolve (deny) is never "blocked"', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'dns-nxdomain' }, classification: 'dns', pass: false, reason: /DNS fault/ },
  { name: 'dns target resolves', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'resolved', addresses: ['10.0.0.1'] }, classification: 'pass', pass: true, reason: /resolved/ },
  { name: 'dns target blocked as intended', target: dnsT, expect: 'deny', policy: 'deny', outcome: { kind: 'dns-timeout' }, classification: 'pass', pass: true, reason: /as expected/ },
  { name: 'dns target nxdomain when allowed', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'dns-nxdomain' }, classification: 'dns', pass: false, reason: /server is reachable/ },
  { name: 'dns target answered although denied by policy', target: dnsT, expect: 'deny', policy: 'deny', outcome: { kind: 'dns-nxdomain' }, classification: 'data-plane', pass: false, reason: /does not enforce/ },
  { name: 'dns target timing out although allowed is a DNS fault', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'dns-timeout' }, classification: 'dns', pass: false, reason: /cluster DNS is down/ },
  { name: 'dns query rejected at the port, deny, DNS endpoints known', target: dnsT, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 2, classification: 'pass', pass: true, reason: /^refused \(rejected: .*\), as expected \(deny\)$/ },
  { name: 'dns query rejected at the port although policies allow it', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 2, classification: 'dns', pass: false, reason: /no DNS answer for kubernetes\.default \(refused \(rejected: .*\)\) although the policies allow it: cluster DNS is down/ },
  { name: 'dns query rejected: CoreDNS scaled to 0', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'dns', pass: false, reason: /^no DNS answer for kubernetes\.default \(refused: the enforcer or kube-proxy rejected it\): the cluster DNS Service has no ready endpoints, so no DNS server was reached$/ },
  // Issue 15 item 1: kube-dns selects no pod, so the policy column is unknown; refused (an egress-isolated pod on
  // kube-router) or timed out (any other pod, or Calico dropping): the same cause, the same classification.
  { name: 'kube-dns without endpoints, policy unknown, refused', target: dnsT, expect: 'allow', policy: 'unknown', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'dns', pass: false, reason: /the cluster DNS Service has no ready endpoints, so no DNS server was reached$/ },
  { name: 'kube-dns without endpoints, policy unknown, timeout', target: dnsT, expect: 'allow', policy: 'unknown', outcome: { kind: 'dns-timeout' }, readyEndpoints: 0, classification: 'dns', pass: false, reason: /^no DNS answer for kubernetes\.default \(dns-timeout\): the cluster DNS Service has no ready endpoints/ },
  { name: 'dns query rejected at the port because policy denies', target: dnsT, expect: 'allow', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 2, classification: 'policy-gap', pass: false, reason: /policies say deny/ },
  { name: 'dns query rejected at the port, DNS endpoints unknown', target: dnsT, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, classification: 'unknown', pass: false, reason: /either nothing listens on the DNS server's port 53 \(looking up kubernetes\.default\)/ },
  { name: 'dns target timing out because policy denies', target: dnsT, expect: 'allow', policy: 'deny', outcome: { kind: 'dns-timeout' }, classification: 'policy-gap', pass: false, reason: /policies say deny/ },
  { name: 'policy unknown', target: ext, expect: 'allow', policy: 'unknown', outcome: { kind: 'timeout' }, classification: 'unknown', pass: false, reason: /cannot decide/ },
  { name: 'agent error is a probe fault', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'error', message: 'EMFILE' }, classification: 'probe', pass: false, reason: /EMFILE/ },
  { name: 'http status matches', target: web, expect: 'allow', policy: 'allow', outcome: { kind: 'http', status: 200 }, classification: 'pass', pass: true, reason: /http:200/ },
  { name: 'http status differs', target: web, expect: 'allow', policy: 'allow', outcome: { kind: 'http', status: 503 }, classification: 'unknown', pass: false, reason: /expected http:200/ },
  { name: 'known gap fails as documented', target: svc, expect: 'allow', policy: 'deny', outcome: { kind: 'timeout' }, known: 'seeds contradict', classification: 'known-gap', pass: false, reason: /known gap: seeds contradict/ },
  { name: 'known gap that no longer reproduces', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'connected' }, known: 'seeds contradict', classification: 'policy-gap', pass: false, reason: /no longer reproduces/ },
  { name: 'known gap passing only because the data plane ignores the denying policy', target: svc, expect: 'allow', policy: 'deny', outcome: { kind: 'connected' }, known: 'seeds contradict', classification: 'data-plane', pass: false, reason: /policies still say deny: the data plane does not enforce them; keep `known`/ },
  { name: 'known gap cell failing on DNS is not the gap', target: svc, expect: 'allow', policy: 'deny', outcome: { kind: 'dns-timeout' }, known: 'seeds contradict', classification: 'dns', pass: false, reason: /did not resolve/ },
];

describe('judgeCell', () => {
  it.each(rows)('$name', (row) => {
    const v = judgeCell({
      cell: { source: 's', target: row.target.name, expect: row.expect, ...(row.known ? { known: row.known } : {}) },
      target: row.target,
      policy: { view: row.policy, explanation: ['egress: admitted by X'] },
      observed: { kind: 'observed', outcome: row.outcome, attempts: [{ outcome: row.outcome, ms: 5 }] },
      ...(row.readyEndpoints !== undefined ? { readyEndpoints: row.readyEndpoints } : {}),
    });
    expect(v.classification).toBe(row.classification);
    expect(v.pass).toBe(row.pass);
    expect(v.reason).toMatch(row.reason);
  });

  it('a probe that never ran is a probe fault, never blocked', () => {
    const v = judgeCell({
      cell: { source: 's', target: 'mlflow', expect: 'deny' },
      target: svc,
      policy: { view: 'deny', explanation: [] },
      observed: { kind: 'not-run', reason: 'ImagePullBackOff' },
    });
    expect(v).toMatchObject({ classification: 'probe', pass: false, outcome: { kind: 'error' } });
    expect(v.reason).toContain('ImagePullBackOff');
  });

  it('a refusal after a connection to the same listener is a disagreement between attempts', () => {
    const v = judgeCell({
      cell: { source: 's', target: 'other', expect: 'allow' },
      target: listener,
      policy: { view: 'allow', explanation: [] },
      observed: {
        kind: 'observed',
        outcome: { kind: 'refused' },
        attempts: [{ outcome: { kind: 'connected' }, ms: 1 }, { outcome: { kind: 'refused' }, ms: 1 }],
      },
    });
    expect(v).toMatchObject({ classification: 'data-plane', pass: false });
    expect(v.reason).toContain('attempts disagree: connected → refused');
  });

  it('says when attempts disagree', () => {
    const v = judgeCell({
      cell: { source: 's', target: 'mlflow', expect: 'allow' },
      target: svc,
      policy: { view: 'allow', explanation: [] },
      observed: {
        kind: 'observed',
        outcome: { kind: 'timeout' },
        attempts: [{ outcome: { kind: 'connected' }, ms: 1 }, { outcome: { kind: 'timeout' }, ms: 1000 }],
      },
    });
    expect(v.reason).toContain('attempts disagree: connected → timeout');
  });
});

describe('summarizeCells', () => {
  it('counts known gaps apart from failures', () => {
    const judged = rows.map((row) =>
      judgeCell({
        cell: { source: 's', target: row.target.name, expect: row.expect, ...(row.known ? { known: row.known } : {}) },
        target: row.target,
        policy: { view: row.policy, explanation: [] },
        observed: { kind: 'observed', outcome: row.outcome, attempts: [] },
        ...(row.readyEndpoints !== undefined ? { readyEndpoints: row.readyEndpoints } : {}),
      }),
    );
    const s = summarizeCells(judged);
    expect(s.total).toBe(rows.length);
    expect(s.knownGaps).toBe(rows.filter((r) => r.classification === 'known-gap').length);
    expect(s.passed + s.failed + s.knownGaps).toBe(s.total);
    expect(s.passed).toBe(rows.filter((r) => r.pass).length);
  });
});

describe('runExitCode: whose problem a red run is', () => {
  const cell = (name: string, policy: PolicyView, outcome: Outcome | 'not-run', expect: 'allow' | 'deny' = 'allow', known?: string) =>
    judgeCell({
      cell: { source: 's', target: name, expect, ...(known ? { known } : {}) },
      target: svc,
      policy: { view: policy, explanation: [] },
      observed: outcome === 'not-run' ? { kind: 'not-run', reason: 'pod did not start' } : { kind: 'observed', outcome, attempts: [] },
    });
  const pass = cell('ok', 'allow', { kind: 'connected' });
  const knownGap = cell('gap', 'deny', { kind: 'timeout' }, 'allow', 'documented');
  const regression = cell('regression', 'deny', { kind: 'timeout' });
  const dataPlane = cell('leak', 'deny', { kind: 'connected' }, 'deny');
  const notRun = cell('no-probe', 'allow', 'not-run');
  const code = (cells: ReturnType<typeof cell>[], failures = 0) => runExitCode(summarizeCells(cells), failures);

  it('0 when every cell passes or is a known gap', () => {
    expect([pass.classification, knownGap.classification]).toEqual(['pass', 'known-gap']);
    expect(code([pass, knownGap])).toBe(0);
  });
  it('4 when the only failures are the environment (policies agree with the intent, the cluster does not)', () => {
    expect(dataPlane.classification).toBe('data-plane');
    expect(code([pass, dataPlane])).toBe(4);
  });
  it('3 when a check could not run, even beside environment faults; also for an infrastructure failure without cells', () => {
    expect(notRun.classification).toBe('probe');
    expect(code([pass, dataPlane, notRun])).toBe(3);
    expect(code([pass], 1)).toBe(3);
  });
  it('1 for a policy regression, whatever else went wrong', () => {
    expect(regression.classification).toBe('policy-gap');
    expect(code([pass, dataPlane, notRun, regression], 2)).toBe(1);
  });
});

describe('outcome-level expectations (connected, refused, blocked, nxdomain)', () => {
  interface OutcomeRow {
    name: string;
    target: Target;
    expected: OutcomeExpectation;
    policy: PolicyView;
    outcome: Outcome;
    readyEndpoints?: number;
    classification: Classification;
    reason: RegExp;
  }
  const outcomeRows: OutcomeRow[] = [
    { name: 'connected on a connection', target: svc, expected: 'connected', policy: 'allow', outcome: { kind: 'connected' }, classification: 'pass', reason: /^connected, as expected \(allow\)$/ },
    { name: 'connected on a timeout is judged as allow', target: svc, expected: 'connected', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'policy-gap', reason: /expected allow, observed timeout/ },
    { name: 'refused on a refusal from a listener', target: listener, expected: 'refused', policy: 'deny', outcome: { kind: 'refused' }, classification: 'pass', reason: /as expected \(refused\)$/ },
    { name: 'refused on a timeout: blocked, but dropped', target: listener, expected: 'refused', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: /^expected refused, observed timeout: the path is blocked, but the packets are dropped, not rejected/ },
    { name: 'refused on a connection is a deny that leaked', target: listener, expected: 'refused', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane', reason: /does not enforce/ },
    { name: 'refused on a refusal nobody can attribute still meets the assertion', target: ext, expected: 'refused', policy: 'unknown', outcome: { kind: 'refused' }, classification: 'pass', reason: /as expected \(refused; nothing listening or a rejecting data plane/ },
    { name: 'refused against a Service without endpoints proves nothing', target: svc, expected: 'refused', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'unknown', reason: /no ready endpoints: a refusal \(the enforcer or kube-proxy rejected it\) proves nothing/ },
    { name: 'blocked on a timeout', target: svc, expected: 'blocked', policy: 'deny', outcome: { kind: 'timeout' }, classification: 'pass', reason: /^timeout, as expected \(blocked\)$/ },
    { name: 'blocked on unreachable', target: svc, expected: 'blocked', policy: 'deny', outcome: { kind: 'unreachable', code: 'EHOSTUNREACH' }, classification: 'pass', reason: /as expected \(blocked\)$/ },
    { name: 'blocked on a refusal from a listener: rejected, not dropped', target: listener, expected: 'blocked', policy: 'deny', outcome: { kind: 'refused' }, classification: 'data-plane', reason: /^expected blocked \(a timeout or unreachable\), observed refused .*rejected rather than dropped/ },
    { name: 'blocked on an unattributable refusal stays unknown', target: ext, expected: 'blocked', policy: 'unknown', outcome: { kind: 'refused' }, classification: 'unknown', reason: /either nothing listens/ },
    { name: 'nxdomain on NXDOMAIN for a dns target', target: dnsT, expected: 'nxdomain', policy: 'allow', outcome: { kind: 'dns-nxdomain' }, classification: 'pass', reason: /^dns-nxdomain, as expected \(nxdomain\)$/ },
    { name: 'nxdomain on NXDOMAIN for a service name', target: svc, expected: 'nxdomain', policy: 'unknown', outcome: { kind: 'dns-nxdomain' }, classification: 'pass', reason: /as expected \(nxdomain\)/ },
    { name: 'nxdomain on a name that resolves', target: dnsT, expected: 'nxdomain', policy: 'allow', outcome: { kind: 'resolved', addresses: ['10.96.0.1'] }, classification: 'dns', reason: /^expected nxdomain, observed resolved 10\.96\.0\.1: the name exists$/ },
    { name: 'nxdomain on a service that answers', target: svc, expected: 'nxdomain', policy: 'allow', outcome: { kind: 'connected' }, classification: 'dns', reason: /the name exists/ },
    { name: 'nxdomain on a lookup that timed out is a DNS fault, not a pass', target: svc, expected: 'nxdomain', policy: 'allow', outcome: { kind: 'dns-timeout' }, classification: 'dns', reason: /did not resolve/ },
  ];
  it.each(outcomeRows)('$name', (row) => {
    const v = judgeCell({
      cell: { source: 's', target: row.target.name, expect: intentOf(row.expected), outcome: row.expected },
      target: row.target,
      policy: { view: row.policy, explanation: ['egress: admitted by X'] },
      observed: { kind: 'observed', outcome: row.outcome, attempts: [{ outcome: row.outcome, ms: 5 }] },
      ...(row.readyEndpoints !== undefined ? { readyEndpoints: row.readyEndpoints } : {}),
    });
    expect(v.classification).toBe(row.classification);
    expect(v.pass).toBe(row.classification === 'pass');
    expect(v.reason).toMatch(row.reason);
    expect(v.expectOutcome).toBe(row.expected);
    expect(v.expect).toBe(row.expected === 'refused' || row.expected === 'blocked' ? 'deny' : 'allow');
  });

  it('maps to allow/deny for the policy column and the exit code', () => {
    expect((['connected', 'refused', 'blocked', 'nxdomain'] as const).map(intentOf)).toEqual(['allow', 'deny', 'deny', 'allow']);
  });
});

describe('ClusterIP retry after a name that did not resolve', () => {
  const judgeRetry = (retry: Outcome, readyEndpoints?: number) =>
    judgeCell({
      cell: { source: 's', target: 'mlflow', expect: 'allow' },
      target: svc,
      policy: { view: 'allow', explanation: [] },
      observed: { kind: 'observed', outcome: { kind: 'dns-timeout' }, attempts: [{ outcome: { kind: 'dns-timeout' }, ms: 2000 }] },
      clusterIPRetry: { address: '10.96.12.34', port: 5000, outcome: retry },
      ...(readyEndpoints !== undefined ? { readyEndpoints } : {}),
    });

  it('the cell stays a dns fault and says the path is open', () => {
    const v = judgeRetry({ kind: 'connected' });
    expect(v.classification).toBe('dns');
    expect(v.reason).toMatch(/did not resolve \(dns-timeout\): a DNS fault, not a policy verdict; via ClusterIP 10\.96\.12\.34:5000 the path is open \(only the name is broken\) \(connected\)$/);
    expect(v.clusterIPRetry).toEqual({ address: '10.96.12.34', port: 5000, outcome: { kind: 'connected' }, path: 'open' });
  });
  it('says the path is blocked too', () => {
    const v = judgeRetry({ kind: 'timeout' });
    expect(v.reason).toMatch(/via ClusterIP 10\.96\.12\.34:5000 the path is blocked too \(timeout\)$/);
    expect(v.clusterIPRetry?.path).toBe('blocked');
  });
  it('a refusal with endpoints unknown is not called open or blocked', () => {
    const v = judgeRetry({ kind: 'refused' });
    expect(v.clusterIPRetry?.path).toBe('unknown');
    expect(v.reason).toMatch(/it is not known whether the path is open \(refused: nothing listens, or the data plane rejected it\)$/);
  });
  it('a refusal from a Service with endpoints is blocked', () => {
    expect(judgeRetry({ kind: 'refused' }, 2).clusterIPRetry?.path).toBe('blocked');
  });
  it('no retry, no field', () => {
    const v = judgeCell({
      cell: { source: 's', target: 'mlflow', expect: 'allow' },
      target: svc,
      policy: { view: 'allow', explanation: [] },
      observed: { kind: 'observed', outcome: { kind: 'dns-timeout' }, attempts: [] },
    });
    expect(v.clusterIPRetry).toBeUndefined();
    expect(v.reason).not.toContain('ClusterIP');
  });
});
