import { describe, expect, it } from 'vitest';
import { parseError, withLines as withBaseLines } from './thrown.js';
import { parseScenario, ScenarioErrorList } from '../../src/scenario/parse.js';

/** A small valid scenario; each case swaps one line (1-based) so the expected line:column stays readable. */
const BASE = [
  'apiVersion: netcheck.io/v1alpha1',
  'kind: Scenario',
  'metadata: { name: demo }',
  'defaults: { timeout: 2s, retries: 1 }',
  'sources:',
  '  serving: { namespace: financial-ml, as: deployment/financial-predictor }',
  '  ci: { runner: true }',
  'targets:',
  '  dns: { dns: kube-dns.kube-system.svc.cluster.local }',
  '  sched: { service: seldon-scheduler, namespace: seldon-system, port: 9005 }',
  '  lb: { address: 192.168.1.208, port: 5000 }',
  '  listener: { namespace: default, port: 8080 }',
  'matrix:',
  '  serving: { allow: [dns, sched], deny: [listener] }',
  '  ci: { allow: [lb] }',
  'known:',
  '  - { from: serving, to: sched, reason: "a documented gap" }',
];

const withLines = (changes: Record<number, string>): string => withBaseLines(BASE, changes);

describe('parseScenario errors name file:line:column and the offending key', () => {
  const cases: Array<{ name: string; changes: Record<number, string>; message: string }> = [
    // Unknown keys, with the nearest valid key.
    { name: 'typo in a source key', changes: { 6: '  serving: { namespce: financial-ml }' },
      message: 'demo.yaml:6:14: unknown key `namespce` in source `serving`; did you mean `namespace`?' },
    { name: 'transposed letters in a target key', changes: { 10: '  sched: { service: seldon-scheduler, namsepace: seldon-system, port: 9005 }' },
      message: 'demo.yaml:10:39: unknown key `namsepace` in target `sched`; did you mean `namespace`?' },
    { name: 'typo in a top-level key', changes: { 8: 'tragets:' },
      message: 'demo.yaml:8:1: unknown key `tragets` at the top level; did you mean `targets`?' },
    { name: 'unknown key with no near match', changes: { 4: 'defaults: { timeout: 2s, colour: blue }' },
      message: 'demo.yaml:4:26: unknown key `colour` in `defaults`' },
    { name: 'typo in a matrix list name', changes: { 15: '  ci: { alow: [lb] }' },
      message: 'demo.yaml:15:9: unknown key `alow` in `matrix.ci`; did you mean `allow`?' },
    // Matrix references.
    { name: 'matrix names an unknown target', changes: { 14: '  serving: { allow: [dns, shced], deny: [listener] }' },
      message: 'demo.yaml:14:27: matrix.serving.allow: unknown target `shced`; did you mean `sched`?' },
    { name: 'matrix names an unknown source', changes: { 14: '  servng: { allow: [dns] }' },
      message: 'demo.yaml:14:3: matrix: unknown source `servng`; did you mean `serving`?' },
    { name: 'target both allowed and denied', changes: { 14: '  serving: { allow: [dns, sched], deny: [sched] }' },
      message: 'demo.yaml:14:42: matrix.serving: target `sched` is both allowed and denied' },
    { name: 'target listed twice', changes: { 14: '  serving: { allow: [dns, dns] }' },
      message: 'demo.yaml:14:27: matrix.serving.allow: target `dns` is listed twice' },
    { name: 'runner aimed at an in-cluster service', changes: { 15: '  ci: { allow: [sched] }' },
      message: 'demo.yaml:15:17: matrix.ci.allow: the runner `ci` is outside the cluster; it can reach `address` and `dns` targets, not the service `sched`' },
    // Duplicate names (YAML duplicate keys).
    { name: 'duplicate source name', changes: { 7: '  serving: { runner: true }' },
      message: 'demo.yaml:7:3: duplicate key `serving` (names must be unique)' },
    // Ports.
    { name: 'port out of range', changes: { 11: '  lb: { address: 192.168.1.208, port: 70000 }' },
      message: 'demo.yaml:11:39: target `lb`: bad port: port 70000 is out of range 1-65535' },
    { name: 'port zero', changes: { 12: '  listener: { namespace: default, port: 0 }' },
      message: 'demo.yaml:12:41: target `listener`: bad port: port 0 is out of range 1-65535' },
    { name: 'port name breaking IANA_SVC_NAME', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: grpc--api }' },
      message: "demo.yaml:10:71: target `sched`: bad port: port name `grpc--api` may not start or end with '-' or contain '--'" },
    { name: 'port name too long', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: scheduler-grpc-api }' },
      message: 'demo.yaml:10:71: target `sched`: bad port: port name `scheduler-grpc-api` is longer than 15 characters' },
    { name: 'quoted port number', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: "9005" }' },
      message: 'demo.yaml:10:71: target `sched`: bad port: port `9005` is a string; write the number without quotes' },
    { name: 'named port on an address target', changes: { 11: '  lb: { address: 192.168.1.208, port: http }' },
      message: 'demo.yaml:11:39: target `lb`: port must be a number, not `http` (only a service target may name its port)' },
    // Addresses and CIDRs.
    { name: 'bad IPv4 address', changes: { 11: '  lb: { address: 192.168.1.300, port: 5000 }' },
      message: 'demo.yaml:11:18: target `lb`: bad IPv4 address `192.168.1.300`' },
    { name: 'bad CIDR', changes: { 11: '  lb: { address: 192.168.1.0/33, port: 5000 }' },
      message: 'demo.yaml:11:18: target `lb`: bad CIDR `192.168.1.0/33`: prefix length must be 0-32' },
    { name: 'a valid CIDR is still not one address', changes: { 11: '  lb: { address: 192.168.1.0/24, port: 5000 }' },
      message: 'demo.yaml:11:18: target `lb`: `192.168.1.0/24` is a CIDR; an address target needs one IP address or host name' },
    { name: 'bad IPv6 address', changes: { 11: '  lb: { address: "fd00::1::2", port: 5000 }' },
      message: 'demo.yaml:11:18: target `lb`: bad IPv6 address `fd00::1::2`' },
    // Durations and retries.
    { name: 'duration without unit', changes: { 4: 'defaults: { timeout: 2 }' },
      message: 'demo.yaml:4:22: `defaults.timeout`: bad duration `2`; use e.g. `500ms`, `2s` or `1m`' },
    { name: 'duration with a word unit', changes: { 4: 'defaults: { timeout: 2 sec }' },
      message: 'demo.yaml:4:22: `defaults.timeout`: bad duration `2 sec`; use e.g. `500ms`, `2s` or `1m`' },
    { name: 'zero duration', changes: { 4: 'defaults: { timeout: 0s }' },
      message: 'demo.yaml:4:22: `defaults.timeout`: bad duration `0s`; use e.g. `500ms`, `2s` or `1m`' },
    { name: 'negative retries', changes: { 4: 'defaults: { retries: -1 }' },
      message: 'demo.yaml:4:22: `defaults.retries` must be an integer 0-10, not `-1`' },
    // Source shape.
    { name: 'source with both as and runner', changes: { 7: '  ci: { runner: true, as: deployment/mlflow }' },
      message: 'demo.yaml:7:23: source `ci`: `runner` cannot be combined with `as` (the runner is outside the cluster)' },
    { name: 'runner: false', changes: { 7: '  ci: { runner: false }' },
      message: 'demo.yaml:7:17: source `ci`: `runner` must be `true` (the machine netcheck runs on)' },
    { name: 'source without namespace', changes: { 6: '  serving: { labels: { app: x } }' },
      message: 'demo.yaml:6:3: source `serving`: missing `namespace` (or `runner: true`)' },
    { name: 'as without a kind', changes: { 6: '  serving: { namespace: financial-ml, as: financial-predictor }' },
      message: 'demo.yaml:6:43: source `serving`: `as` must be <kind>/<name>, e.g. `deployment/financial-predictor`, not `financial-predictor`' },
    { name: 'as with a misspelled kind', changes: { 6: '  serving: { namespace: financial-ml, as: deploymnet/financial-predictor }' },
      message: 'demo.yaml:6:43: source `serving`: cannot clone labels from kind `deploymnet`; did you mean `deployment`? (one of deployment, statefulset, daemonset, replicaset, job, pod)' },
    { name: 'numeric label value', changes: { 6: '  serving: { namespace: financial-ml, labels: { version: 2 } }' },
      message: 'demo.yaml:6:58: source `serving`: label `version` must be a string, not `2`; quote it' },
    { name: 'uppercase namespace', changes: { 6: '  serving: { namespace: Financial-ML }' },
      message: "demo.yaml:6:25: source `serving`: namespace `Financial-ML` must be lowercase a-z, 0-9 and '-', starting and ending with a letter or digit" },
    // Target shape.
    { name: 'dns target with a port', changes: { 9: '  dns: { dns: kube-dns.kube-system.svc.cluster.local, port: 53 }' },
      message: 'demo.yaml:9:55: target `dns`: a dns target takes no port (DNS queries go to the resolver on 53)' },
    { name: 'dns over SCTP', changes: { 9: '  dns: { dns: kube-dns.kube-system.svc.cluster.local, protocol: SCTP }' },
      message: 'demo.yaml:9:65: target `dns`: unsupported protocol `SCTP` (one of UDP, TCP)' },
    { name: 'lowercase protocol', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: 9005, protocol: tcp }' },
      message: 'demo.yaml:10:87: target `sched`: unsupported protocol `tcp`; did you mean `TCP`? (one of TCP, UDP, SCTP)' },
    { name: 'target with two kinds', changes: { 11: '  lb: { address: 192.168.1.208, service: mlflow, port: 5000 }' },
      message: 'demo.yaml:11:33: target `lb` has both `address` and `service`; a target is one of dns, service, address or namespace+port' },
    { name: 'target with no kind', changes: { 12: '  listener: { port: 8080 }' },
      message: 'demo.yaml:12:3: target `listener` needs one of `dns`, `service`, `address`, or `namespace` + `port` (a listener netcheck deploys)' },
    { name: 'service target without port', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system }' },
      message: 'demo.yaml:10:3: target `sched`: missing `port`' },
    { name: 'http check on UDP', changes: { 11: '  lb: { address: 192.168.1.208, port: 5000, protocol: UDP, http: { path: / } }' },
      message: 'demo.yaml:11:60: target `lb`: an http check needs protocol TCP, not UDP' },
    { name: 'http status out of range', changes: { 11: '  lb: { address: 192.168.1.208, port: 5000, http: { expectStatus: 700 } }' },
      message: 'demo.yaml:11:67: target `lb`: `http.expectStatus` must be an HTTP status 100-599, not `700`' },
    // Known gaps.
    { name: 'known gap for a cell not in the matrix', changes: { 17: '  - { from: ci, to: dns, reason: "x" }' },
      message: 'demo.yaml:17:5: known: `ci` → `dns` is not in the matrix; add `dns` to matrix.ci.allow or .deny' },
    { name: 'known gap without reason', changes: { 17: '  - { from: serving, to: sched }' },
      message: 'demo.yaml:17:5: a `known` entry: missing `reason` (say why the cell fails)' },
    { name: 'known gap naming an unknown target', changes: { 17: '  - { from: serving, to: schd, reason: "x" }' },
      message: 'demo.yaml:17:26: known: unknown target `schd`; did you mean `sched`?' },
    // Document level.
    { name: 'wrong apiVersion', changes: { 1: 'apiVersion: netcheck.io/v1' },
      message: 'demo.yaml:1:13: unsupported apiVersion `netcheck.io/v1`; this netcheck reads netcheck.io/v1alpha1' },
    { name: 'missing metadata name', changes: { 3: 'metadata: { description: x }' },
      message: 'demo.yaml:3:1: `metadata`: missing `name`' },
    { name: 'YAML syntax error', changes: { 14: '  serving: { allow: [dns, sched }' },
      message: 'demo.yaml:14:33: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]' },
  ];

  it.each(cases)('$name', ({ changes, message }) => {
    expect(parseError(withLines(changes))).toBe(message);
  });

  it('rejects an empty file at 1:1', () => {
    expect(parseError('')).toBe('demo.yaml:1:1: the file is empty; expected an netcheck.io/v1alpha1 Scenario');
  });

  it('rejects a second YAML document', () => {
    expect(parseError(withLines({}) + '---\nkind: Scenario\n')).toBe(
      'demo.yaml:18:1: a scenario file holds one YAML document; remove the `---` separator',
    );
  });
});

