/**
 * What cannot run fails its own cells: missing namespaces (did you mean), `as:` lookups, RBAC refusals per
 * namespace, and what the inventory could not see. Pure functions, real ClusterErrors from the API error mapping.
 */
import { describe, expect, it } from 'vitest';
import { errorFromStatus } from '../../src/cluster/api-errors.js';
import type { NotVisible } from '../../src/cluster/types.js';
import { ClusterError, ExitCode, ProbeError } from '../../src/model/errors.js';
import type { ClusterSnapshot } from '../../src/policy/types.js';
import {
  describeNamespaceRefusals,
  describeUnavailable,
  describeVisibility,
  findHiddenNamedPorts,
  findMissingNamespaces,
  unavailableCells,
  unavailableFailure,
  withoutUnavailable,
  workloadLookupFailure,
} from '../../src/run/unavailable.js';
import { hiddenFor, markNotVisible } from '../../src/run/visibility.js';
import { baselinePolicy, cell, podSource, runnerSource, scenario, targets, verdict } from './scenario-builder.js';

const identity = { server: 'https://api.example:6443', context: 'ctx' };
const forbidden = (verb: string, resource: string, namespace: string): ClusterError =>
  errorFromStatus(403, { message: `pods is forbidden: User "x" cannot ${verb} resource "${resource}" in API group "" in the namespace "${namespace}"` }, { verb, resource, namespace }, identity);

const platform = scenario(
  [
    podSource('serving', 'financial-ml'),
    { ...podSource('typo', 'financial-mll'), location: { file: '/work/x/scenario.yaml', line: 12, column: 3 } },
    runnerSource('ci'),
  ],
  [targets.dns('cluster-dns'), targets.listener('gone', 'scratch', 8080), targets.service('predictor', 'financial-predictor', 'financial-ml', 8080)],
  [cell('serving', 'cluster-dns', 'allow'), cell('serving', 'gone', 'allow'), cell('typo', 'cluster-dns', 'allow'), cell('ci', 'predictor', 'deny'), cell('serving', 'predictor', 'allow')],
);
const listed = { namespaces: ['financial-ml', 'kube-system', 'default'].map((name) => ({ name, labels: {} })), namespacesListed: true };

describe('missing namespaces', () => {
  it('a namespace the full list lacks makes its source or listener unavailable, with file:line and did-you-mean', () => {
    const missing = findMissingNamespaces(platform, listed);
    expect(missing.sources).toEqual(new Map([['typo', 'namespace financial-mll not found (scenario.yaml:12:3); did you mean financial-ml?']]));
    expect([...missing.targets.keys()]).toEqual(['gone']);
    expect(missing.targets.get('gone')).toMatch(/^namespace scratch not found \(scenario\.yaml:1\)$/);
  });

  it('without a full list (namespace-scoped rights) nothing is assumed missing, unless the API server said so', () => {
    const partial = { namespaces: [{ name: 'financial-ml', labels: {} }] };
    expect(findMissingNamespaces(platform, partial).sources.size).toBe(0);
    expect([...findMissingNamespaces(platform, { ...partial, missingNamespaces: ['scratch'] }).targets.keys()]).toEqual(['gone']);
  });

  it('the rest of the scenario is planned; the left-out cells are not run with their reason, and grouped in findings', () => {
    const missing = findMissingNamespaces(platform, listed);
    const runnable = withoutUnavailable(platform, missing);
    expect(runnable.cells.map((c) => `${c.source}→${c.target}`)).toEqual(['serving→cluster-dns', 'ci→predictor', 'serving→predictor']);
    expect(runnable.sources.map((s) => s.name)).toEqual(['serving', 'ci']);
    const cells = unavailableCells(platform, missing);
    expect(cells.map((c) => [c.source, c.target, c.classification, c.pass])).toEqual([
      ['serving', 'gone', 'probe', false],
      ['typo', 'cluster-dns', 'probe', false],
    ]);
    expect(cells[1]!.reason).toBe('probe did not run: namespace financial-mll not found (scenario.yaml:12:3); did you mean financial-ml?');
    expect(describeUnavailable(missing)).toEqual([
      '1 source could not run: typo (namespace financial-mll not found (scenario.yaml:12:3); did you mean financial-ml?)',
      '1 target could not run: gone (namespace scratch not found (scenario.yaml:1))',
    ]);
    expect(unavailableFailure(missing)?.exitCode).toBe(ExitCode.Infrastructure);
    expect(unavailableFailure({ sources: new Map(), targets: new Map() })).toBeUndefined();
    expect(withoutUnavailable(platform, { sources: new Map(), targets: new Map() })).toBe(platform);
  });
});

