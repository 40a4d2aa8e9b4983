/**
 * The scenario language of issue 9: outcome-level expectations, named listener ports, `via: clusterIP`, and the
 * runner's `address:`. Each field parses to the model, and each mistake is one error with file:line:column.
 */
import { describe, expect, it } from 'vitest';
import { parseError, withLines as withBaseLines } from './thrown.js';
import { parseScenario } from '../../src/scenario/parse.js';

const BASE = [
  'apiVersion: netcheck.io/v1alpha1',
  'kind: Scenario',
  'metadata: { name: demo }',
  'sources:',
  '  serving: { namespace: financial-ml }',
  '  ci: { runner: true, address: 198.51.100.7 }',
  'targets:',
  '  dns: { dns: kubernetes.default }',
  '  nosuch: { dns: nosuch.financial-ml.svc.cluster.local }',
  '  sched: { service: seldon-scheduler, namespace: seldon-system, port: 9005, via: clusterIP }',
  '  web: { namespace: financial-ml, labels: { app: web }, port: { name: http, number: 8080 } }',
  '  lb: { address: 192.168.1.208, port: 5000 }',
  'matrix:',
  '  serving: { connected: [dns], nxdomain: [nosuch], refused: [web], blocked: [sched] }',
  '  ci: { deny: [lb] }',
];

const withLines = (changes: Record<number, string>): string => withBaseLines(BASE, changes);

describe('scenario language: what parses', () => {
  const scenario = parseScenario(withLines({}), 'demo.yaml');
  const cell = (source: string, target: string) => scenario.cells.find((c) => c.source === source && c.target === target);

  it('outcome-level expectations keep the outcome and map to allow/deny', () => {
    expect(cell('serving', 'dns')).toMatchObject({ expect: 'allow', outcome: 'connected' });
    expect(cell('serving', 'nosuch')).toMatchObject({ expect: 'allow', outcome: 'nxdomain' });
    expect(cell('serving', 'web')).toMatchObject({ expect: 'deny', outcome: 'refused' });
    expect(cell('serving', 'sched')).toMatchObject({ expect: 'deny', outcome: 'blocked' });
  });
  it('allow/deny keep their meaning: no outcome', () => {
    expect(cell('ci', 'lb')).toEqual({ source: 'ci', target: 'lb', expect: 'deny', location: { file: 'demo.yaml', line: 15, column: 16 } });
  });
  it('a named listener port', () => {
    expect(scenario.targets.find((t) => t.name === 'web')).toMatchObject({ kind: 'listener', port: 8080, portName: 'http' });
  });
  it('via: clusterIP', () => {
    expect(scenario.targets.find((t) => t.name === 'sched')).toMatchObject({ kind: 'service', via: 'clusterIP', port: 9005 });
  });
  it("the runner's address", () => {
    expect(scenario.sources.find((s) => s.name === 'ci')).toMatchObject({ kind: 'runner', address: '198.51.100.7' });
    const plain = parseScenario(withLines({ 6: '  ci: { runner: true }' }), 'demo.yaml');
    expect(plain.sources.find((s) => s.name === 'ci')).not.toHaveProperty('address');
  });
});

