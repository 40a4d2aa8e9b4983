/**
 * The lab's data plane: real Linux network namespaces and processes, Calico-style routed (no bridge).
 *
 *   ncl-<suffix>-fab   the "node(s)": forwards between pods, holds Service DNAT and policy chains (ruleset.ts)
 *   ncl-<suffix>-out   the outside host (where the netcheck runner stands): routes to LoadBalancer IPs only
 *   ncl-<suffix>-p<n>  one per pod: eth0 with a /32 from its node's CIDR, default route via 169.254.1.1
 *
 * Every address, route, rule and sysctl lives in those namespaces; the root namespace is never touched and no
 * namespace has a route out of the lab. A marker file per lab (owner PID) lets sweepStaleLabs() remove what a
 * crashed run left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DataPlane, DataPlaneState, PodRunHandle, PodRunSpec } from '../types.js';
import { renderDnsHosts } from './dns-hosts.js';
import { CommandError, runCommand } from '../../cluster-kit/run-command.js';
import { isProcessAlive, readStartTime } from '../../cluster-kit/processes.js';
import { FABRIC, renderRuleset, serviceVIPs } from './ruleset.js';

/**
 * One A query at cluster DNS, sent from the fabric (a node's view: DNATed by the Service rules, not subject
 * to pod policies or pod-facing faults). Prints the addresses as JSON, or {"error": code}.
 */
const DNS_QUERY = `
const { Resolver } = require('node:dns').promises;
const [server, source, name] = process.argv.slice(1);
const resolver = new Resolver({ timeout: 300, tries: 1 });
resolver.setServers([server]);
resolver.setLocalAddress(source);
resolver.resolve4(name).then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify({ error: e.code ?? String(e) })));
`;

// Each lab's state directory and marker sit directly in /tmp (netcheck-lab-net-<suffix>[.json]): a shared parent
// directory would outlive every lab, and removing it when empty would race a lab being started.
const STATE_ROOT = '/tmp';
const STATE_PREFIX = 'netcheck-lab-net-';
const NETNS_ETC = '/etc/netns';
const AGENT = fileURLToPath(new URL('../../../dist/probes/agent.cjs', import.meta.url));
const DEFAULT_DNS_SERVICE_IP = '10.96.0.10';
const NETNS_PATTERN = /^ncl-([A-Za-z0-9]+)-(fab|out|p\d+)$/;
/** How long a pod's process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 300;
/** Upper bound for a responder or dnsmasq to become ready. */
const READY_TIMEOUT_MS = 15_000;
/** A gated pod starts anyway if no sync mentions it within this time (nobody is syncing). */
const POLICY_GATE_TIMEOUT_MS = 10_000;

export interface DataPlaneOptions {
  /** Unique per lab, letters and digits only: part of every namespace name. */
  suffix: string;
  /** Node names; node i gets pod CIDR 10.244.i.0/24. */
  nodes: string[];
  dnsServiceIP?: string;
}

/** The DataPlane contract plus what tests of the data plane itself need. */
export interface LabDataPlane extends DataPlane {
  /** Network namespace of a pod started by runPod, while it exists. */
  podNetns(uid: string): string | undefined;
  /** Network namespace holding the forwarding, NAT and policy rules. */
  readonly fabric: string;
  /** Pod CIDR of each node. */
  readonly nodeCIDRs: Record<string, string>;
}

interface PodRecord {
  spec: PodRunSpec;
  netns: string;
  veth: string;
  ip: string;
  nodeIndex: number;
  host: number;
  child: ChildProcess | undefined;
  /** The process has exited (its PID must not be signalled any more). */
  done: boolean;
  exited: Promise<{ code: number | null; signal: string | null }>;
  setup: Promise<void>;
  pidFile?: string;
  /** dnsmasq has written its pid file, so its SIGHUP handler is installed (before that, SIGHUP kills it). */
  dnsReady?: boolean;
  /** Set while the process waits for its policy to be programmed; calling it starts the process. */
  release?: () => void;
  /** Removed before its process started. */
  cancelled: boolean;
  resolveExited: (v: { code: number | null; signal: string | null }) => void;
}

interface LabMarker {
  pid: number;
  startTime?: string;
  suffix: string;
  createdAt: string;
}

