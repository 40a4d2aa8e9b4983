/**
 * Issue 9 through the run's pure layers (plan → agent results → verdicts): `via: clusterIP`, the ClusterIP retry
 * after a failed lookup, named listener ports, the runner's address, and a LoadBalancer address whose Service has
 * no ready endpoints. The real policy engine decides the policy column.
 */
import { describe, expect, it } from 'vitest';
import type { AgentCheckResult, Outcome } from '../../src/model/outcome.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { ClusterSnapshot } from '../../src/policy/types.js';
import type { ProbePodResult } from '../../src/probe/lifecycle.js';
import { buildProbePod } from '../../src/probe/pod-spec.js';
import { judgeResults, withListenerPods } from '../../src/run/judge-results.js';
import { planListeners, planRun } from '../../src/run/plan.js';
import { assessCellPolicy, RUNNER_ADDRESS_UNKNOWN } from '../../src/run/policy-view.js';
import type { Source, Target } from '../../src/scenario/types.js';
import { cell, platformSnapshot, podSource, runnerSource, scenario, service, targets } from './scenario-builder.js';

const at = { file: 'scenario.yaml', line: 1 };
const base = { workloadLabels: {}, listenerIPs: {}, timeoutMs: 1000, retries: 0 };
const serving = podSource('serving', 'financial-ml', { labels: { app: 'serving' } });

function withServices(): ClusterSnapshot {
  const snapshot = platformSnapshot();
  for (const s of snapshot.services) if (s.name === 'mlflow') s.clusterIP = '10.96.0.50';
  snapshot.services.push(service('financial-ml', 'headless', { app: 'mlflow' }, 5000));
  // A LoadBalancer whose backing pods are gone: no backend is reached (docs/cni.md says who stops it, per CNI).
  snapshot.services.push(service('other', 'gone', { app: 'gone' }, 8080, { type: 'LoadBalancer', loadBalancerIPs: ['192.168.1.209'], readyEndpoints: 0, clusterIP: '10.96.0.60' }));
  return snapshot;
}

function run(snapshot: ClusterSnapshot, sources: Source[], targetList: Target[], cells: ReturnType<typeof cell>[], outcomes: Record<string, Outcome>, extra: Partial<AgentCheckResult> = {}) {
  const plan = planRun(scenario(sources, targetList, cells), { ...base, services: snapshot.services, listenerIPs: { web: '10.0.9.9' } });
  const results = (checks: Array<{ id: string }>) => checks.map((c) => ({ id: c.id, outcome: outcomes[c.id] ?? { kind: 'connected' }, attempts: [{ outcome: outcomes[c.id] ?? { kind: 'connected' }, ms: 1 }], ...extra }) as AgentCheckResult);
  const podResults: ProbePodResult[] = plan.pods.map((p) => ({ kind: 'done', key: p.key, namespace: p.namespace, name: 'probe', node: 'node-a', results: results(p.plan.checks), complete: true, problems: [] }));
  const verdicts = judgeResults(plan, { podResults, runner: plan.runner ? { results: results(plan.runner.checks) } : undefined }, { snapshot, engine: createPolicyEngine(snapshot), workloadLabels: {}, assess: {} });
  return { plan, verdicts };
}

describe('via: clusterIP', () => {
  const snapshot = withServices();
  it("probes the Service's ClusterIP and port, no name, no fallback", () => {
    const target: Target = { ...targets.service('m', 'mlflow', 'financial-ml', 5000), via: 'clusterIP' } as Target;
    const { plan } = run(snapshot, [serving], [target], [cell('serving', 'm', 'allow')], {});
    expect(plan.pods[0]?.plan.checks[0]).toMatchObject({ kind: 'tcp', target: '10.96.0.50', port: 5000 });
    expect(plan.pods[0]?.plan.checks[0]).not.toHaveProperty('fallback');
  });
  it('a headless Service fails its cell, naming the target', () => {
    const target = { ...targets.service('h', 'headless', 'financial-ml', 5000), via: 'clusterIP' } as Target;
    const { verdicts } = run(snapshot, [serving], [target], [cell('serving', 'h', 'allow')], {});
    expect(verdicts[0]).toMatchObject({ classification: 'probe', pass: false });
    expect(verdicts[0]?.reason).toBe('probe did not run: target h: via clusterIP, but service financial-ml/headless is headless (clusterIP: None): it has no ClusterIP to probe; remove `via: clusterIP`');
  });
});