describe('scenario language: errors name file:line:column', () => {
  const cases: Array<{ name: string; changes: Record<number, string>; message: string }> = [
    { name: 'misspelled outcome expectation', changes: { 14: '  serving: { refuse: [web] }' },
      message: 'demo.yaml:14:14: unknown key `refuse` in `matrix.serving`; did you mean `refused`?' },
    { name: 'a target under two outcome expectations', changes: { 14: '  serving: { refused: [web], blocked: [web] }' },
      message: 'demo.yaml:14:40: matrix.serving: target `web` is listed under both `refused` and `blocked`' },
    { name: 'allow and deny keep their message', changes: { 14: '  serving: { allow: [web], deny: [web] }' },
      message: 'demo.yaml:14:35: matrix.serving: target `web` is both allowed and denied' },
    { name: 'nxdomain on a listener', changes: { 14: '  serving: { nxdomain: [web] }' },
      message: 'demo.yaml:14:25: matrix.serving.nxdomain: the listener target `web` is not looked up by name; `nxdomain` fits a dns or service target' },
    { name: 'nxdomain on a service probed by ClusterIP', changes: { 14: '  serving: { nxdomain: [sched] }' },
      message: 'demo.yaml:14:25: matrix.serving.nxdomain: target `sched` is probed by ClusterIP (`via: clusterIP`), not by name, so it cannot be nxdomain' },
    { name: 'a bad via', changes: { 10: '  sched: { service: seldon-scheduler, namespace: seldon-system, port: 9005, via: clusterip }' },
      message: 'demo.yaml:10:82: target `sched`: unsupported `via: clusterip`; did you mean `clusterIP`? (only `clusterIP`: probe the Service\'s ClusterIP, no DNS)' },
    { name: 'via on a dns target', changes: { 8: '  dns: { dns: kubernetes.default, via: clusterIP }' },
      message: 'demo.yaml:8:35: target `dns`: a dns target takes no `via` (only a service target can be probed by its ClusterIP)' },
    { name: 'via on a listener', changes: { 11: '  web: { namespace: financial-ml, port: 8080, via: clusterIP }' },
      message: 'demo.yaml:11:47: target `web`: a listener target takes no `via` (netcheck probes its listener by pod IP)' },
    { name: 'a listener port given only a name', changes: { 11: '  web: { namespace: financial-ml, port: http }' },
      message: 'demo.yaml:11:41: target `web`: a listener port needs a number; to name it write `port: { name: http, number: 8080 }`' },
    { name: 'a named listener port without a number', changes: { 11: '  web: { namespace: financial-ml, port: { name: http } }' },
      message: 'demo.yaml:11:41: target `web`: `port`: missing `number`' },
    { name: 'a named listener port without a name', changes: { 11: '  web: { namespace: financial-ml, port: { number: 8080 } }' },
      message: 'demo.yaml:11:41: target `web`: `port`: missing `name`' },
    { name: 'a bad listener port name', changes: { 11: '  web: { namespace: financial-ml, port: { name: Http_1, number: 8080 } }' },
      message: 'demo.yaml:11:49: target `web`: bad `port.name`: ' },
    { name: 'a bad listener port number', changes: { 11: '  web: { namespace: financial-ml, port: { name: http, number: 0 } }' },
      message: 'demo.yaml:11:63: target `web`: bad `port.number`: ' },
    { name: 'an unknown key in a listener port', changes: { 11: '  web: { namespace: financial-ml, port: { name: http, nubmer: 8080 } }' },
      message: 'demo.yaml:11:55: unknown key `nubmer` in target `web` `port`; did you mean `number`?' },
    { name: "the runner's address is not an IP", changes: { 6: '  ci: { runner: true, address: ci.example.com }' },
      message: 'demo.yaml:6:32: source `ci`: `address`: `ci.example.com` is not an IP address' },
    { name: "the runner's address is a range", changes: { 6: '  ci: { runner: true, address: 198.51.100.0/24 }' },
      message: 'demo.yaml:6:32: source `ci`: `address`: `198.51.100.0/24` is a CIDR; give one IP address' },
    { name: 'address on a pod source', changes: { 5: '  serving: { namespace: financial-ml, address: 10.0.0.1 }' },
      message: 'demo.yaml:5:39: source `serving`: `address` belongs to the runner (`runner: true`); a pod source\'s address is its probe pod\'s' },
  ];
  it.each(cases)('$name', ({ changes, message }) => {
    const error = parseError(withLines(changes));
    if (message.endsWith(': ')) expect(error.startsWith(message)).toBe(true);
    else expect(error).toBe(message);
  });
});
