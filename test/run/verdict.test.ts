import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/model/outcome.js';
import type { Classification, PolicyView } from '../../src/model/verdict.js';
import { judgeCell, runExitCode, summarizeCells } from '../../src/run/verdict.js';
import type { Target } from '../../src/scenario/types.js';
import { targets } from './scenario-builder.js';

const svc = targets.service('mlflow', 'mlflow', 'financial-ml', 5000);
const dnsT = targets.dns('dns');
const web = targets.service('web', 'web', 'financial-ml', 80, { path: '/', expectStatus: 200 });
const ext = targets.address('ext', '198.51.100.7', 443);
const listener = targets.listener('other', 'other-ns', 8080);

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
  // kube-proxy REJECTs connections to a Service without endpoints: the refusal is the node's, not a backend's.
  { name: 'allow by policy, no endpoints, refused by kube-proxy', target: svc, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'data-plane', pass: false, reason: /no ready endpoints/ },
  { name: 'deny, no endpoints, refused by kube-proxy: nothing reached', target: svc, expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'pass', pass: true, reason: /refused, as expected/ },
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
  { name: 'dns query rejected by kube-proxy: CoreDNS scaled to 0', target: dnsT, expect: 'allow', policy: 'allow', outcome: { kind: 'refused' }, readyEndpoints: 0, classification: 'dns', pass: false, reason: /cluster DNS is down/ },
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