describe('parseScenario reports every error of a file, not the first', () => {
  it('lists independent errors in file order, each with file:line:column and its "did you mean"', () => {
    const text = withLines({
      6: '  serving: { namespce: financial-ml }',
      11: '  lb: { address: 192.168.1.208, port: 70000 }',
      15: '  ci: { alow: [dns] }',
    });
    let error: unknown;
    try {
      parseScenario(text, 'demo.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioErrorList);
    expect((error as ScenarioErrorList).exitCode).toBe(2);
    expect((error as Error).message).toBe(
      [
        'demo.yaml: 3 errors:',
        '  demo.yaml:6:14: unknown key `namespce` in source `serving`; did you mean `namespace`?',
        '  demo.yaml:11:39: target `lb`: bad port: port 70000 is out of range 1-65535',
        '  demo.yaml:15:9: unknown key `alow` in `matrix.ci`; did you mean `allow`?',
      ].join('\n'),
    );
  });

  it('reports every unknown key of one mapping', () => {
    expect(parseError(withLines({ 4: 'defaults: { timout: 2s, retires: 1 }' }))).toBe(
      [
        'demo.yaml: 2 errors:',
        '  demo.yaml:4:13: unknown key `timout` in `defaults`; did you mean `timeout`?',
        '  demo.yaml:4:25: unknown key `retires` in `defaults`; did you mean `retries`?',
      ].join('\n'),
    );
  });

  it('does not repeat an error through what depends on it: a broken source or a misspelled section is reported once', () => {
    // `serving` is broken, so matrix.serving and the known gap from serving are not reported as unknown; `tragets` is
    // not reported again as a missing `targets`.
    expect(parseError(withLines({ 6: '  serving: { labels: { app: x } }', 8: 'tragets:' }))).toBe(
      [
        'demo.yaml: 2 errors:',
        '  demo.yaml:6:3: source `serving`: missing `namespace` (or `runner: true`)',
        '  demo.yaml:8:1: unknown key `tragets` at the top level; did you mean `targets`?',
      ].join('\n'),
    );
  });

  it('stops at a document that is not a scenario: a Deployment gets one line, not one per key', () => {
    expect(parseError('apiVersion: apps/v1\nkind: Deployment\nspec: {}\n')).toBe(
      'demo.yaml:1:13: unsupported apiVersion `apps/v1`; this netcheck reads netcheck.io/v1alpha1',
    );
  });
});

describe('`node:` on a listener target (node-to-node checks)', () => {
  it('pins the listener to that node', () => {
    const parsed = parseScenario(withLines({ 12: '  listener: { namespace: default, port: 8080, node: node-b }' }), 'demo.yaml');
    expect(parsed.targets.find((t) => t.name === 'listener')).toMatchObject({ kind: 'listener', node: 'node-b' });
  });
  it('is refused on a service target, naming the line and what to use instead', () => {
    expect(parseError(withLines({ 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: 9005, node: node-b }' }))).toMatch(
      /^demo\.yaml:10:\d+: target `sched`: a service target takes no node \(the Service picks its endpoints; use a listener target with `node:`\)/,
    );
  });
});
