/**
 * The agent's ClusterIP fallback (issue 9): a check whose name does not resolve runs once more against the
 * `fallback` address, and reports that attempt beside the DNS outcome; a check that resolved never does. Real
 * sockets and dnsmasq in network namespaces (test/probe/agent-netns.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentCheck, AgentCheckResult } from '../../src/model/outcome.js';
import { runAgentLocally } from '../../src/probe/agent.js';
import { PORTS, canBuildNetns, createAgentNetns, type AgentNetns } from './agent-netns.js';

describe.skipIf(!canBuildNetns)('agent: fallback after a name that did not resolve (netns)', () => {
  let net: AgentNetns;
  beforeAll(async () => {
    net = await createAgentNetns();
  });
  afterAll(async () => {
    await net?.teardown();
  });

  // Through runAgentLocally, so the parser that reads a probe pod's log keeps the fallback too.
  const runChecks = (checks: AgentCheck[]): Promise<AgentCheckResult[]> =>
    runAgentLocally({ checks, retries: 0 }, { signal: AbortSignal.timeout(20_000), netns: net.clientNs });

  it('nxdomain, then the fallback: open, blocked, or not tried when the name resolved', async () => {
    const results = await runChecks([
      { id: 'open', kind: 'tcp', target: 'ghost.cluster.local.', port: PORTS.listener, timeoutMs: 1000, fallback: net.serverIp },
      { id: 'dropped', kind: 'tcp', target: 'ghost.cluster.local.', port: PORTS.dropped, timeoutMs: 500, fallback: net.serverIp },
      { id: 'http', kind: 'http', target: 'ghost.cluster.local.', port: PORTS.listener, timeoutMs: 1000, fallback: net.serverIp },
      { id: 'resolved', kind: 'tcp', target: 'web', port: PORTS.listener, timeoutMs: 1000, fallback: '10.251.0.1' },
      { id: 'no-fallback', kind: 'tcp', target: 'ghost.cluster.local.', port: PORTS.listener, timeoutMs: 1000 },
    ]);
    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get('open')).toMatchObject({ outcome: { kind: 'dns-nxdomain' }, fallback: { target: net.serverIp, outcome: { kind: 'connected' } } });
    expect(byId.get('dropped')).toMatchObject({ outcome: { kind: 'dns-nxdomain' }, fallback: { target: net.serverIp, outcome: { kind: 'timeout' } } });
    expect(byId.get('http')).toMatchObject({ outcome: { kind: 'dns-nxdomain' }, fallback: { outcome: { kind: 'http', status: 200 } } });
    expect(byId.get('resolved')?.outcome).toEqual({ kind: 'connected' });
    expect(byId.get('resolved')).not.toHaveProperty('fallback');
    expect(byId.get('no-fallback')).not.toHaveProperty('fallback');
  });

  it('a fallback that is not an IP is a bad check', async () => {
    const [result] = await runChecks([{ id: 'bad', kind: 'tcp', target: 'web', port: PORTS.listener, timeoutMs: 500, fallback: 'svc.example' }]);
    expect(result?.outcome).toEqual({ kind: 'error', message: 'bad check: fallback must be an IP address' });
  });
});
