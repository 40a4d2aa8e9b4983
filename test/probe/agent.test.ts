import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AgentCheck, AgentCheckResult, Outcome } from '../../src/model/outcome.js';
import { nameCandidates, parseResolvConf } from '../../probes/resolv-conf.js';
import { locateAgent } from '../../src/probe/agent.js';
import { PORTS, canBuildNetns, createAgentNetns, type AgentNetns } from './agent-netns.js';

/** The bundled agent the build made: every process test below spawns it, as a probe pod and the runner do. */
const agentPath = locateAgent();

interface AgentLines {
  results: Map<string, AgentCheckResult>;
  done: { done: true; checks: number; ms: number } | undefined;
  code: number | null;
}

function readLines(stdout: string, code: number | null): AgentLines {
  const results = new Map<string, AgentCheckResult>();
  let done: AgentLines['done'];
  for (const line of stdout.split('\n').filter((l) => l !== '')) {
    const value = JSON.parse(line) as AgentCheckResult | NonNullable<AgentLines['done']>;
    if ('done' in value) done = value;
    else results.set(value.id, value);
  }
  return { results, done, code };
}

function result(lines: AgentLines, id: string): AgentCheckResult {
  const found = lines.results.get(id);
  if (found === undefined) throw new Error(`no result for ${id}`);
  return found;
}

describe('nameCandidates applies search and ndots like the libc resolver', () => {
  const conf = { search: ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 };
  it.each([
    { name: 'web', ndots: 5, expected: ['web.ns.svc.cluster.local', 'web.svc.cluster.local', 'web.cluster.local', 'web'] },
    { name: 'a.b.c.d.e.f', ndots: 5, expected: ['a.b.c.d.e.f', 'a.b.c.d.e.f.ns.svc.cluster.local', 'a.b.c.d.e.f.svc.cluster.local', 'a.b.c.d.e.f.cluster.local'] },
    { name: 'example.com', ndots: 1, expected: ['example.com', 'example.com.ns.svc.cluster.local', 'example.com.svc.cluster.local', 'example.com.cluster.local'] },
    { name: 'web.ns.svc.cluster.local.', ndots: 5, expected: ['web.ns.svc.cluster.local'] },
  ])('$name with ndots:$ndots', ({ name, ndots, expected }) => {
    expect(nameCandidates(name, { ...conf, ndots })).toEqual(expected);
  });
});

describe('parseResolvConf reads resolv.conf(5)', () => {
  it('nameservers, the last search/domain line, options with ndots capped at 15, comments ignored', () => {
    const text = ['# generated', 'nameserver 10.96.0.10 ; kube-dns', 'domain example.org', 'search ns.svc.cluster.local svc.cluster.local', 'options ndots:20 timeout:2', 'nameserver 10.96.0.11'].join('\n');
    expect(parseResolvConf(text)).toEqual({
      nameservers: ['10.96.0.10', '10.96.0.11'],
      search: ['ns.svc.cluster.local', 'svc.cluster.local'],
      ndots: 15,
      options: ['ndots:20', 'timeout:2'],
      found: true,
    });
  });

  it('no file: libc defaults (127.0.0.1, ndots 1) and found false', () => {
    expect(parseResolvConf('')).toEqual({ nameservers: ['127.0.0.1'], search: [], ndots: 1, options: [], found: false });
  });
});

describe('malformed plans exit 2 with an error line', () => {
  it.each([
    { why: 'not JSON', plan: 'nope' },
    { why: 'an array', plan: '[]' },
    { why: 'checks not an array', plan: '{"checks":{},"retries":0}' },
    { why: 'a check without id', plan: '{"checks":[{"kind":"tcp","target":"127.0.0.1","port":1,"timeoutMs":100}],"retries":0}' },
    { why: 'duplicate ids', plan: '{"checks":[{"id":"a","kind":"dns","target":"x","timeoutMs":1},{"id":"a","kind":"dns","target":"x","timeoutMs":1}]}' },
    { why: 'negative retries', plan: '{"checks":[],"retries":-1}' },
  ])('$why', ({ plan }) => {
    const child = spawnSync(process.execPath, [agentPath, 'run', plan], { encoding: 'utf8' });
    expect(child.status).toBe(2);
    expect(child.stderr).toMatch(/^netcheck agent: /);
    const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { error?: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.error).toEqual(expect.any(String));
  });

  it('rejects an unknown mode', () => {
    const child = spawnSync(process.execPath, [agentPath, 'probe', '{}'], { encoding: 'utf8' });
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('usage');
  });

  it('turns one bad check into an error outcome and still runs the others (loopback only)', () => {
    const plan = {
      checks: [
        { id: 'bad-kind', kind: 'icmp', target: '127.0.0.1', timeoutMs: 100 },
        { id: 'no-port', kind: 'tcp', target: '127.0.0.1', timeoutMs: 100 },
        { id: 'ok', kind: 'dns', target: '127.0.0.1', timeoutMs: 100 },
      ],
      retries: 0,
    };
    const child = spawnSync(process.execPath, [agentPath, 'run', JSON.stringify(plan)], { encoding: 'utf8' });
    const lines = readLines(child.stdout, child.status);
    expect(lines.code).toBe(0);
    expect(result(lines, 'bad-kind').outcome).toMatchObject({ kind: 'error', message: expect.stringContaining('kind') });
    expect(result(lines, 'no-port').outcome).toMatchObject({ kind: 'error', message: expect.stringContaining('port') });
    expect(result(lines, 'ok').outcome).toEqual({ kind: 'resolved', addresses: ['127.0.0.1'] });
    expect(lines.done).toMatchObject({ done: true, checks: 3 });
  });
});

