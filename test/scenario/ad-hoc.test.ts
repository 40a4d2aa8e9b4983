/** `netcheck probe`'s one-cell scenario (src/scenario/ad-hoc.ts): every --from / --to form and every error. */
import { describe, expect, it } from 'vitest';
import { usageError } from './thrown.js';
import { buildAdHocScenario, parseAdHocSource, parseAdHocTarget } from '../../src/scenario/ad-hoc.js';

const AT = { file: 'netcheck probe' };


describe('--from', () => {
  it.each([
    ['runner', { kind: 'runner', name: 'runner', location: AT }],
    ['financial-ml', { kind: 'pod', name: 'financial-ml', namespace: 'financial-ml', labels: {}, location: AT }],
    ['financial-ml/financial-predictor', { kind: 'pod', name: 'financial-ml/financial-predictor', namespace: 'financial-ml', labels: {}, as: { kind: 'deployment', name: 'financial-predictor' }, location: AT }],
    ['seldon-system/StatefulSet/seldon-scheduler', { kind: 'pod', name: 'seldon-system/StatefulSet/seldon-scheduler', namespace: 'seldon-system', labels: {}, as: { kind: 'statefulset', name: 'seldon-scheduler' }, location: AT }],
    ['default/pod/web-0', { kind: 'pod', name: 'default/pod/web-0', namespace: 'default', labels: {}, as: { kind: 'pod', name: 'web-0' }, location: AT }],
  ])('%s', (from, source) => {
    expect(parseAdHocSource(from)).toEqual(source);
  });

  it.each([
    ['', /^--from : not a namespace/],
    ['Financial_ML', /^--from Financial_ML: not a namespace \(/],
    ['financial-ml/', /^--from financial-ml\/: bad workload name: /],
    ['financial-ml/cronjob/x', /^--from financial-ml\/cronjob\/x: `cronjob` is not a workload kind \(deployment, statefulset/],
    ['a/b/c/d', /^--from a\/b\/c\/d: too many parts/],
  ])('%j is exit 2 with an example', (from, message) => {
    const e = usageError(() => parseAdHocSource(from));
    expect(e.message).toMatch(message);
    expect(e.hint).toMatch(/^e\.g\. --from financial-ml/);
  });
});

describe('--to', () => {
  const service = (name: string, svc: string, namespace: string, port: number | string, extra = {}) => ({ kind: 'service', name, service: svc, namespace, port, protocol: 'TCP', location: AT, ...extra });
  it.each([
    ['seldon-scheduler.seldon-system:9005', service('seldon-scheduler.seldon-system:9005', 'seldon-scheduler', 'seldon-system', 9005)],
    ['seldon-scheduler.seldon-system.svc:9005', service('seldon-scheduler.seldon-system.svc:9005', 'seldon-scheduler', 'seldon-system', 9005)],
    ['seldon-scheduler.seldon-system.svc.cluster.local:9005', service('seldon-scheduler.seldon-system.svc.cluster.local:9005', 'seldon-scheduler', 'seldon-system', 9005)],
    ['kube-system/kube-dns:metrics', service('kube-system/kube-dns:metrics', 'kube-dns', 'kube-system', 'metrics')],
    ['192.168.1.208:5000', { kind: 'address', name: '192.168.1.208:5000', address: '192.168.1.208', port: 5000, protocol: 'TCP', location: AT }],
    ['[fd00::1]:80', { kind: 'address', name: '[fd00::1]:80', address: 'fd00::1', port: 80, protocol: 'TCP', location: AT }],
    ['api.example.com:443', { kind: 'address', name: 'api.example.com:443', address: 'api.example.com', port: 443, protocol: 'TCP', location: AT }],
    ['dns:kube-dns.kube-system.svc.cluster.local', { kind: 'dns', name: 'dns:kube-dns.kube-system.svc.cluster.local', host: 'kube-dns.kube-system.svc.cluster.local', protocol: 'UDP', location: AT }],
  ])('%s', (to, target) => {
    expect(parseAdHocTarget(to)).toEqual(target);
  });

  it('--http and --protocol shape the check', () => {
    expect(parseAdHocTarget('mlflow.mlflow:5000', { http: '/health' })).toMatchObject({ kind: 'service', http: { path: '/health' } });
    expect(parseAdHocTarget('192.168.1.208:5000', { http: '/health' })).toMatchObject({ kind: 'address', http: { path: '/health' } });
    expect(parseAdHocTarget('dns:kubernetes.default', { protocol: 'tcp' })).toMatchObject({ kind: 'dns', protocol: 'TCP' });
    expect(parseAdHocTarget('kube-system/kube-dns:53', { protocol: 'UDP' })).toMatchObject({ kind: 'service', protocol: 'UDP' });
  });

  it.each([
    ['seldon-scheduler.seldon-system', {}, /needs a port: TARGET:PORT \(or dns:NAME for a lookup\)$/],
    ['seldon-scheduler.seldon-system:0', {}, /port 0 is out of range 1-65535$/],
    ['seldon-scheduler.seldon-system:70000', {}, /port 70000 is out of range/],
    ['kube-system/kube-dns:Metrics_Port', {}, /may contain only a-z/],
    ['192.168.1.208:http', {}, /`http` is not a port number \(a named port needs a Service target\)$/],
    ['localhost:80', {}, /is neither SERVICE.NAMESPACE, NS\/SERVICE, an IP address nor a host name with a domain$/],
    ['999.1.1.1:80', {}, /bad IPv4 address `999.1.1.1`$/],
    ['a/b/c:80', {}, /too many "\/"/],
    ['Kube_System/dns:53', {}, /^--to Kube_System\/dns:53: NS\/SERVICE: /],
    ['dns:', {}, /^--to dns:: not a DNS name/],
  ])('%s is exit 2 with an example', (to, options, message) => {
    const e = usageError(() => parseAdHocTarget(to, options));
    expect(e.message).toMatch(message);
    expect(e.hint).toMatch(/^e\.g\. --to seldon-scheduler\.seldon-system:9005/);
  });

  it.each([
    [{ http: 'health' }, /^--http health: a path starting with \/$/],
    [{ protocol: 'icmp' }, /^--protocol icmp: not one of TCP, UDP, SCTP$/],
    [{ http: '/x', protocol: 'udp' }, /^--http with --protocol UDP: HTTP runs over TCP$/],
  ])('%j is exit 2', (options, message) => {
    expect(usageError(() => parseAdHocTarget('mlflow.mlflow:5000', options)).message).toMatch(message);
  });
  it('a dns: target takes no --http, and only UDP or TCP', () => {
    expect(usageError(() => parseAdHocTarget('dns:mlflow.mlflow', { http: '/x' })).message).toMatch(/^--http: a dns: target is a lookup/);
    expect(usageError(() => parseAdHocTarget('dns:mlflow.mlflow', { protocol: 'sctp' })).message).toBe('--protocol sctp: not one of UDP, TCP');
  });
});

describe('buildAdHocScenario', () => {
  it('is one cell, allow by default, with the scenario defaults', () => {
    const s = buildAdHocScenario({ from: 'financial-ml', to: 'seldon-scheduler.seldon-system:9005' });
    expect(s.name).toBe('probe');
    expect(s.cells).toEqual([{ source: 'financial-ml', target: 'seldon-scheduler.seldon-system:9005', expect: 'allow', location: AT }]);
    expect(s.sources).toHaveLength(1);
    expect(s.targets).toHaveLength(1);
    expect(s.defaults).toEqual({ timeoutMs: 2000, retries: 1 });
    expect(s.manifests).toEqual([]);
  });

  it('--expect deny; anything else is exit 2', () => {
    expect(buildAdHocScenario({ from: 'default', to: 'financial-ml/financial-predictor:8080', expect: 'DENY' }).cells[0]?.expect).toBe('deny');
    expect(usageError(() => buildAdHocScenario({ from: 'default', to: 'x.y:1', expect: 'blocked-ish' })).message).toBe(
      '--expect blocked-ish: one of allow, deny, connected, refused, blocked, nxdomain',
    );
  });

  it('--expect at outcome level maps to its intent and keeps the outcome, as the scenario matrix does; nxdomain needs a name', () => {
    const cell = (expectation: string, to = 'financial-ml/financial-predictor:8080') => buildAdHocScenario({ from: 'default', to, expect: expectation }).cells[0];
    expect(cell('refused')).toMatchObject({ expect: 'deny', outcome: 'refused' });
    expect(cell('blocked')).toMatchObject({ expect: 'deny', outcome: 'blocked' });
    expect(cell('connected')).toMatchObject({ expect: 'allow', outcome: 'connected' });
    expect(cell('nxdomain', 'dns:nosuch.financial-ml.svc.cluster.local')).toMatchObject({ expect: 'allow', outcome: 'nxdomain' });
    expect(cell('deny')).not.toHaveProperty('outcome');
    expect(usageError(() => cell('nxdomain', '192.168.1.208:5000')).message).toBe('--expect nxdomain: the target is an address, not looked up by name');
  });
});
