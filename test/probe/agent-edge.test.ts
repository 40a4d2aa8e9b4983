import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InternalError } from '../../src/model/errors.js';
import type { AgentPlan } from '../../src/model/outcome.js';
import {
  agentListenArgs,
  agentRunArgs,
  agentSource,
  locateAgent,
  parseAgentOutput,
  runAgentLocally,
} from '../../src/probe/agent.js';
import { PORTS, canBuildNetns, createAgentNetns, type AgentNetns } from './agent-netns.js';

const run = promisify(execFile);

describe('agentSource and container args', () => {
  it('reads the bundled agent, dist/probes/agent.cjs, once', () => {
    expect(locateAgent()).toMatch(/\/dist\/probes\/agent\.cjs$/);
    expect(agentSource()).toBe(readFileSync(locateAgent(), 'utf8'));
    expect(agentSource()).toBe(agentSource());
  });

  it('the source in the args runs a plan under node -e like the file does', async () => {
    const plan = JSON.stringify({
      checks: [
        { id: 'resolv', kind: 'resolv', target: 'resolv.conf', timeoutMs: 500 },
        { id: 'closed', kind: 'tcp', target: '127.0.0.1', port: 1, timeoutMs: 500 },
      ],
      retries: 0,
    });
    const fromArgs = await run(process.execPath, ['-e', agentSource(), 'run', plan]);
    const fromFile = await run(process.execPath, [locateAgent(), 'run', plan]);
    const sorted = (out: string) => out.replace(/"ms":\d+/g, '"ms":0').split('\n').sort();
    expect(sorted(fromArgs.stdout)).toEqual(sorted(fromFile.stdout));
    const output = parseAgentOutput(fromArgs.stdout);
    expect(output).toMatchObject({ done: true, problems: [] });
    expect(output.results.map((r) => [r.id, r.outcome.kind]).sort()).toEqual([['closed', 'refused'], ['resolv', expect.any(String)]]);
    expect(output.results.find((r) => r.id === 'resolv')?.resolv?.nameservers.length).toBeGreaterThan(0);
  });

  it('fits in container args (one argv string is capped at 128 KiB; we keep it under 20 KB)', () => {
    expect(Buffer.byteLength(agentSource())).toBeLessThan(20_000);
  });

  it.each([
    { mode: 'run', args: agentRunArgs({ checks: [], retries: 1 }), json: '{"checks":[],"retries":1}' },
    { mode: 'listen', args: agentListenArgs({ listen: [{ port: 80, protocol: 'TCP' }] }), json: '{"listen":[{"port":80,"protocol":"TCP"}]}' },
  ])('$mode args are -e <source> $mode <json>', ({ mode, args, json }) => {
    expect(args).toEqual(['-e', agentSource(), mode, json]);
  });
});

describe('parseAgentOutput', () => {
  const ok = '{"id":"a","outcome":{"kind":"refused"},"attempts":[{"outcome":{"kind":"refused"},"ms":3}]}';
  const resolved =
    '{"id":"b","outcome":{"kind":"resolved","addresses":["10.0.0.1"]},"attempts":[{"outcome":{"kind":"resolved","addresses":["10.0.0.1"]},"ms":1,"address":"10.0.0.1"}]}';
  it.each([
    { why: 'results then done', stdout: `${ok}\n${resolved}\n{"done":true,"checks":2,"ms":4}\n`, ids: ['a', 'b'], done: true, problems: 0 },
    { why: 'no done line (truncated log)', stdout: `${ok}\n{"id":"b","outc`, ids: ['a'], done: false, problems: 1 },
    { why: 'junk and blank lines', stdout: `Warning: something\n\n${ok}\n{"done":true,"checks":1,"ms":1}`, ids: ['a'], done: true, problems: 1 },
    { why: 'agent error line', stdout: '{"error":"plan.checks must be an array"}\n', ids: [], done: false, problems: 1 },
    { why: 'unknown outcome kind', stdout: '{"id":"a","outcome":{"kind":"blocked"},"attempts":[{"outcome":{"kind":"blocked"},"ms":1}]}', ids: [], done: false, problems: 1 },
    { why: 'http without status', stdout: '{"id":"a","outcome":{"kind":"http"},"attempts":[{"outcome":{"kind":"http"},"ms":1}]}', ids: [], done: false, problems: 1 },
    { why: 'no attempts', stdout: '{"id":"a","outcome":{"kind":"timeout"},"attempts":[]}', ids: [], done: false, problems: 1 },
    { why: 'a JSON array', stdout: '[1,2]', ids: [], done: false, problems: 1 },
    { why: 'empty', stdout: '', ids: [], done: false, problems: 0 },
  ])('$why', ({ stdout, ids, done, problems }) => {
    const output = parseAgentOutput(stdout);
    expect(output.results.map((r) => r.id)).toEqual(ids);
    expect(output.done).toBe(done);
    expect(output.problems).toHaveLength(problems);
  });

  it('names the line of each problem', () => {
    expect(parseAgentOutput(`${ok}\nnot json`).problems).toEqual(['line 2: not JSON: not json']);
  });

  it('keeps attempts and addresses as the agent sent them', () => {
    expect(parseAgentOutput(resolved).results[0]).toEqual({
      id: 'b',
      outcome: { kind: 'resolved', addresses: ['10.0.0.1'] },
      attempts: [{ outcome: { kind: 'resolved', addresses: ['10.0.0.1'] }, ms: 1, address: '10.0.0.1' }],
    });
  });
});