export function createDataPlane(opts: DataPlaneOptions): LabDataPlane {
  if (!/^[A-Za-z0-9]{1,16}$/.test(opts.suffix)) throw new Error(`data plane suffix must be 1-16 letters/digits, got "${opts.suffix}"`);
  if (opts.nodes.length === 0 || opts.nodes.length > 200) throw new Error('data plane needs 1-200 nodes');
  const suffix = opts.suffix;
  const fabric = `ncl-${suffix}-fab`;
  const outside = `ncl-${suffix}-out`;
  const dnsServiceIP = opts.dnsServiceIP ?? DEFAULT_DNS_SERVICE_IP;
  const stateDir = `${STATE_ROOT}/${STATE_PREFIX}${suffix}`;
  const markerFile = `${STATE_ROOT}/${STATE_PREFIX}${suffix}.json`;
  const hostsFile = `${stateDir}/cluster-dns.hosts`;
  const nodeCIDRs: Record<string, string> = Object.fromEntries(opts.nodes.map((n, i) => [n, `10.244.${i}.0/24`]));

  const pods = new Map<string, PodRecord>();
  const removals = new Map<string, Promise<void>>();
  const usedHosts = opts.nodes.map(() => new Set<number>());
  const nextHost = opts.nodes.map(() => 2);
  let podCounter = 0;
  let started = false;
  let stopping: Promise<void> | undefined;
  let syncQueue: Promise<void> = Promise.resolve();
  let routedVIPs = new Set<string>();
  let routedLBs = new Set<string>();
  let hostsContent = '';
  /** The ruleset last loaded: a sync that changes nothing policy-relevant (pod status, events) skips iptables-restore. */
  let loadedRuleset: string | undefined;
  /** Someone drives this data plane with syncs, so new pods wait for theirs (see setUpPod). */
  let syncedOnce = false;

  function allocateHost(nodeIndex: number): number {
    const used = usedHosts[nodeIndex]!;
    // Round-robin over .2-.254 so a freed address is not reused at once (stale conntrack, stale DNS).
    for (let tries = 0; tries < 253; tries++) {
      const h = nextHost[nodeIndex]!;
      nextHost[nodeIndex] = h >= 254 ? 2 : h + 1;
      if (!used.has(h)) {
        used.add(h);
        return h;
      }
    }
    throw new Error(`node ${opts.nodes[nodeIndex]}: pod CIDR exhausted (253 pods)`);
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    await mkdir(stateDir, { recursive: true });
    const marker: LabMarker = { pid: process.pid, startTime: readStartTime(process.pid), suffix, createdAt: new Date().toISOString() };
    // Written before any namespace exists, so a namespace without a live marker is always stale.
    // Renamed into place: a sweep running in another lab never reads a half-written marker (and deletes us).
    await writeFile(`${markerFile}.tmp`, JSON.stringify(marker));
    await rename(`${markerFile}.tmp`, markerFile);
    await writeFile(hostsFile, renderDnsHosts([]));
    try {
      await runCommand(['ip', 'netns', 'add', fabric]);
      await runCommand(['ip', 'netns', 'add', outside]);
      // Sysctls before any device exists: `default` values are what new veths inherit.
      // The gateway 169.254.1.1 is a local address of the fabric, so pods' ARP for it is answered at once
      // (no proxy_delay); proxy_arp as on Calico's host side covers anything else a pod ARPs for.
      await runCommand(['ip', 'netns', 'exec', fabric, 'sh', '-c', [
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
        'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter',
        'echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter',
        'echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects',
        'echo 0 > /proc/sys/net/ipv4/conf/default/send_redirects',
        'echo 1 > /proc/sys/net/ipv4/conf/default/proxy_arp',
      ].join(' && ')]);
      await runCommand(['ip', '-n', fabric, '-batch', '-'], {
        input: [
          'link set lo up',
          `addr add ${FABRIC.gatewayIP}/32 dev lo`,
          `link add ${FABRIC.vipDevice} type veth peer name ${FABRIC.vipPeerDevice}`,
          `link set ${FABRIC.vipPeerDevice} up`,
          `link set ${FABRIC.vipDevice} up`,
          `route add ${FABRIC.serviceCIDR} dev ${FABRIC.vipDevice}`,
          `link add ${FABRIC.outsideDevice} type veth peer name eth0 netns ${outside}`,
          `addr add ${FABRIC.outsideFabricIP}/${FABRIC.outsidePrefix} dev ${FABRIC.outsideDevice}`,
          `link set ${FABRIC.outsideDevice} up`,
        ].join('\n') + '\n',
      });
      // The outside host gets no default route: it reaches LoadBalancer IPs (added per sync) and nothing else.
      await runCommand(['ip', '-n', outside, '-batch', '-'], {
        input: ['link set lo up', `addr add ${FABRIC.outsideHostIP}/${FABRIC.outsidePrefix} dev eth0`, 'link set eth0 up'].join('\n') + '\n',
      });
      // It cannot reach cluster DNS; a local nameserver makes lookups fail fast instead of hanging.
      await writeNetnsEtc(outside, { 'resolv.conf': 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' });
      await loadRuleset({ snapshot: { namespaces: [], pods: [], services: [], policies: [], nodes: [] }, services: [], faults: {} });
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
  }

  async function writeNetnsEtc(netns: string, files: Record<string, string>): Promise<void> {
    const dir = `${NETNS_ETC}/${netns}`;
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(`${dir}/${name}`, content);
  }

  async function runPod(spec: PodRunSpec, onLog: (chunk: Buffer) => void): Promise<PodRunHandle> {
    if (!started || stopping !== undefined) throw new Error('data plane is not running');
    if (pods.has(spec.uid)) throw new Error(`pod ${spec.uid} is already running`);
    const nodeIndex = opts.nodes.indexOf(spec.node);
    if (nodeIndex < 0) throw new Error(`pod ${spec.namespace}/${spec.name}: unknown node "${spec.node}" (lab nodes: ${opts.nodes.join(', ')})`);
    const host = allocateHost(nodeIndex);
    const n = ++podCounter;
    let resolveExited!: (v: { code: number | null; signal: string | null }) => void;
    const rec: PodRecord = {
      spec,
      netns: `ncl-${suffix}-p${n}`,
      veth: `v${n}`,
      ip: `10.244.${nodeIndex}.${host}`,
      nodeIndex,
      host,
      child: undefined,
      done: false,
      exited: new Promise((r) => (resolveExited = r)),
      setup: Promise.resolve(),
      cancelled: false,
      resolveExited: (v) => resolveExited(v),
    };
    // Registered before anything is created, so removePod/stop clean up a half-built pod too.
    pods.set(spec.uid, rec);
    rec.setup = setUpPod(rec, onLog);
    try {
      await rec.setup;
    } catch (err) {
      await removePod(spec.uid).catch(() => undefined);
      throw err;
    }
    return { ip: rec.ip, exited: rec.exited };
  }

  async function setUpPod(rec: PodRecord, onLog: (chunk: Buffer) => void): Promise<void> {
    const { spec, netns, veth, ip } = rec;
    await runCommand(['ip', 'netns', 'add', netns]);
    await runCommand(['ip', '-n', fabric, '-batch', '-'], {
      input: [`link add ${veth} type veth peer name eth0 netns ${netns}`, `link set ${veth} up`, `route add ${ip}/32 dev ${veth}`].join('\n') + '\n',
    });
    await runCommand(['ip', '-n', netns, '-batch', '-'], {
      input: [
        'link set lo up',
        `addr add ${ip}/32 dev eth0`,
        'link set eth0 up',
        `route add ${FABRIC.gatewayIP} dev eth0 scope link`,
        `route add default via ${FABRIC.gatewayIP} dev eth0`,
      ].join('\n') + '\n',
    });
    await writeNetnsEtc(netns, {
      'resolv.conf': `nameserver ${dnsServiceIP}\nsearch ${spec.namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
      hosts: `127.0.0.1 localhost\n${ip} ${spec.name}\n`,
    });

    const argv = podArgv(rec);
    const server = spec.role === 'dns' || (spec.respondOn !== undefined && spec.respondOn.length > 0);
    if (!server && syncedOnce) {
      // Like a CNI that holds a workload until its policy is programmed: the pod's first packet must already
      // meet its (and its peers') policies, or a probe would see a world where its IP belongs to no rule.
      // The next sync that lists this pod with its IP releases it (see applyState).
      const timer = setTimeout(() => rec.release?.(), POLICY_GATE_TIMEOUT_MS);
      rec.release = () => {
        clearTimeout(timer);
        rec.release = undefined;
        if (!rec.cancelled) startProcess(rec, argv, onLog);
      };
      return;
    }
    const stdout = startProcess(rec, argv, onLog);
    if (spec.role === 'dns') {
      await waitUntil(() => existsSync(rec.pidFile!), rec, `dnsmasq in ${spec.namespace}/${spec.name}`);
      rec.dnsReady = true;
      // Records may have changed between its start-up read of the hosts file and now.
      signalDnsReload(rec);
    } else if (server) {
      await waitUntil(() => stdout.text.includes('"listening"'), rec, `responder in ${spec.namespace}/${spec.name}`);
    }
  }

  /** Spawns the pod's process in its namespace; returns the (first 4 KiB of) stdout seen so far, live. */
  function startProcess(rec: PodRecord, argv: string[], onLog: (chunk: Buffer) => void): { text: string } {
    const { spec, netns } = rec;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: spec.name,
      ...(spec.respondOn !== undefined ? { POD_NAME: `${spec.namespace}/${spec.name}` } : {}),
      ...spec.env,
    };
    // Own process group, so the pod's whole tree is killed by one signal to -PID.
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    rec.child = child;
    const stdout = { text: '' };
    child.stdout!.on('data', (c: Buffer) => {
      if (stdout.text.length < 4096) stdout.text += c.toString();
      onLog(c);
    });
    child.stderr!.on('data', (c: Buffer) => onLog(c));
    let settled = false;
    const finish = (code: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      rec.resolveExited({ code, signal });
    };
    child.on('error', (err) => {
      rec.done = true;
      onLog(Buffer.from(`lab: cannot start ${argv[0]}: ${err.message}\n`));
      finish(127, null);
    });
    child.on('exit', (code, signal) => {
      rec.done = true;
      // Wait for stdio to drain so the log is complete, but not for a grandchild that keeps the pipe open.
      const t = setTimeout(() => finish(code, signal), 200);
      child.once('close', () => {
        clearTimeout(t);
        finish(code, signal);
      });
    });
    return stdout;
  }

  function podArgv(rec: PodRecord): string[] {
    const { spec } = rec;
    if (spec.role === 'dns') {
      rec.pidFile = `${stateDir}/dnsmasq-${rec.netns}.pid`;
      return [
        'dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hostsFile}`,
        // Authoritative for the cluster domain, and (no upstream exists, ever) NXDOMAIN for every other name,
        // as CoreDNS forwarding to a resolver would answer for a name that does not exist.
        '--local=/cluster.local/',
        '--local=/#/',
        '--no-negcache',
        '--user=root',
        `--pid-file=${rec.pidFile}`,
        '--log-facility=-',
        '--port=53',
      ];
    }
    if (spec.respondOn !== undefined && spec.respondOn.length > 0) {
      return [process.execPath, AGENT, 'listen', JSON.stringify({ listen: spec.respondOn })];
    }
    if (spec.argv.length === 0) throw new Error(`pod ${spec.namespace}/${spec.name} has no command`);
    const [cmd, ...rest] = spec.argv;
    // Whatever the image, `node` is the machine's node.
    return [cmd === 'node' ? process.execPath : cmd!, ...rest];
  }

  async function waitUntil(ready: () => boolean, rec: PodRecord, what: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!ready()) {
      if (rec.done) {
        const { code, signal } = await rec.exited;
        throw new Error(`${what} exited before it was ready (code ${code}, signal ${signal})`);
      }
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms`);
      await sleep(10);
    }
  }

  async function removePod(uid: string): Promise<void> {
    const pending = removals.get(uid);
    if (pending !== undefined) return pending;
    const rec = pods.get(uid);
    if (rec === undefined) return;
    const removal = (async () => {
      await rec.setup.catch(() => undefined);
      await killPodProcess(rec);
      await killNetnsProcesses(rec.netns);
      await deleteNetns(rec.netns);
      await rm(`${NETNS_ETC}/${rec.netns}`, { recursive: true, force: true });
      if (rec.pidFile !== undefined) await rm(rec.pidFile, { force: true });
      usedHosts[rec.nodeIndex]!.delete(rec.host);
      pods.delete(uid);
    })();
    removals.set(uid, removal);
    try {
      await removal;
    } finally {
      removals.delete(uid);
    }
  }

  async function killPodProcess(rec: PodRecord): Promise<void> {
    if (rec.release !== undefined) {
      // Removed while waiting for its policy: it never ran.
      rec.cancelled = true;
      rec.release();
      rec.done = true;
      rec.resolveExited({ code: null, signal: 'SIGKILL' });
      return;
    }
    const pid = rec.child?.pid;
    if (pid === undefined || rec.done) return;
    signalGroup(pid, 'SIGTERM');
    await Promise.race([rec.exited, sleep(KILL_GRACE_MS)]);
    if (rec.done) return;
    signalGroup(pid, 'SIGKILL');
    await Promise.race([rec.exited, sleep(2_000)]);
  }

  function sync(state: DataPlaneState): Promise<void> {
    const run = syncQueue.then(() => applyState(state));
    syncQueue = run.catch(() => undefined);
    return run;
  }

  async function applyState(state: DataPlaneState): Promise<void> {
    if (!started || stopping !== undefined) throw new Error('data plane is not running');
    await loadRuleset(state);
    await applyRoutes(state);
    await applyDnsRecords(state);
    syncedOnce = true;
    for (const rec of pods.values()) {
      if (rec.release !== undefined && state.snapshot.pods.some((p) => p.ip === rec.ip && p.namespace === rec.spec.namespace && p.name === rec.spec.name)) rec.release();
    }
  }

  async function loadRuleset(state: DataPlaneState): Promise<void> {
    const dnsPodIPs = [...pods.values()].filter((p) => p.spec.role === 'dns').map((p) => p.ip);
    const ruleset = renderRuleset({ snapshot: state.snapshot, services: state.services, faults: state.faults, nodeCIDRs, dnsPodIPs });
    if (ruleset === loadedRuleset) return;
    // Kept for whoever debugs a failing lab test: the exact rules in force.
    await writeFile(`${stateDir}/ruleset.txt`, ruleset);
    await runCommand(['ip', 'netns', 'exec', fabric, 'iptables-restore'], { input: ruleset });
    loadedRuleset = ruleset;
  }

  async function applyRoutes(state: DataPlaneState): Promise<void> {
    const vips = new Set(state.services.filter((s) => !s.headless).flatMap(serviceVIPs));
    const lbs = new Set(state.services.flatMap((s) => s.loadBalancerIPs.filter((ip) => vips.has(ip))));
    const fabricCommands = [
      ...[...vips].filter((ip) => !routedVIPs.has(ip)).map((ip) => `route replace ${ip}/32 dev ${FABRIC.vipDevice}`),
      ...[...routedVIPs].filter((ip) => !vips.has(ip)).map((ip) => `route del ${ip}/32 dev ${FABRIC.vipDevice}`),
    ];
    const outsideCommands = [
      ...[...lbs].filter((ip) => !routedLBs.has(ip)).map((ip) => `route replace ${ip}/32 via ${FABRIC.outsideFabricIP} dev eth0`),
      ...[...routedLBs].filter((ip) => !lbs.has(ip)).map((ip) => `route del ${ip}/32 dev eth0`),
    ];
    if (fabricCommands.length > 0) await runCommand(['ip', '-n', fabric, '-batch', '-'], { input: fabricCommands.join('\n') + '\n' });
    routedVIPs = vips;
    if (outsideCommands.length > 0) await runCommand(['ip', '-n', outside, '-batch', '-'], { input: outsideCommands.join('\n') + '\n' });
    routedLBs = lbs;
  }

  async function applyDnsRecords(state: DataPlaneState): Promise<void> {
    const content = renderDnsHosts(state.services);
    if (content === hostsContent) return;
    await writeFile(hostsFile, content);
    hostsContent = content;
    for (const rec of pods.values()) signalDnsReload(rec);
  }

  /** dnsmasq re-reads --addn-hosts on SIGHUP (and only then); signalled by its own PID, never by name. */
  function signalDnsReload(rec: PodRecord): void {
    if (rec.spec.role !== 'dns' || !rec.dnsReady || rec.done || rec.child?.pid === undefined) return;
    try {
      process.kill(rec.child.pid, 'SIGHUP');
    } catch {
      // exited meanwhile
    }
  }

  async function resolveClusterDns(name: string): Promise<string[]> {
    const { stdout } = await runCommand(['ip', 'netns', 'exec', fabric, process.execPath, '-e', DNS_QUERY, dnsServiceIP, FABRIC.gatewayIP, name]);
    const answer = JSON.parse(stdout) as string[] | { error: string };
    if (Array.isArray(answer)) return answer;
    throw new Error(`cluster DNS ${dnsServiceIP} did not answer ${name}: ${answer.error}`);
  }

  async function stop(): Promise<void> {
    if (stopping !== undefined) return stopping;
    stopping = (async () => {
      await syncQueue.catch(() => undefined);
      await Promise.all([...pods.keys()].map((uid) => removePod(uid).catch(() => undefined)));
      for (const netns of [outside, fabric]) {
        await killNetnsProcesses(netns);
        await deleteNetns(netns);
        await rm(`${NETNS_ETC}/${netns}`, { recursive: true, force: true });
      }
      await rm(stateDir, { recursive: true, force: true });
      await rm(markerFile, { force: true });
    })();
    return stopping;
  }

  return {
    start,
    runPod,
    removePod,
    sync,
    stop,
    outsideHost: outside,
    dnsServiceIP,
    resolveClusterDns,
    fabric,
    nodeCIDRs,
    podNetns: (uid) => pods.get(uid)?.netns,
  };
}

/**
 * Remove labs whose owning process is gone (a crashed or killed test run): their namespaces, the processes
 * still running inside them, /etc/netns entries, temp files and markers. Live labs are left alone.
 */
export async function sweepStaleLabs(): Promise<void> {
  // Namespaces are listed BEFORE markers are read: a lab writes its marker before creating any namespace, so
  // every namespace seen here has its marker visible below. The other order deletes a lab starting concurrently.
  const namespaces = await listLabNetns();
  let etcEntries: string[] = [];
  try {
    etcEntries = (await readdir(NETNS_ETC)).filter((e) => NETNS_PATTERN.test(e));
  } catch {
    // no /etc/netns
  }
  const live = new Set<string>();
  const known = new Set<string>();
  let entries: string[] = [];
  try {
    entries = await readdir(STATE_ROOT);
  } catch {
    // nothing was ever started on this machine
  }
  for (const entry of entries) {
    if (!entry.startsWith(STATE_PREFIX) || !entry.endsWith('.json')) continue;
    const suffix = entry.slice(STATE_PREFIX.length, -'.json'.length);
    known.add(suffix);
    try {
      const marker = JSON.parse(await readFile(`${STATE_ROOT}/${entry}`, 'utf8')) as LabMarker;
      if (isProcessAlive(marker.pid, marker.startTime)) live.add(suffix);
    } catch {
      // unreadable marker (a run died while writing it): stale
    }
  }
  const stale = new Set<string>();
  for (const name of [...namespaces, ...etcEntries]) {
    const suffix = NETNS_PATTERN.exec(name)?.[1];
    if (suffix !== undefined && !live.has(suffix)) stale.add(suffix);
  }
  for (const suffix of known) if (!live.has(suffix)) stale.add(suffix);

  for (const suffix of stale) {
    try {
      const mine = namespaces.filter((n) => NETNS_PATTERN.exec(n)?.[1] === suffix);
      // Processes die before their namespace goes.
      for (const netns of mine) await killNetnsProcesses(netns);
      await Promise.all(mine.map((netns) => deleteNetns(netns)));
      for (const e of etcEntries.filter((e) => NETNS_PATTERN.exec(e)?.[1] === suffix)) await rm(`${NETNS_ETC}/${e}`, { recursive: true, force: true });
      await rm(`${STATE_ROOT}/${STATE_PREFIX}${suffix}`, { recursive: true, force: true });
      await rm(`${STATE_ROOT}/${STATE_PREFIX}${suffix}.json`, { force: true });
    } catch {
      // Best effort: two labs starting at once may sweep the same leftovers; a sweep must never fail a start.
    }
  }
}

/** Every lab namespace on the machine (any suffix). */
export async function listLabNetns(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => NETNS_PATTERN.test(n));
}

async function killNetnsProcesses(netns: string): Promise<void> {
  let stdout = '';
  try {
    ({ stdout } = await runCommand(['ip', 'netns', 'pids', netns]));
  } catch {
    return; // namespace already gone
  }
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function deleteNetns(netns: string): Promise<void> {
  try {
    await runCommand(['ip', 'netns', 'del', netns]);
  } catch (err) {
    if (err instanceof CommandError && /No such file|Cannot remove namespace file.*No such/.test(err.stderr)) return;
    if (!existsSync(`/run/netns/${netns}`)) return;
    throw err;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
