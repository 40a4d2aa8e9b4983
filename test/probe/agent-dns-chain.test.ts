/**
 * The agent's checks for the DNS chain, against a real dnsmasq in a network namespace (agent-netns.ts): `resolv`
 * reports the pod's resolv.conf as parsed; a `dns` check with `server` asks that server instead of resolv.conf's
 * (search and ndots still apply), over UDP and TCP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AgentCheck, AgentCheckResult } from '../../src/model/outcome.js';
import { locateAgent, parseAgentOutput } from '../../src/probe/agent.js';
import { canBuildNetns, createAgentNetns, type AgentNetns } from './agent-netns.js';

describe.skipIf(!canBuildNetns)('agent: the DNS chain checks (netns, dnsmasq)', () => {
  let net: AgentNetns;
  beforeAll(async () => {
    net = await createAgentNetns();
  });
  afterAll(async () => {
    await net?.teardown();
  });

  async function run(checks: AgentCheck[]): Promise<Map<string, AgentCheckResult>> {
    const { code, stdout } = await net.runNode([locateAgent(), 'run', JSON.stringify({ checks, retries: 0 })]);
    expect(code).toBe(0);
    // Through the same parser the run uses: the resolv.conf must survive it.
    const output = parseAgentOutput(stdout);
    expect(output.problems).toEqual([]);
    expect(output.done).toBe(true);
    return new Map(output.results.map((r) => [r.id, r]));
  }

  it('resolv reports the nameservers, search list, ndots and options of the pod', async () => {
    const results = await run([{ id: 'resolv', kind: 'resolv', target: '/etc/resolv.conf', timeoutMs: 1000 }]);
    const r = results.get('resolv')!;
    expect(r.outcome).toEqual({ kind: 'resolved', addresses: [net.serverIp] });
    expect(r.resolv).toEqual({ nameservers: [net.serverIp], search: ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5, options: ['ndots:5'] });
  });

  it('a dns check with server asks that server, over UDP and TCP, with the search list still applied', async () => {
    // 10.251.0.1 has no route in the client namespace: asking it cannot answer, although resolv.conf's server would.
    const results = await run([
      { id: 'udp-server', kind: 'dns', target: 'web', protocol: 'UDP', server: net.serverIp, timeoutMs: 1000 },
      { id: 'tcp-server', kind: 'dns', target: 'web', protocol: 'TCP', server: net.serverIp, timeoutMs: 1000 },
      { id: 'udp-elsewhere', kind: 'dns', target: 'web', protocol: 'UDP', server: '10.251.0.1', timeoutMs: 700 },
      { id: 'tcp-elsewhere', kind: 'dns', target: 'web', protocol: 'TCP', server: '10.251.0.1', timeoutMs: 700 },
      { id: 'own', kind: 'dns', target: 'web', protocol: 'UDP', timeoutMs: 1000 },
    ]);
    expect(results.get('udp-server')!.outcome).toEqual({ kind: 'resolved', addresses: [net.serverIp] });
    expect(results.get('tcp-server')!.outcome).toEqual({ kind: 'resolved', addresses: [net.serverIp] });
    expect(results.get('own')!.outcome).toEqual({ kind: 'resolved', addresses: [net.serverIp] });
    expect(results.get('udp-elsewhere')!.outcome.kind).not.toBe('resolved');
    expect(['dns-timeout', 'refused', 'error']).toContain(results.get('tcp-elsewhere')!.outcome.kind);
  });

  it('a server given on a non-dns check, or not an IP, is a bad check', async () => {
    const results = await run([
      { id: 'tcp-with-server', kind: 'tcp', target: net.serverIp, port: 53, server: net.serverIp, timeoutMs: 500 },
      { id: 'named-server', kind: 'dns', target: 'web', server: 'dns.example', timeoutMs: 500 },
    ]);
    expect(results.get('tcp-with-server')!.outcome).toEqual({ kind: 'error', message: 'bad check: server: an IP, dns checks only' });
    expect(results.get('named-server')!.outcome).toEqual({ kind: 'error', message: 'bad check: server: an IP, dns checks only' });
  });
});