describe.skipIf(!canBuildNetns)('agent against real listeners, closed, dropped ports and dnsmasq (netns)', () => {
  let net: AgentNetns;
  beforeAll(async () => {
    net = await createAgentNetns();
  });
  afterAll(async () => {
    await net?.teardown();
  });

  async function runPlan(checks: AgentCheck[], retries = 0, viaEval = false): Promise<AgentLines> {
    const plan = JSON.stringify({ checks, retries });
    const args = viaEval ? ['-e', readFileSync(agentPath, 'utf8'), 'run', plan] : [agentPath, 'run', plan];
    const { code, stdout } = await net.runNode(args);
    return readLines(stdout, code);
  }

  describe('every outcome the fixture can produce', () => {
    let lines: AgentLines;
    const cases: Array<{ check: Omit<AgentCheck, 'timeoutMs'>; outcome: (serverIp: string) => Outcome; viaName?: boolean }> = [
      { check: { id: 'tcp-listener', kind: 'tcp', target: 'SERVER', port: PORTS.listener }, outcome: () => ({ kind: 'connected' }) },
      { check: { id: 'tcp-closed', kind: 'tcp', target: 'SERVER', port: PORTS.closed }, outcome: () => ({ kind: 'refused' }) },
      { check: { id: 'tcp-dropped', kind: 'tcp', target: 'SERVER', port: PORTS.dropped }, outcome: () => ({ kind: 'timeout' }) },
      { check: { id: 'tcp-rejected', kind: 'tcp', target: 'SERVER', port: PORTS.rejected }, outcome: () => ({ kind: 'unreachable', code: 'EHOSTUNREACH' }) },
      { check: { id: 'tcp-no-route', kind: 'tcp', target: '10.251.0.1', port: 80 }, outcome: () => ({ kind: 'unreachable', code: 'ENETUNREACH' }) },
      { check: { id: 'tcp-by-name', kind: 'tcp', target: 'web', port: PORTS.listener }, outcome: () => ({ kind: 'connected' }), viaName: true },
      { check: { id: 'tcp-name-nxdomain', kind: 'tcp', target: 'ghost.cluster.local.', port: PORTS.listener }, outcome: () => ({ kind: 'dns-nxdomain' }) },
      { check: { id: 'http-listener', kind: 'http', target: 'web', port: PORTS.listener }, outcome: () => ({ kind: 'http', status: 200 }), viaName: true },
      { check: { id: 'http-404', kind: 'http', target: 'web.ns', port: PORTS.http, http: { path: '/missing' } }, outcome: () => ({ kind: 'http', status: 404 }), viaName: true },
      { check: { id: 'http-closed', kind: 'http', target: 'SERVER', port: PORTS.closed }, outcome: () => ({ kind: 'refused' }) },
      // dnsmasq's TCP port accepts the connection but never answers a GET: the path is open.
      { check: { id: 'http-silent-server', kind: 'http', target: 'SERVER', port: 53 }, outcome: () => ({ kind: 'connected' }) },
      { check: { id: 'http-dropped', kind: 'http', target: 'SERVER', port: PORTS.dropped }, outcome: () => ({ kind: 'timeout' }) },
      { check: { id: 'dns-search-list', kind: 'dns', target: 'api.other' }, outcome: (ip) => ({ kind: 'resolved', addresses: [ip] }), viaName: true },
      { check: { id: 'dns-fqdn', kind: 'dns', target: 'web.ns.svc.cluster.local.' }, outcome: (ip) => ({ kind: 'resolved', addresses: [ip] }), viaName: true },
      { check: { id: 'dns-tcp', kind: 'dns', target: 'web', protocol: 'TCP' }, outcome: (ip) => ({ kind: 'resolved', addresses: [ip] }), viaName: true },
      { check: { id: 'dns-nxdomain', kind: 'dns', target: 'ghost.cluster.local.' }, outcome: () => ({ kind: 'dns-nxdomain' }) },
      { check: { id: 'dns-nxdomain-search', kind: 'dns', target: 'ghost.ns.svc.cluster.local' }, outcome: () => ({ kind: 'dns-nxdomain' }) },
      { check: { id: 'dns-tcp-nxdomain', kind: 'dns', target: 'ghost.cluster.local.', protocol: 'TCP' }, outcome: () => ({ kind: 'dns-nxdomain' }) },
      { check: { id: 'dns-servfail', kind: 'dns', target: 'x.broken.cluster.local.' }, outcome: () => ({ kind: 'dns-servfail' }) },
      // dnsmasq has no upstream: after the search list's NXDOMAINs the bare name is REFUSED.
      { check: { id: 'dns-refused', kind: 'dns', target: 'ghost' }, outcome: () => ({ kind: 'dns-refused' }) },
      { check: { id: 'udp-echo', kind: 'udp', target: 'SERVER', port: PORTS.udpEcho }, outcome: () => ({ kind: 'connected' }) },
      { check: { id: 'udp-closed', kind: 'udp', target: 'SERVER', port: PORTS.closed }, outcome: () => ({ kind: 'refused' }) },
      { check: { id: 'udp-dns-server', kind: 'udp', target: 'SERVER', port: 53 }, outcome: () => ({ kind: 'connected' }) },
    ];

    beforeAll(async () => {
      const checks = cases.map(({ check }) => ({
        ...check,
        target: check.target === 'SERVER' ? net.serverIp : check.target,
        timeoutMs: 1000,
      }));
      lines = await runPlan(checks);
    });

    it('exits 0 and ends with a done line counting every check', () => {
      expect(lines.code).toBe(0);
      expect(lines.done).toMatchObject({ done: true, checks: cases.length });
      expect(lines.results.size).toBe(cases.length);
    });

    it.each(cases)('$check.id', ({ check, outcome, viaName }) => {
      const found = result(lines, check.id);
      expect(found.outcome).toEqual(outcome(net.serverIp));
      expect(found.attempts).toHaveLength(1);
      expect(found.attempts[0]?.outcome).toEqual(found.outcome);
      expect(found.attempts[0]?.address).toBe(viaName ? net.serverIp : undefined);
    });
  });

  // A rejected lookup (ICMP port unreachable over UDP, RST over TCP, as kube-router answers a denied flow) is the
  // check's own `refused` when the lookup is the check, and `dns-rejected` when it only resolves a name to connect to
  // (not `dns-refused`: no DNS server answered, so no run may count it as a lookup that got through).
  it.each([
    { filter: 'drop', lookup: 'dns-timeout', byName: 'dns-timeout' },
    { filter: 'reject', lookup: 'refused', byName: 'dns-rejected' },
  ] as const)('DNS server filtered with $filter: $lookup for a dns check over UDP and TCP, $byName for checks by name', async ({ filter, lookup, byName }) => {
    await net.filterDns(filter);
    try {
      const lines = await runPlan([
        { id: 'udp', kind: 'dns', target: 'web', timeoutMs: 500 },
        { id: 'tcp', kind: 'dns', target: 'web', protocol: 'TCP', timeoutMs: 500 },
        { id: 'connect-by-name', kind: 'tcp', target: 'web', port: PORTS.listener, timeoutMs: 500 },
        { id: 'http-by-name', kind: 'http', target: 'web.ns', port: PORTS.http, timeoutMs: 500 },
        { id: 'udp-by-name', kind: 'udp', target: 'web', port: PORTS.udpEcho, timeoutMs: 500 },
      ]);
      expect([...lines.results.values()].map((r) => [r.id, r.outcome.kind]).sort()).toEqual([
        ['connect-by-name', byName],
        ['http-by-name', byName],
        ['tcp', lookup],
        ['udp', lookup],
        ['udp-by-name', byName],
      ]);
    } finally {
      await net.filterDns('none');
    }
  });

  it('runs checks concurrently: ten dropped ports cost about one timeout', async () => {
    const timeoutMs = 500;
    const checks: AgentCheck[] = Array.from({ length: 10 }, (_, i) => ({
      id: `drop-${i}`, kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs,
    }));
    const lines = await runPlan(checks);
    expect(lines.results.size).toBe(10);
    for (const r of lines.results.values()) {
      expect(r.outcome).toEqual({ kind: 'timeout' });
      expect(r.attempts[0]?.ms).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(r.attempts[0]?.ms).toBeLessThanOrEqual(timeoutMs + 300);
    }
    // Sequential checks would report at least 10 x 500 ms.
    expect(lines.done?.ms).toBeLessThan(2 * timeoutMs);
  });

  it('retries a check whose outcome disagrees with its expectation and reports every attempt', async () => {
    const lines = await runPlan(
      [
        { id: 'allow-but-dropped', kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs: 300, expect: 'allow' },
        { id: 'deny-but-open', kind: 'tcp', target: net.serverIp, port: PORTS.listener, timeoutMs: 300, expect: 'deny' },
        { id: 'allow-and-refused', kind: 'tcp', target: net.serverIp, port: PORTS.closed, timeoutMs: 300, expect: 'allow' },
        { id: 'deny-and-refused', kind: 'tcp', target: net.serverIp, port: PORTS.closed, timeoutMs: 300, expect: 'deny' },
        { id: 'deny-and-dropped', kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs: 300, expect: 'deny' },
        { id: 'no-expectation', kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs: 300 },
      ],
      2,
    );
    const attempts = (id: string): string[] => result(lines, id).attempts.map((a) => a.outcome.kind);
    expect(attempts('allow-but-dropped')).toEqual(['timeout', 'timeout', 'timeout']);
    expect(attempts('deny-but-open')).toEqual(['connected', 'connected', 'connected']);
    // A refusal agrees with deny (a rejecting CNI enforced it), not with allow (a listener may still be starting).
    expect(attempts('allow-and-refused')).toEqual(['refused', 'refused', 'refused']);
    expect(attempts('deny-and-refused')).toEqual(['refused']);
    expect(attempts('deny-and-dropped')).toEqual(['timeout']);
    expect(attempts('no-expectation')).toEqual(['timeout']);
    expect(result(lines, 'deny-but-open').outcome).toEqual({ kind: 'connected' });
  });

  it('runs the same way from its source under node -e (as in a probe pod)', async () => {
    const lines = await runPlan(
      [
        { id: 'open', kind: 'http', target: 'web', port: PORTS.listener, timeoutMs: 1000 },
        { id: 'closed', kind: 'tcp', target: net.serverIp, port: PORTS.closed, timeoutMs: 1000 },
      ],
      0,
      true,
    );
    expect(lines.code).toBe(0);
    expect(result(lines, 'open').outcome).toEqual({ kind: 'http', status: 200 });
    expect(result(lines, 'closed').outcome).toEqual({ kind: 'refused' });
    expect(lines.done).toMatchObject({ done: true, checks: 2 });
  });

  it('listen mode prints its readiness line once bound, serves, and exits 0 on SIGTERM', async () => {
    const listen = [{ port: 8090, protocol: 'TCP' }, { port: 8091, protocol: 'UDP' }];
    const { child, firstLine } = await net.startServerNode([agentPath, 'listen', JSON.stringify({ listen })], 'listening');
    expect(JSON.parse(firstLine)).toEqual({ listening: listen });
    const lines = await runPlan([
      { id: 'http', kind: 'http', target: net.serverIp, port: 8090, timeoutMs: 1000 },
      { id: 'udp', kind: 'udp', target: net.serverIp, port: 8091, timeoutMs: 1000 },
    ]);
    expect(result(lines, 'http').outcome).toEqual({ kind: 'http', status: 200 });
    expect(result(lines, 'udp').outcome).toEqual({ kind: 'connected' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('listen mode exits 1 with an error line when a port is taken', async () => {
    const { code, stdout } = await net.runNode([
      '-e',
      `require('net').createServer().listen(8095, () => {` +
        `const c = require('child_process').spawnSync(process.execPath, [${JSON.stringify(agentPath)}, 'listen', '{"listen":[{"port":8095,"protocol":"TCP"}]}'], { encoding: 'utf8' });` +
        `process.stdout.write(JSON.stringify({ status: c.status, out: c.stdout })); process.exit(0); })`,
    ]);
    expect(code).toBe(0);
    const inner = JSON.parse(stdout) as { status: number; out: string };
    expect(inner.status).toBe(1);
    expect(JSON.parse(inner.out)).toEqual({ error: expect.stringContaining('EADDRINUSE') });
  });
});
