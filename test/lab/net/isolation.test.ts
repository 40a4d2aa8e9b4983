/**
 * Hygiene of the data plane: the root network namespace is never modified, teardown leaves nothing behind,
 * and a lab whose owner died is swept (while a live lab next to it is left alone).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createDataPlane, listLabNetns, sweepStaleLabs, type LabDataPlane } from './data-plane.js';
import { dataPlaneSkipReason, probeIn, responderSpec, service, sleeperSpec, uniqueSuffix } from './net-fixture.js';
import { runCommand } from '../../cluster-kit/run-command.js';

const skip = dataPlaneSkipReason();
if (skip !== undefined) console.log(`skipping lab data plane isolation tests: ${skip}`);

/** Root namespace state, with what changes by itself (address lifetimes, counters, timestamps) removed. */
async function snapshotRoot(): Promise<Record<string, string>> {
  const read = async (argv: string[]): Promise<string> => (await runCommand(argv)).stdout;
  return {
    addr: (await read(['ip', '-o', 'addr'])).replace(/(valid_lft|preferred_lft) \S+/g, '$1 _'),
    link: (await read(['ip', '-o', 'link'])).replace(/\\\s+link\/.*$/gm, ''),
    route: await read(['ip', 'route', 'show', 'table', 'all']).then((s) => s.replace(/expires \S+/g, 'expires _')),
    rule: await read(['ip', 'rule']),
    iptables: (await read(['iptables-save'])).split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, ''),
    forwarding: await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'),
  };
}

async function pidsIn(netns: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const ns of netns) pids.push(...(await runCommand(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number));
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Leftovers of one lab: namespaces, /etc/netns entries, state files. */
async function leftovers(suffix: string): Promise<string[]> {
  const prefix = `ncl-${suffix}-`;
  const netns = (await listLabNetns()).filter((n) => n.startsWith(prefix));
  const etc = existsSync('/etc/netns') ? (await readdir('/etc/netns')).filter((n) => n.startsWith(prefix)).map((n) => `/etc/netns/${n}`) : [];
  const state = (await readdir('/tmp')).filter((n) => n === `netcheck-lab-net-${suffix}` || n === `netcheck-lab-net-${suffix}.json`);
  return [...netns, ...etc, ...state];
}

/** A busy lab: DNS, a responder, a sleeper, services, a policy and a LoadBalancer route on the outside host. */
async function populate(dp: LabDataPlane): Promise<void> {
  const dns = await dp.runPod({ uid: 'dns', namespace: 'kube-system', name: 'coredns', node: 'n1', argv: [], env: {}, role: 'dns' }, () => undefined);
  const web = await dp.runPod(responderSpec('shop', 'web', 'n2', [{ port: 8080, protocol: 'TCP' }]), () => undefined);
  await dp.runPod(sleeperSpec('shop', 'idle', 'n1'), () => undefined);
  await dp.sync({
    snapshot: {
      namespaces: [],
      nodes: [],
      services: [],
      pods: [{ namespace: 'shop', name: 'web', labels: { app: 'web' }, ip: web.ip, node: 'n2', ports: [] }],
      policies: [{ namespace: 'shop', name: 'deny', podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] }],
    },
    services: [
      service('kube-system', 'kube-dns', { clusterIP: dp.dnsServiceIP, ports: [{ port: 53, protocol: 'UDP', endpoints: [{ ip: dns.ip, port: 53 }] }] }),
      service('shop', 'web', { clusterIP: '10.96.7.7', lb: ['192.168.1.209'], ports: [{ port: 80, endpoints: [{ ip: web.ip, port: 8080 }] }] }),
    ],
    faults: {},
  });
  const out = await probeIn(dp.outsideHost, [{ id: 'lb', kind: 'http', target: '192.168.1.209', port: 80, http: { path: '/' } }]);
  expect(out.lb).toEqual({ kind: 'http', status: 200 });
}

describe.skipIf(skip !== undefined)('lab data plane hygiene', () => {
  it('leaves the root namespace untouched and removes every namespace, process, /etc/netns entry and temp file on stop', async () => {
    const before = await snapshotRoot();
    const suffix = uniqueSuffix();
    const dp = createDataPlane({ suffix, nodes: ['n1', 'n2'] });
    let pids: number[] = [];
    try {
      await dp.start();
      await populate(dp);
      const mine = (await listLabNetns()).filter((n) => n.startsWith(`ncl-${suffix}-`));
      expect(mine.length).toBe(5); // fabric, outside host, three pods
      pids = await pidsIn(mine);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      expect(await snapshotRoot()).toEqual(before);
    } finally {
      await dp.stop();
    }
    await dp.stop(); // idempotent
    expect(await leftovers(suffix)).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await snapshotRoot()).toEqual(before);
  });

  it('sweeps a lab whose owner died, and leaves a live lab alone', async () => {
    const staleSuffix = uniqueSuffix();
    const liveSuffix = uniqueSuffix();
    const stale = createDataPlane({ suffix: staleSuffix, nodes: ['n1', 'n2'] });
    const live = createDataPlane({ suffix: liveSuffix, nodes: ['n1'] });
    try {
      await stale.start();
      await populate(stale);
      await live.start();
      const pids = await pidsIn((await listLabNetns()).filter((n) => n.startsWith(`ncl-${staleSuffix}-`)));
      // Simulate a crashed run: the marker's owner is a process that has exited.
      const deadPid = await new Promise<number>((resolve) => {
        const child = spawn('true');
        child.on('exit', () => resolve(child.pid!));
      });
      await writeFile(`/tmp/netcheck-lab-net-${staleSuffix}.json`, JSON.stringify({ pid: deadPid, suffix: staleSuffix, createdAt: new Date().toISOString() }));

      await sweepStaleLabs();

      expect(await leftovers(staleSuffix)).toEqual([]);
      expect(pids.filter(isAlive)).toEqual([]);
      expect((await leftovers(liveSuffix)).sort()).toEqual([`ncl-${liveSuffix}-fab`, `ncl-${liveSuffix}-out`, `/etc/netns/ncl-${liveSuffix}-out`, `netcheck-lab-net-${liveSuffix}`, `netcheck-lab-net-${liveSuffix}.json`].sort());
    } finally {
      await stale.stop();
      await live.stop();
    }
    expect(await leftovers(liveSuffix)).toEqual([]);
  });
});