describe('named ports behind hidden Services', () => {
  it('a named service port in a namespace whose Services cannot be listed is unavailable, saying so (not "service not found")', () => {
    const sc = scenario([podSource('serving', 'financial-ml')], [targets.service('dns-metrics', 'kube-dns', 'kube-system', 'metrics'), targets.service('numbered', 'kube-dns', 'kube-system', 9153)], []);
    const hidden: NotVisible = { what: 'services in default, kube-system', why: 'forbidden: list services', command: 'kubectl get services -A', resource: 'services', namespaces: ['default', 'kube-system'] };
    const unavailable = { sources: new Map<string, string>(), targets: new Map<string, string>() };
    findHiddenNamedPorts(sc, [hidden], unavailable);
    expect(unavailable.targets).toEqual(
      new Map([
        ['dns-metrics', 'port "metrics" of service kube-system/kube-dns cannot be resolved (scenario.yaml:1): not visible with these rights: services in kube-system (forbidden: list services) — ask the platform team to run `kubectl get services -n kube-system`; or give the port number'],
      ]),
    );
    findHiddenNamedPorts(sc, [{ ...hidden, namespaces: ['default'] }], (unavailable.targets.clear(), unavailable));
    expect(unavailable.targets.size).toBe(0);
  });
});

describe('`as:` lookups', () => {
  const source = { namespace: 'financial-ml', as: { kind: 'Deployment', name: 'no-such' }, location: { file: 'a/s.yaml', line: 4 } };
  it('not found, namespace not found and forbidden fail the source; anything else is not the source\'s alone', () => {
    expect(workloadLookupFailure(new ClusterError('x', { reason: 'NotFound', namespace: 'financial-ml' }), source, [])).toBe(
      'deployment/no-such not found in namespace financial-ml (s.yaml:4); check the `as:` workload name',
    );
    expect(workloadLookupFailure(errorFromStatus(404, { details: { kind: 'namespaces', name: 'financial-ml' } }, { verb: 'get', resource: 'deployments', namespace: 'financial-ml' }, identity), source, ['financial-ml2'])).toBe(
      'namespace financial-ml not found (s.yaml:4); did you mean financial-ml2?',
    );
    expect(workloadLookupFailure(forbidden('get', 'deployments', 'financial-ml'), source, [])).toBe(
      'cannot get deployments in financial-ml: RBAC forbids `get deployments` — grant deploy/rbac/role.yaml in financial-ml (or deploy/rbac/clusterrole.yaml) (`as:` at s.yaml:4)',
    );
    expect(workloadLookupFailure(new ClusterError('gone', { reason: 'Unreachable' }), source, [])).toBeUndefined();
    expect(workloadLookupFailure(new Error('bug'), source, [])).toBeUndefined();
  });
});

describe('RBAC refusals per namespace', () => {
  it('pods refused in a namespace are grouped by namespace and verb; other failures are not', () => {
    const refusal = (ns: string, verb = 'create'): ProbeError => new ProbeError(`probe pod ${ns}/p could not run`, { reason: 'Forbidden' }, { cause: forbidden(verb, 'pods', ns) });
    const lines = describeNamespaceRefusals([refusal('seldon-system'), refusal('seldon-system'), refusal('default'), refusal('default', 'list'), new ProbeError('image', { reason: 'ErrImagePull' })]);
    expect(lines).toEqual([
      '2 pods could not run in default: RBAC forbids `create pods`, `list pods` — grant deploy/rbac/role.yaml in default (or deploy/rbac/clusterrole.yaml); the cells of other namespaces ran',
      '2 pods could not run in seldon-system: RBAC forbids `create pods` — grant deploy/rbac/role.yaml in seldon-system (or deploy/rbac/clusterrole.yaml); the cells of other namespaces ran',
    ]);
    const gone = new ProbeError('probe pod x/p could not run', { reason: 'NamespaceNotFound' }, { cause: errorFromStatus(404, { details: { kind: 'namespaces', name: 'x' } }, { verb: 'create', resource: 'pods', namespace: 'x' }, identity) });
    expect(describeNamespaceRefusals([gone])).toEqual(['1 pod could not run in x: namespace x not found; the cells of other namespaces ran']);
  });
});

const hiddenPolicies: NotVisible = { what: 'networkpolicies in kube-system', why: 'forbidden: list networkpolicies', command: 'kubectl describe networkpolicy -n kube-system', resource: 'networkpolicies', namespaces: ['kube-system'] };
const hiddenLabels: NotVisible = { what: 'namespace labels', why: 'forbidden: list namespaces', command: 'kubectl get namespaces --show-labels', resource: 'namespaces' };
const hiddenNodes: NotVisible = { what: 'nodes', why: 'forbidden: list nodes', command: 'kubectl get nodes -o wide --show-labels', resource: 'nodes' };

