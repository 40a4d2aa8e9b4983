/**
 * flannel-cni.cjs, the `flannel` CNI plugin of the test cluster, run as containerd runs a plugin: a process in the
 * node's network namespace with CNI_* variables and the network config on stdin, delegating to Debian's real
 * bridge and host-local plugins. The node and the pod are network namespaces of their own (held by `unshare`
 * processes this file starts and ends); every file it writes is under one temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLANNEL_CNI_CONF } from './flannel.js';
import { HOST_CNI_PLUGINS } from './configs.js';

const PLUGIN = fileURLToPath(new URL('./flannel-cni.cjs', import.meta.url));

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!existsSync(join(HOST_CNI_PLUGINS, 'bridge'))) return `needs the CNI plugins in ${HOST_CNI_PLUGINS} (containernetworking-plugins)`;
  return undefined;
}
const skip = skipReason();
if (skip !== undefined) console.warn(`flannel CNI plugin: skipped — ${skip}`);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: string[], { input = '', env = process.env }: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a command that exits before reading its input
    child.stdin.end(input);
  });
}

/** A process that only holds a new network namespace open (ended in afterAll, by its pid). */
async function holdNetns(): Promise<ChildProcess> {
  const child = spawn('unshare', ['--net', 'sleep', '3600'], { stdio: 'ignore' });
  // unshare execs sleep once the namespace exists: wait until the pid's namespace differs from ours.
  const own = (await run(['readlink', '/proc/self/ns/net'])).stdout;
  for (let i = 0; i < 100; i++) {
    const theirs = await run(['readlink', `/proc/${child.pid}/ns/net`]);
    if (theirs.code === 0 && theirs.stdout !== own && (await run(['cat', `/proc/${child.pid}/comm`])).stdout.trim() === 'sleep') return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('unshare --net did not start');
}

describe.skipIf(skip !== undefined)('the flannel CNI plugin (flannel-cni.cjs) delegating to the real bridge + host-local', () => {
  let dir = '';
  let node: ChildProcess;
  let pod: ChildProcess;
  const subnetFile = (): string => join(dir, 'subnet.env');
  const dataDir = (): string => join(dir, 'flannel');
  const ipamDir = (): string => join(dir, 'networks');
  const inNode = (argv: string[]): string[] => ['nsenter', `--net=/proc/${node.pid}/ns/net`, ...argv];
  const inPod = (argv: string[]): string[] => ['nsenter', `--net=/proc/${pod.pid}/ns/net`, ...argv];
  /** The first plugin of upstream's cni-conf.json, as containerd hands it over, with this test's paths. */
  const conf = (): string =>
    JSON.stringify({ ...FLANNEL_CNI_CONF.plugins[0], name: FLANNEL_CNI_CONF.name, cniVersion: FLANNEL_CNI_CONF.cniVersion, subnetFile: subnetFile(), dataDir: dataDir(), ipam: { dataDir: ipamDir() } });
  const plugin = (command: string, containerId: string, input = conf()): Promise<Exit> =>
    run(inNode([PLUGIN]), {
      input,
      env: { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/proc/${pod.pid}/ns/net`, CNI_IFNAME: 'eth0', CNI_PATH: HOST_CNI_PLUGINS },
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netcheck-flannel-cni-'));
    node = await holdNetns();
    pod = await holdNetns();
  });
  afterAll(() => {
    for (const holder of [node, pod]) holder?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ADD before flanneld wrote subnet.env: a CNI error (code 999) naming the file, exit 1', async () => {
    const result = await plugin('ADD', 'early');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 999, msg: expect.stringContaining(`${subnetFile()} does not exist yet`) });
  });

  it('ADD: the pod gets an address of the node subnet, routes to the flannel network and by default via cni0, flannel\'s MTU; DEL releases it; a second DEL is a no-op', async () => {
    writeFileSync(subnetFile(), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const added = await plugin('ADD', 'pod-one');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const result = JSON.parse(added.stdout) as { cniVersion: string; ips: Array<{ address: string; gateway: string }> };
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.ips).toEqual([expect.objectContaining({ address: '10.244.7.2/24', gateway: '10.244.7.1' })]);

    // The node: cni0 is the gateway with flannel's MTU; flanneld masquerades (FLANNEL_IPMASQ=true), so the bridge
    // added no masquerade rule of its own.
    expect((await run(inNode(['ip', '-o', '-4', 'addr', 'show', 'cni0']))).stdout).toMatch(/inet 10\.244\.7\.1\/24/);
    expect((await run(inNode(['ip', '-o', 'link', 'show', 'cni0']))).stdout).toMatch(/mtu 1450/);
    expect((await run(inNode(['iptables-save', '-t', 'nat']))).stdout).not.toMatch(/MASQUERADE/);
    // The pod: its address, flannel's MTU, the flannel network and the default route both via the gateway.
    expect((await run(inPod(['ip', '-o', '-4', 'addr', 'show', 'eth0']))).stdout).toMatch(/inet 10\.244\.7\.2\/24/);
    expect((await run(inPod(['ip', '-o', 'link', 'show', 'eth0']))).stdout).toMatch(/mtu 1450/);
    const routes = (await run(inPod(['ip', '-4', 'route']))).stdout;
    expect(routes).toMatch(/^default via 10\.244\.7\.1 dev eth0/m);
    expect(routes).toMatch(/^10\.244\.0\.0\/16 via 10\.244\.7\.1 dev eth0/m);
    // Reachable over the bridge: the node's kernel answers the pod's SYN to a closed port with a reset.
    const connect = "require('net').connect(9, '10.244.7.1').on('error', (e) => console.log(e.code)).on('connect', () => console.log('connected'))";
    expect((await run(inPod([process.execPath, '-e', connect]))).stdout.trim()).toBe('ECONNREFUSED');
    // What it kept for DEL, and host-local's lease.
    expect(readdirSync(dataDir())).toEqual(['pod-one']);
    expect(readdirSync(join(ipamDir(), 'cbr0'))).toContain('10.244.7.2');

    const deleted = await plugin('DEL', 'pod-one');
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(dataDir())).toEqual([]);
    expect(readdirSync(join(ipamDir(), 'cbr0'))).not.toContain('10.244.7.2');
    expect((await run(inPod(['ip', 'link', 'show', 'eth0']))).code).not.toBe(0);
    expect(await plugin('DEL', 'pod-one')).toMatchObject({ code: 0, stdout: '' });
  });

  it('VERSION lists the CNI versions it speaks; a bad container id is refused before anything is written', async () => {
    const version = await plugin('VERSION', 'x', '');
    expect(JSON.parse(version.stdout)).toMatchObject({ supportedVersions: expect.arrayContaining(['0.3.1', '1.0.0']) });
    const bad = await plugin('ADD', '../escape');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ code: 999, msg: expect.stringContaining('bad CNI_CONTAINERID') });
  });
});