describe('runAgentLocally on loopback', () => {
  it('returns results in plan order', async () => {
    const plan: AgentPlan = {
      checks: [
        { id: 'literal', kind: 'dns', target: '127.0.0.1', timeoutMs: 500 },
        { id: 'closed', kind: 'tcp', target: '127.0.0.1', port: 1, timeoutMs: 500 },
      ],
      retries: 0,
    };
    const results = await runAgentLocally(plan, { signal: AbortSignal.timeout(10_000) });
    expect(results.map((r) => [r.id, r.outcome])).toEqual([
      ['literal', { kind: 'resolved', addresses: ['127.0.0.1'] }],
      ['closed', { kind: 'refused' }],
    ]);
  });

  it('turns a plan the agent rejects into an InternalError', async () => {
    const plan = { checks: [{ id: 'x' }, { id: 'x' }], retries: 0 } as unknown as AgentPlan;
    await expect(runAgentLocally(plan, { signal: AbortSignal.timeout(10_000) })).rejects.toBeInstanceOf(InternalError);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(runAgentLocally({ checks: [], retries: 0 }, { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe.skipIf(!canBuildNetns)('runAgentLocally and the -e args in a network namespace', () => {
  let net: AgentNetns;
  beforeAll(async () => {
    net = await createAgentNetns();
  });
  afterAll(async () => {
    await net?.teardown();
  });

  it('runs the plan inside the namespace (search list from its resolv.conf)', async () => {
    const plan: AgentPlan = {
      checks: [
        { id: 'http', kind: 'http', target: 'web', port: PORTS.listener, timeoutMs: 1000 },
        { id: 'dropped', kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs: 300, expect: 'allow' },
      ],
      retries: 1,
    };
    const results = await runAgentLocally(plan, { signal: AbortSignal.timeout(10_000), netns: net.clientNs });
    expect(results.map((r) => r.id)).toEqual(['http', 'dropped']);
    expect(results[0]?.outcome).toEqual({ kind: 'http', status: 200 });
    expect(results[0]?.attempts[0]?.address).toBe(net.serverIp);
    expect(results[1]?.attempts.map((a) => a.outcome.kind)).toEqual(['timeout', 'timeout']);
  });

  it('kills the agent when aborted', async () => {
    const controller = new AbortController();
    const plan: AgentPlan = {
      checks: [{ id: 'slow', kind: 'tcp', target: net.serverIp, port: PORTS.dropped, timeoutMs: 30_000 }],
      retries: 0,
    };
    const pending = runAgentLocally(plan, { signal: controller.signal, netns: net.clientNs });
    await waitFor(async () => (await pidsIn(net.clientNs)).length > 0);
    controller.abort(new Error('budget exceeded'));
    await expect(pending).rejects.toThrow('budget exceeded');
    await waitFor(async () => (await pidsIn(net.clientNs)).length === 0);
    expect(await pidsIn(net.clientNs)).toEqual([]);
  });

  it('agentRunArgs run as a pod would: node <args>', async () => {
    const plan: AgentPlan = {
      checks: [{ id: 'dns', kind: 'dns', target: 'api.other', timeoutMs: 1000 }],
      retries: 0,
    };
    const { code, stdout } = await net.runNode(agentRunArgs(plan));
    expect(code).toBe(0);
    const output = parseAgentOutput(stdout);
    expect(output).toMatchObject({ done: true, problems: [] });
    expect(output.results[0]?.outcome).toEqual({ kind: 'resolved', addresses: [net.serverIp] });
  });
});

async function pidsIn(netns: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'pids', netns]);
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met within 5 s');
}