describe('not visible with these rights', () => {
  it('each line names what, why, and the command for the platform team; --per-node says it could not pin', () => {
    expect(describeVisibility({ notVisible: [hiddenLabels] })).toEqual([
      'not visible with these rights: namespace labels (forbidden: list namespaces) — ask the platform team to run `kubectl get namespaces --show-labels`',
    ]);
    expect(describeVisibility({ notVisible: [hiddenNodes] }, { perNode: true })[0]).toMatch(/^--per-node: nodes are not visible with these rights \(forbidden: list nodes\), so probe pods were NOT pinned to nodes/);
    expect(describeVisibility({ notVisible: [hiddenNodes] }, { perNode: true, pinnedTo: ['node-a'] })[0]).toMatch(/^--per-node: nodes are not visible with these rights \(forbidden: list nodes\): probe pods were pinned to node-a as given with --nodes, unchecked/);
    expect(describeVisibility({ notVisible: [hiddenNodes] })).toHaveLength(1);
    expect(describeVisibility({})).toEqual([]);
  });

  const snapshot: ClusterSnapshot = { namespaces: [], pods: [], services: [], nodes: [], policies: [baselinePolicy('financial-ml')] };
  it('a cell rests on the hidden policies of its source or destination namespace, and on namespace labels when a policy there selects by label', () => {
    const serving = podSource('serving', 'financial-ml');
    expect(hiddenFor(serving, targets.dns('cluster-dns'), snapshot, [hiddenPolicies])).toEqual([hiddenPolicies]);
    expect(hiddenFor(serving, targets.service('p', 'p', 'financial-ml', 80), snapshot, [hiddenPolicies])).toEqual([]);
    // financial-ml's baseline selects namespaces by their `name` label: hidden labels matter there...
    expect(hiddenFor(serving, targets.service('p', 'p', 'financial-ml', 80), snapshot, [hiddenLabels])).toEqual([hiddenLabels]);
    // ...but not for a cell between namespaces with no such policy.
    expect(hiddenFor(podSource('o', 'default'), targets.listener('l', 'default', 80), snapshot, [hiddenLabels])).toEqual([]);
    // Only the name label, which the API server sets, needs no namespace read.
    const byName = { ...snapshot, policies: [{ name: 'p', namespace: 'default', podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'x' } } }] }] }] };
    expect(hiddenFor(podSource('o', 'default'), targets.listener('l', 'default', 80), byName, [hiddenLabels])).toEqual([]);
  });

  it('a cell whose verdict rests on what is hidden is judged again with policy unknown: it passes if it behaved as intended, else unknown (not a guessed policy gap)', () => {
    const sc = scenario([podSource('serving', 'financial-ml')], [targets.listener('metrics', 'kube-system', 9153)], [cell('serving', 'metrics', 'allow')]);
    const failed = verdict({ source: 'serving', target: 'metrics', policy: 'deny', policyExplanation: ['egress: denied by x'], outcome: { kind: 'timeout' }, attempts: [{ outcome: { kind: 'timeout' }, ms: 1000 }], pass: false, classification: 'policy-gap', reason: 'r' });
    const [again] = markNotVisible([failed], sc, snapshot, [hiddenPolicies]);
    expect(again!.policy).toBe('unknown');
    expect(again!.classification).toBe('unknown');
    expect(again!.policyExplanation?.[0]).toBe('not visible with these rights: networkpolicies in kube-system (forbidden: list networkpolicies) — ask the platform team to run `kubectl describe networkpolicy -n kube-system`');
    expect(again!.policyExplanation).toContain('from what was visible: egress: denied by x');
    // Already unknown: the hidden thing is named first, the verdict is unchanged.
    const absent = { ...failed, policy: 'unknown' as const, policyExplanation: ['service kube-system/x is not in the snapshot'], classification: 'unknown' as const };
    const [named] = markNotVisible([absent], sc, snapshot, [hiddenPolicies]);
    expect(named!.policyExplanation).toEqual([expect.stringMatching(/^not visible with these rights: networkpolicies in kube-system/), 'service kube-system/x is not in the snapshot']);
    expect(named!.classification).toBe('unknown');
    // Nothing hidden that it needs: unchanged.
    expect(markNotVisible([failed], sc, snapshot, [])[0]).toBe(failed);
    expect(markNotVisible([failed], sc, snapshot, [hiddenNodes])[0]).toBe(failed);
  });
});