describe('the ClusterIP retry after a name that did not resolve', () => {
  const snapshot = withServices();
  const target = targets.service('m', 'mlflow', 'financial-ml', 5000);
  it('a service check by name carries the ClusterIP as its fallback', () => {
    const { plan } = run(snapshot, [serving], [target], [cell('serving', 'm', 'allow')], {});
    expect(plan.pods[0]?.plan.checks[0]).toMatchObject({ kind: 'tcp', target: 'mlflow.financial-ml', port: 5000, fallback: '10.96.0.50' });
  });
  it("the verdict stays a dns fault and says what the ClusterIP showed", () => {
    const { verdicts } = run(snapshot, [serving], [target], [cell('serving', 'm', 'allow')], { '0': { kind: 'dns-timeout' } }, {
      fallback: { target: '10.96.0.50', outcome: { kind: 'connected' }, ms: 3 },
    });
    expect(verdicts[0]).toMatchObject({ classification: 'dns', clusterIPRetry: { address: '10.96.0.50', port: 5000, path: 'open' } });
    expect(verdicts[0]?.reason).toContain('via ClusterIP 10.96.0.50:5000 the path is open');
  });
  it('no ClusterIP known (no such Service): no fallback', () => {
    const { plan } = run(snapshot, [serving], [targets.service('n', 'nosuch', 'financial-ml', 5000)], [cell('serving', 'n', 'allow')], {});
    expect(plan.pods[0]?.plan.checks[0]).not.toHaveProperty('fallback');
  });
});

describe('named listener ports', () => {
  const web: Target = { kind: 'listener', name: 'web', namespace: 'financial-ml', labels: { app: 'web' }, port: 8080, portName: 'http', protocol: 'TCP', location: at };
  it('the listener pod declares the named containerPort', () => {
    const listeners = planListeners(scenario([serving], [web], [cell('serving', 'web', 'allow')]));
    expect(listeners[0]?.listen).toEqual([{ port: 8080, protocol: 'TCP', name: 'http' }]);
    const pod = buildProbePod({ runId: 'r1', namespace: 'financial-ml', name: 'l0', labels: {}, deadlineSeconds: 60, args: [], role: 'listener', ports: listeners[0]!.listen });
    expect(pod.spec.containers[0]?.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  });
  it('a policy with `port: http` is judged against it (and a different name is not)', () => {
    const snapshot = platformSnapshot();
    snapshot.policies.push({
      name: 'web-http',
      namespace: 'financial-ml',
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 'http' }] }],
    });
    const engine = createPolicyEngine(snapshot);
    const outsider = podSource('outsider', 'other');
    expect(assessCellPolicy(engine, snapshot, outsider, {}, undefined, web).view).toBe('allow');
    const unnamed: Target = { ...web, portName: undefined } as Target;
    delete (unnamed as { portName?: string }).portName;
    expect(assessCellPolicy(engine, snapshot, outsider, {}, undefined, unnamed).view).toBe('deny');
  });
  it('two listener targets in one pod cannot give one port two names', () => {
    const other: Target = { ...web, name: 'web2', portName: 'web' } as Target;
    expect(() => planListeners(scenario([serving], [web, other], [cell('serving', 'web', 'allow')]))).toThrow(/port 8080 is named "http" by another listener target/);
  });
});

describe("the runner's address", () => {
  const withBlock = platformSnapshot();
  withBlock.policies.push({ name: 'office', namespace: 'financial-ml', podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] });
  const engine = createPolicyEngine(withBlock);
  const lb = targets.address('lb', '192.168.1.208', 5000);

  it('unknown: the policy column says so, and never reasons from an invented address', () => {
    const a = assessCellPolicy(engine, withBlock, runnerSource(), {}, undefined, lb);
    expect(a.view).toBe('unknown');
    expect(a.explanation[0]).toBe(RUNNER_ADDRESS_UNKNOWN);
    expect(a.explanation.join('\n')).not.toMatch(/203\.0\.113\.1\b/);
  });
  it("the scenario's `address:` decides, and --runner-address overrides it", () => {
    const runner: Source = { kind: 'runner', name: 'ci', address: '203.0.113.5', location: at };
    expect(assessCellPolicy(engine, withBlock, runner, {}, undefined, lb).view).toBe('allow');
    expect(assessCellPolicy(engine, withBlock, runner, {}, undefined, lb, { runnerAddress: '198.51.100.5' }).view).toBe('deny');
  });
  it('a cell the address cannot change keeps its verdict', () => {
    const snapshot = platformSnapshot();
    const e = createPolicyEngine(snapshot);
    // Only selector rules isolate mlflow: no address is admitted, whatever it is.
    const a = assessCellPolicy(e, snapshot, runnerSource(), {}, undefined, lb);
    expect(a.view).toBe('deny');
    expect(a.explanation.join('\n')).not.toMatch(/203\.0\.113\.1\b/);
  });
});

