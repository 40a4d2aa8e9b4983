/**
 * A two-namespace fixture for the agent's tests: a client netns (where the agent runs, with a pod-like
 * resolv.conf) and a server netns (dnsmasq, the agent's listener, a tiny HTTP server, a closed port, a
 * DROPped port and a REJECTed port), joined by a veth. Every address and rule lives inside these
 * namespaces; the root network namespace is never touched.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { locateAgent } from '../../src/probe/agent.js';

const run = promisify(execFile);

/** Root with iproute2: the only setting where these tests can build namespaces. */
export const canBuildNetns: boolean =
  process.getuid?.() === 0 && ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].some((p) => existsSync(p));

export const PORTS = {
  /** The agent's own listen mode (TCP/HTTP 200). */
  listener: 8080,
  /** The agent's own listen mode (UDP echo). */
  udpEcho: 9999,
  /** A tiny HTTP server: 404 on /missing, 200 elsewhere. */
  http: 8081,
  closed: 8082,
  dropped: 8083,
  /** iptables REJECT --reject-with icmp-host-prohibited: EHOSTUNREACH at the client. */
  rejected: 8084,
} as const;

const SERVFAIL_PORT = 5300;

export type DnsFilter = 'drop' | 'reject' | 'none';

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AgentNetns {
  clientNs: string;
  serverNs: string;
  serverIp: string;
  clientIp: string;
  /** Run `node <args>` in the client namespace (so the agent sees the fixture's resolv.conf). */
  runNode(args: string[]): Promise<AgentRun>;
  /** Start a long-running `node <args>` in the server namespace; resolves once stdout contains `ready`. */
  startServerNode(args: string[], ready: string): Promise<{ child: ChildProcess; firstLine: string }>;
  /**
   * Filter DNS traffic to dnsmasq (UDP and TCP): `drop` silently, `reject` with ICMP port unreachable (UDP)
   * and RST (TCP), `none` to serve again.
   */
  filterDns(mode: DnsFilter): Promise<void>;
  teardown(): Promise<void>;
}

async function netnsExec(ns: string, command: string[]): Promise<void> {
  await run('ip', ['netns', 'exec', ns, ...command]);
}

function waitForLine(child: ChildProcess, needle: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready after 10 s: ${buffered}${errors}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.includes(needle));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${buffered}${errors}`));
    });
  });
}

export async function createAgentNetns(): Promise<AgentNetns> {
  const suffix = randomBytes(4).toString('hex');
  const clientNs = `nca-${suffix}-c`;
  const serverNs = `nca-${suffix}-s`;
  const octet = randomBytes(1)[0] ?? 0;
  const base = ((randomBytes(1)[0] ?? 0) & 0x3f) * 4;
  const clientIp = `10.250.${octet}.${base + 1}`;
  const serverIp = `10.250.${octet}.${base + 2}`;
  const children: ChildProcess[] = [];
  const tmp = await mkdtemp(join(tmpdir(), 'nca-'));
  const netnsEtc = join('/etc/netns', clientNs);

  const teardown = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    }
    for (const ns of [clientNs, serverNs]) {
      // Whatever still runs inside our namespaces was started by this fixture (e.g. a dnsmasq TCP child).
      const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
      for (const pid of stdout.split('\n').filter((l) => l.trim() !== '')) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    await rm(netnsEtc, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  };

  const startServerNode = async (args: string[], ready: string): Promise<{ child: ChildProcess; firstLine: string }> => {
    const child = spawn('ip', ['netns', 'exec', serverNs, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const firstLine = await waitForLine(child, ready, `server node ${args[0] ?? ''}`);
    return { child, firstLine };
  };

  try {
    await run('ip', ['netns', 'add', clientNs]);
    await run('ip', ['netns', 'add', serverNs]);
    await run('ip', ['-n', clientNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', serverNs]);
    for (const [ns, ip] of [[clientNs, clientIp], [serverNs, serverIp]] as const) {
      await run('ip', ['-n', ns, 'addr', 'add', `${ip}/30`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await netnsExec(serverNs, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PORTS.dropped), '-j', 'DROP']);
    await netnsExec(serverNs, [
      'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PORTS.rejected),
      '-j', 'REJECT', '--reject-with', 'icmp-host-prohibited',
    ]);

    await netnsExec(serverNs, ['iptables', '-N', 'DNSFILTER']);
    for (const proto of ['udp', 'tcp']) {
      await netnsExec(serverNs, ['iptables', '-A', 'INPUT', '-p', proto, '--dport', '53', '-j', 'DNSFILTER']);
    }
    await mkdir(netnsEtc, { recursive: true });
    await writeFile(
      join(netnsEtc, 'resolv.conf'),
      `nameserver ${serverIp}\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
    );
    const hosts = join(tmp, 'hosts');
    await writeFile(hosts, `${serverIp} web.ns.svc.cluster.local\n${serverIp} api.other.svc.cluster.local\n`);
    const dnsmasq = spawn(
      'ip',
      [
        // --keep-in-foreground, not --no-daemon: debug mode serves TCP inline, so one slow TCP client
        // (the silent-server HTTP check) would stall every UDP query.
        'netns', 'exec', serverNs, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
        `--addn-hosts=${hosts}`, '--local=/cluster.local/', `--listen-address=${serverIp}`, '--bind-interfaces',
        `--pid-file=${join(tmp, 'dnsmasq.pid')}`, '--user=root', '--log-facility=-',
        // An upstream that answers SERVFAIL to everything (started below) for one zone.
        `--server=/broken.cluster.local/127.0.0.1#${SERVFAIL_PORT}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(dnsmasq);
    await new Promise<void>((resolve, reject) => {
      let errors = '';
      dnsmasq.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
        if (errors.includes('started')) resolve();
      });
      dnsmasq.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${errors}`)));
      setTimeout(() => reject(new Error(`dnsmasq not ready: ${errors}`)), 10_000);
    });

    await startServerNode([
      '-e',
      // Echo the query back as a response (QR, RA) with rcode 2.
      `const s = require('dgram').createSocket('udp4');` +
        `s.on('message', (m, p) => { m[2] |= 0x80; m[3] = 0x82; s.send(m, p.port, p.address); });` +
        `s.bind(${SERVFAIL_PORT}, '127.0.0.1', () => console.log('ready'));`,
    ], 'ready');
    const agentPath = locateAgent();
    await startServerNode([agentPath, 'listen', JSON.stringify({
      listen: [{ port: PORTS.listener, protocol: 'TCP' }, { port: PORTS.udpEcho, protocol: 'UDP' }],
    })], 'listening');
    await startServerNode([
      '-e',
      `require('http').createServer((q, s) => { s.statusCode = q.url === '/missing' ? 404 : 200; s.end('ok'); })` +
        `.listen(${PORTS.http}, () => console.log('ready'))`,
    ], 'ready');
  } catch (err) {
    await teardown();
    throw err;
  }

  return {
    clientNs,
    serverNs,
    serverIp,
    clientIp,
    runNode: (args) =>
      new Promise((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', clientNs, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      }),
    startServerNode,
    filterDns: async (mode) => {
      await netnsExec(serverNs, ['iptables', '-F', 'DNSFILTER']);
      const rules: Record<DnsFilter, string[][]> = {
        none: [],
        drop: [['-p', 'udp', '-j', 'DROP'], ['-p', 'tcp', '-j', 'DROP']],
        reject: [
          ['-p', 'udp', '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'],
          ['-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
        ],
      };
      for (const rule of rules[mode]) await netnsExec(serverNs, ['iptables', '-A', 'DNSFILTER', ...rule]);
    },
    teardown,
  };
}