describe("a Service backed by the run's own listener (the inventory was read before it existed)", () => {
  // h3-web-lb on the real cluster: a LoadBalancer selecting app=web, whose only pod is netcheck's listener.
  const snapshot = platformSnapshot();
  snapshot.policies.push({ name: 'office', namespace: 'other', podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '172.30.0.0/16' } }] }] });
  snapshot.services.push(service('other', 'web-lb', { app: 'web' }, 8080, { type: 'LoadBalancer', loadBalancerIPs: ['192.168.1.231'], readyEndpoints: 0 }));
  const listener = { plan: { namespace: 'other', labels: { app: 'web' }, listen: [{ port: 8080, protocol: 'TCP' as const, name: 'http' }] }, name: 'netcheck-r1-l0', ip: '10.244.2.9', node: 'node-b' };
  const lb = targets.address('web-lb', '192.168.1.231', 8080);
  const runner = runnerSource('ci');
  const judge = (s: ClusterSnapshot, outcome: Outcome) =>
    run(s, [runner], [lb], [cell('ci', 'web-lb', 'allow')], { '0': outcome }).verdicts[0]!;

  it('before the listener: a Service that selects no pod (unknown, one reason)', () => {
    expect(assessCellPolicy(createPolicyEngine(snapshot), snapshot, runner, {}, undefined, lb).explanation).toEqual([
      "192.168.1.231 is the LoadBalancer of other/web-lb: judged toward its endpoint pods on the targetPort (kube-proxy DNATs before policy applies, so an egress ipBlock naming 192.168.1.231 does not match)",
      "other/web-lb selects no pods (selector app=web): it has no endpoints, so no pod's policies decide this flow",
    ]);
  });
  it('with it: judged toward the listener, which is a ready endpoint', () => {
    const running = withListenerPods(snapshot, [listener]);
    expect(running.pods.find((p) => p.name === 'netcheck-r1-l0')).toMatchObject({ ip: '10.244.2.9', node: 'node-b', ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] });
    expect(running.services.find((s) => s.name === 'web-lb')?.readyEndpoints).toBe(1);
    const a = assessCellPolicy(createPolicyEngine(running), running, runner, {}, undefined, lb);
    expect(a.view).toBe('unknown');
    expect(a.explanation[0]).toBe(RUNNER_ADDRESS_UNKNOWN);
    const v = judge(running, { kind: 'refused' });
    // A refusal from a served Service is blocked, not "no ready endpoints".
    expect(v.reason).not.toMatch(/no ready endpoints/);
    expect(withListenerPods(snapshot, [])).toBe(snapshot);
  });
});

describe('a LoadBalancer address whose Service has no ready endpoints (issue 9 item 9)', () => {
  const snapshot = withServices();
  const lb = targets.address('gone-lb', '192.168.1.209', 8080);
  const lbHttp = targets.address('gone-web', '192.168.1.209', 8080, { path: '/', expectStatus: 200 });
  it('an allow cell refused fails as data-plane, from a pod and from the runner; the policy column is unknown (no pod to judge)', () => {
    const runner: Source = { kind: 'runner', name: 'runner', address: '198.51.100.7', location: at };
    // From a namespace no policy isolates, so the policies allow it and only the endpoints are missing.
    const outsider = podSource('outsider', 'other', { labels: { app: 'outsider' } });
    const { verdicts } = run(snapshot, [outsider, runner], [lb], [cell('outsider', 'gone-lb', 'allow'), cell('runner', 'gone-lb', 'allow')], { '0': { kind: 'refused' }, '1': { kind: 'refused' } });
    expect(verdicts.map((v) => v.policy)).toEqual(['unknown', 'unknown']);
    for (const v of verdicts) expect((v.policyExplanation ?? []).join('\n')).toMatch(/other\/gone selects no pods \(selector app=gone\): it has no endpoints/);
    for (const v of verdicts) {
      expect(v).toMatchObject({ classification: 'data-plane', pass: false });
      expect(v.reason).toMatch(/service other\/gone has no ready endpoints/);
    }
  });
  it('an http answer is not an "application answer" then', () => {
    const { verdicts } = run(snapshot, [serving], [lbHttp], [cell('serving', 'gone-web', 'allow')], { '0': { kind: 'http', status: 503 } });
    expect(verdicts[0]).toMatchObject({ classification: 'data-plane', pass: false });
    expect(verdicts[0]?.reason).toMatch(/has no ready endpoints: the answer is not a backend's/);
  });
  it('a deny cell proves nothing', () => {
    const { verdicts } = run(snapshot, [serving], [lb], [cell('serving', 'gone-lb', 'deny')], { '0': { kind: 'refused' } });
    expect(verdicts[0]).toMatchObject({ classification: 'unknown', pass: false });
    expect(verdicts[0]?.reason).toMatch(/^service other\/gone has no ready endpoints: a refusal \(the enforcer or kube-proxy rejected it\) proves nothing about the policy/);
  });
});
