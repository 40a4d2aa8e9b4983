/**
 * The test cluster's images: the archives' OCI structure and contents, their determinism, the listener script
 * in a network namespace of its own, and the images imported into a throwaway containerd (CRI plugin on) and
 * run there with `ctr run`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHostImage, buildImages, hostToolEntries, imageCheckReady, importImages, iptablesTools, LISTENER_IMAGE, LISTENER_SOURCE, NODE_IMAGE, PAUSE_IMAGE, parseLdd, type ImageArchive } from './images.js';

// --- builders and readers ---------------------------------------------------------------------------------

/** A static x86-64 ELF (one PT_LOAD, no loader) that writes `message` and exits 0: a stand-in for coredns and pause. */
function tinyStaticElf(message: string): Buffer {
  const text = Buffer.from(message);
  const base = 0x400000;
  const headers = 64 + 56;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length);
  const code = Buffer.concat([
    // mov eax,1 (write); mov edi,1; lea rsi,[rip+16] (the text after this code); mov edx,len
    Buffer.from([0xb8, 1, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x48, 0x8d, 0x35, 0x10, 0, 0, 0, 0xba]),
    length,
    // syscall; mov eax,60 (exit); xor edi,edi; syscall
    Buffer.from([0x0f, 0x05, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]),
    text,
  ]);
  const size = headers + code.length;
  const elf = Buffer.alloc(size);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELF, 64-bit, little-endian, version 1
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(0x3e, 18); // x86-64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(base + headers), 24); // entry
  elf.writeBigUInt64LE(64n, 32); // program headers right after this header
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(1, 56);
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(5, 68); // R+X
  elf.writeBigUInt64LE(BigInt(base), 80);
  elf.writeBigUInt64LE(BigInt(base), 88);
  elf.writeBigUInt64LE(BigInt(size), 96);
  elf.writeBigUInt64LE(BigInt(size), 104);
  elf.writeBigUInt64LE(0x1000n, 112);
  code.copy(elf, headers);
  return elf;
}

interface TarFile {
  /** ustar typeflag: '0' file, '2' symlink, '5' directory. */
  type: string;
  mode: number;
  uid: number;
  mtime: number;
  content: Buffer;
  target: string;
}

function readTar(data: Buffer): Map<string, TarFile> {
  const files = new Map<string, TarFile>();
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const size = parseInt(field(124, 12), 8);
    files.set((prefix ? `${prefix}/` : '') + field(0, 100), {
      type: field(156, 1),
      mode: parseInt(field(100, 8), 8),
      uid: parseInt(field(108, 8), 8),
      mtime: parseInt(field(136, 12), 8),
      content: data.subarray(offset + 512, offset + 512 + size),
      target: field(157, 100),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

interface ArchiveImage {
  files: Map<string, TarFile>;
  index: { schemaVersion: number; manifests: OciDescriptor[] };
  manifest: { schemaVersion: number; mediaType: string; config: OciDescriptor; layers: OciDescriptor[] };
  config: {
    architecture: string;
    os: string;
    config: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[] };
    rootfs: { type: string; diff_ids: string[] };
  };
  /** Each layer's entries, paths without `./` or a trailing slash. */
  layers: Map<string, TarFile>[];
}

async function readImage(archive: string): Promise<ArchiveImage> {
  const files = readTar(await readFile(archive));
  const blob = (d: OciDescriptor): Buffer => {
    const file = files.get(`blobs/sha256/${d.digest.replace('sha256:', '')}`);
    if (!file) throw new Error(`${archive}: no blob ${d.digest}`);
    expect(file.content.length).toBe(d.size);
    expect(`sha256:${createHash('sha256').update(file.content).digest('hex')}`).toBe(d.digest);
    return file.content;
  };
  const index = JSON.parse(files.get('index.json')!.content.toString()) as ArchiveImage['index'];
  const manifest = JSON.parse(blob(index.manifests[0]!).toString()) as ArchiveImage['manifest'];
  const config = JSON.parse(blob(manifest.config).toString()) as ArchiveImage['config'];
  const layers = manifest.layers.map((d, i) => {
    const tar = gunzipSync(blob(d));
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`, `diff_id of layer ${i}`).toBe(config.rootfs.diff_ids[i]);
    return new Map([...readTar(tar)].map(([name, file]) => [name.replace(/\/$/, ''), file]));
  });
  return { files, index, manifest, config, layers };
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion; never throws on a non-zero exit. */
function exec(argv: string[], timeoutMs = 30_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts argv and resolves once its stdout has printed `ready`; `exited` settles with its exit code. */
async function startUntil(argv: string[], ready: RegExp, timeoutMs = 20_000): Promise<{ child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready after ${timeoutMs} ms: ${output}`)), timeoutMs);
    const onData = (c: Buffer): void => {
      output += c.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited ${code} before it was ready: ${output}`));
    });
  });
  return { child, exited, output: () => output };
}

/**
 * What a client inside `netnsPath` sees of a listener there: HTTP on `tcp` (GET /health and GET /), a raw
 * connection to `rawTcp`, one UDP echo on `udp`, over IPv4 and, where the namespace has it, IPv6.
 */
async function probeListener(netnsPath: string, ports: { tcp: number; rawTcp: number; udp: number }, ipv6: boolean): Promise<unknown> {
  const client = `
    const http = require('node:http'), net = require('node:net'), dgram = require('node:dgram');
    const [tcp, rawTcp, udp, ipv6] = process.argv.slice(1);
    const get = (host, path) => new Promise((resolve, reject) => {
      http.get({ host, port: Number(tcp), path, timeout: 3000 }, (res) => {
        let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(res.statusCode + ' ' + JSON.stringify(body)));
      }).on('error', reject).on('timeout', () => reject(new Error('http timeout')));
    });
    const connect = (host) => new Promise((resolve, reject) => {
      const s = net.connect({ host, port: Number(rawTcp) }, () => { s.end('hello\\r\\n'); resolve('connected'); });
      s.on('error', reject); s.setTimeout(3000, () => reject(new Error('tcp timeout')));
    });
    const echo = (host) => new Promise((resolve, reject) => {
      const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const timer = setTimeout(() => { s.close(); reject(new Error('udp timeout')); }, 3000);
      s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(m.toString()); });
      s.send('ping ' + host, Number(udp), host);
    });
    (async () => {
      const hosts = ipv6 === 'true' ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
      const out = {};
      for (const h of hosts) out[h] = { health: await get(h, '/health'), root: await get(h, '/'), raw: await connect(h), udp: await echo(h) };
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e.message); process.exit(1); });`;
  const result = await exec(['nsenter', `--net=${netnsPath}`, process.execPath, '-e', client, String(ports.tcp), String(ports.rawTcp), String(ports.udp), String(ipv6)]);
  if (result.code !== 0) throw new Error(`probe client failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}

function expectedProbe(ipv6: boolean): Record<string, unknown> {
  const hosts = ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  return Object.fromEntries(hosts.map((h) => [h, { health: '200 "ok\\n"', root: '200 "ok\\n"', raw: 'connected', udp: `ping ${h}` }]));
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function missingCommands(commands: string[]): string[] {
  const path = (process.env.PATH ?? '').split(':');
  return commands.filter((c) => !path.some((dir) => existsSync(join(dir, c))));
}

function skipReason(commands: string[]): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.arch !== 'x64') return 'the stand-in static binaries are x86-64';
  if (commands.length > 0 && process.getuid?.() !== 0) return 'needs root (namespaces)';
  const missing = missingCommands(['ldd', ...commands]);
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}

const buildSkip = skipReason([]);
const netnsSkip = skipReason(['ip', 'unshare', 'nsenter']);
const containerdSkip = skipReason(['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', 'unshare', 'nsenter', 'ip']);
for (const [what, reason] of [['image build', buildSkip], ['listener in a netns', netnsSkip], ['containerd import', containerdSkip]] as const) {
  if (reason !== undefined) console.log(`skipping cluster-kit ${what} tests: ${reason}`);
}

// --- the tests ---------------------------------------------------------------------------------------------

let scratch = '';
let archives: ImageArchive[] = [];
const byRef = (ref: string): ImageArchive => archives.find((a) => a.ref === ref)!;

beforeAll(async () => {
  if (buildSkip !== undefined) return;
  scratch = await mkdtemp(join(tmpdir(), 'netcheck-images-test-'));
  const bin = join(scratch, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'coredns'), tinyStaticElf('coredns stand-in\n'));
  await writeFile(join(bin, 'pause'), tinyStaticElf('pause stand-in\n'));
  await Promise.all([chmod(join(bin, 'coredns'), 0o755), chmod(join(bin, 'pause'), 0o755)]);
  archives = await buildImages(join(scratch, 'images'), { coredns: join(bin, 'coredns'), pause: join(bin, 'pause'), corednsVersion: '1.12.0' });
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('reading tool output', () => {
  const ldd = [
    '\tlinux-vdso.so.1 (0x00007ffd3e9f2000)',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f29ce600000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f29ce33e000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f29ce8c2000)',
  ].join('\n');

  it.each([
    ['a dynamic binary: libraries and loader, no vDSO', ldd, ['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']],
    ['a missing library', `${ldd}\n\tlibfoo.so.1 => not found`, /lacks: libfoo\.so\.1 => not found/],
    ['no loader (a static binary)', '\tnot a dynamic executable', /names no dynamic loader/],
  ])('parseLdd: %s', (_what, output, expected) => {
    if (expected instanceof RegExp) expect(() => parseLdd(output, '/usr/bin/x')).toThrow(expected);
    else expect(parseLdd(output, '/usr/bin/x')).toEqual(expected);
  });

  const check = [
    'REF                       TYPE                                       DIGEST        STATUS         SIZE              UNPACKED',
    'netcheck.local/node:20    application/vnd.oci.image.manifest.v1+json sha256:d040  complete (2/2) 37.4 MiB/37.4 MiB true',
    'netcheck.local/pause:3.10.1 application/vnd.oci.image.manifest.v1+json sha256:ad88  incomplete (1/2) 1 KiB/2 KiB      false',
    'netcheck.local/listener:1 application/vnd.oci.image.manifest.v1+json sha256:8f6f  complete (3/3) 37.4 MiB/37.4 MiB false',
  ].join('\n');
  it.each([
    [NODE_IMAGE, true],
    [PAUSE_IMAGE, false],
    [LISTENER_IMAGE, false], // complete but not unpacked
    ['netcheck.local/node:2', false],
  ])('imageCheckReady: %s → %s', (ref, ready) => {
    expect(imageCheckReady(check, ref)).toBe(ready);
  });
});

describe.skipIf(buildSkip !== undefined)('buildImages', () => {
  it('writes one OCI image layout per image, named for containerd by its annotations', async () => {
    expect(archives.map((a) => a.ref)).toEqual([NODE_IMAGE, LISTENER_IMAGE, 'netcheck.local/coredns:1.12.0', PAUSE_IMAGE]);
    for (const { ref, archive } of archives) {
      const image = await readImage(archive);
      expect(JSON.parse(image.files.get('oci-layout')!.content.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
      expect(image.index.schemaVersion).toBe(2);
      expect(image.index.manifests).toHaveLength(1);
      expect(image.index.manifests[0]).toMatchObject({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref },
      });
      expect(image.manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
      expect(image.manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
      expect(image.config).toMatchObject({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });
      expect(image.config.config.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
      for (const [name, file] of image.files) expect({ name, uid: file.uid, mtime: file.mtime }).toEqual({ name, uid: 0, mtime: 0 });
    }
  });

  it('packs node, every library ldd names and the loader at their paths, with passwd, group, nsswitch and /tmp', async () => {
    const image = await readImage(byRef(NODE_IMAGE).archive);
    expect(image.config.config).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['node'], WorkingDir: '/' });
    const [layer] = image.layers;
    const { stdout } = await exec(['ldd', '/usr/bin/node']);
    const needed = [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
    expect(needed).toContain('/lib64/ld-linux-x86-64.so.2');
    /** Follows symlinks inside the layer, as the kernel will inside the container. */
    const resolve = (path: string, depth = 0): TarFile | undefined => {
      const parts = path.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        const here = parts.slice(0, i).join('/');
        const entry = layer!.get(here);
        if (entry?.type === '2' && depth < 10) {
          const target = entry.target.startsWith('/') ? entry.target : `${parts.slice(0, i - 1).join('/')}/${entry.target}`;
          return resolve(`${target}/${parts.slice(i).join('/')}`, depth + 1);
        }
      }
      return layer!.get(parts.join('/'));
    };
    for (const path of ['/usr/bin/node', ...needed]) {
      const file = resolve(path);
      expect(file?.type, path).toBe('0');
      expect(file!.content.equals(await readFile(path)), `${path} has the host's bytes`).toBe(true);
    }
    expect(resolve('/usr/bin/node')!.mode).toBe(0o755);
    expect(layer!.get('etc/passwd')!.content.toString()).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(layer!.get('etc/group')!.content.toString()).toMatch(/^root:x:0:\nnobody:x:65534:/);
    expect(layer!.get('etc/nsswitch.conf')!.content.toString()).toContain('hosts: files dns\n');
    expect(layer!.get('tmp')).toMatchObject({ type: '5', mode: 0o1777 });
  });

  it('layers the listener script on node’s own layer blob', async () => {
    const node = await readImage(byRef(NODE_IMAGE).archive);
    const listener = await readImage(byRef(LISTENER_IMAGE).archive);
    expect(listener.manifest.layers[0]).toEqual(node.manifest.layers[0]);
    expect(listener.manifest.layers).toHaveLength(2);
    expect([...listener.layers[1]!.keys()]).toEqual(['listener.cjs']);
    expect(listener.layers[1]!.get('listener.cjs')!.content.equals(await readFile(LISTENER_SOURCE))).toBe(true);
    expect(listener.config.config).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: ['node', '/listener.cjs'], WorkingDir: '/' });
  });

  it.each([
    ['netcheck.local/coredns:1.12.0', 'coredns'],
    [PAUSE_IMAGE, 'pause'],
  ])('%s holds only its static binary', async (ref, binary) => {
    const image = await readImage(byRef(ref).archive);
    expect(image.layers).toHaveLength(1);
    expect([...image.layers[0]!.keys()]).toEqual([binary]);
    expect(image.layers[0]!.get(binary)).toMatchObject({ type: '0', mode: 0o755 });
    expect(image.config.config).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: [`/${binary}`], WorkingDir: '/' });
  });

  it('gives identical archives (so identical digests) for identical inputs', async () => {
    const again = await buildImages(join(scratch, 'again'), {
      coredns: join(scratch, 'bin', 'coredns'),
      pause: join(scratch, 'bin', 'pause'),
      corednsVersion: '1.12.0',
    });
    const digest = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
    for (const [i, first] of archives.entries()) expect(await digest(again[i]!.archive), first.ref).toBe(await digest(first.archive));
    expect(readdirSync(join(scratch, 'again')).sort()).toEqual(['coredns-1.12.0.oci.tar', 'listener-1.oci.tar', 'node-20.oci.tar', 'pause-3.10.1.oci.tar']);
    await rm(join(scratch, 'again'), { recursive: true });
  });

  it('refuses a dynamically linked coredns or pause, which would not start in an image without its libraries', async () => {
    await expect(buildImages(join(scratch, 'dynamic'), { coredns: '/usr/bin/node', pause: join(scratch, 'bin', 'pause') })).rejects.toThrow(/dynamically linked/);
  });
});

describe('listener.cjs', () => {
  it.skipIf(netnsSkip !== undefined)('answers HTTP 200 ok on any path, accepts raw TCP, echoes UDP, and exits 0 on SIGTERM', async () => {
    // A fresh, unnamed network namespace that lives as long as the listener: `ip netns add` would leave
    // /run/netns mounted on the machine after the namespace is gone.
    const listener = await startUntil(
      ['unshare', '--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, LISTENER_SOURCE, '18080/TCP', '15353/udp', '19000'],
      /listening on/,
    );
    try {
      const netnsPath = `/proc/${listener.child.pid}/ns/net`;
      const ipv6 = (await exec(['nsenter', `--net=${netnsPath}`, 'ip', '-6', 'addr', 'show', 'dev', 'lo'])).stdout.includes('::1/128');
      expect(listener.output()).toBe('listener: listening on 18080/TCP 15353/UDP 19000/TCP\n');
      expect(await probeListener(netnsPath, { tcp: 18080, rawTcp: 19000, udp: 15353 }, ipv6)).toEqual(expectedProbe(ipv6));
    } finally {
      listener.child.kill('SIGTERM');
    }
    expect(await listener.exited).toBe(0);
  });

  it.each([
    [[], /^listener: no ports given/],
    [['8080/SCTP'], /^listener: bad argument "8080\/SCTP"/],
    [['8080', '0'], /^listener: bad argument "0"/],
    [['70000/TCP'], /^listener: bad argument "70000\/TCP"/],
    [['http'], /^listener: bad argument "http"/],
    [['53/UDP', '53/udp'], /^listener: bad argument "53\/udp": 53\/UDP given twice/],
  ])('exits 2 with one line naming the bad argument: %j', async (args, message) => {
    const result = await exec([process.execPath, LISTENER_SOURCE, ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([expect.stringMatching(message), '']);
  });
});

describe.skipIf(containerdSkip !== undefined)('importImages into containerd 1.6 (CRI plugin on)', () => {
  const cgroupParent = `netcheck-images-test-${process.pid}`;
  let dir = '';
  let daemon: ChildProcess | undefined;
  let daemonExited: Promise<unknown> = Promise.resolve();
  let socket = '';
  let prefix: string[] = [];
  const ctr = (args: string[], timeoutMs?: number): Promise<Exit> => exec([...prefix, 'ctr', '--address', socket, '--namespace', 'k8s.io', ...args], timeoutMs);
  /** `ctr run --rm` under this test's cgroup parent (removed in afterAll); a fresh network namespace, as ctr's default. */
  const ctrRun = (id: string, image: string, args: string[]): string[] => ['run', '--rm', '--read-only', '--cgroup', `/${cgroupParent}/${id}`, image, id, ...args];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netcheck-containerd-test-'));
    socket = join(dir, 'containerd.sock');
    await writeFile(
      join(dir, 'config.toml'),
      `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni/bin"
    conf_dir = "${dir}/cni/conf"
`,
    );
    // Private mount namespace: containerd, its shims and runc insist on /run/containerd, which gets a tmpfs
    // here. Own network namespace: the CRI plugin's stream server listens on 127.0.0.1, not the machine's.
    const script = `ip link set lo up && mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/containerd && exec containerd --config ${dir}/config.toml`;
    const log: Buffer[] = [];
    daemon = spawn('unshare', ['--mount', '--net', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (c: Buffer) => log.push(c));
    daemon.stderr!.on('data', (c: Buffer) => log.push(c));
    daemonExited = new Promise((resolve) => daemon!.on('close', resolve));
    prefix = ['nsenter', `--mount=/proc/${daemon.pid}/ns/mnt`];
    const deadline = Date.now() + 30_000;
    while ((await ctr(['version'], 5_000)).code !== 0) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`containerd did not come up: ${Buffer.concat(log).toString().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    const cgroups = readdirSync('/sys/fs/cgroup')
      .map((h) => join('/sys/fs/cgroup', h, cgroupParent))
      .filter((d) => existsSync(d));
    const containers = (): string[] => cgroups.flatMap((d) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)));
    // A container a failed test left running: its processes are in its cgroup (the shim does not take them along).
    for (const cgroup of containers()) {
      for (const pid of readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) killQuietly(Number(pid));
    }
    if (daemon?.pid !== undefined) {
      const mountNs = readlinkSync(`/proc/${daemon.pid}/ns/mnt`);
      daemon.kill('SIGTERM');
      await Promise.race([daemonExited, new Promise((r) => setTimeout(r, 10_000))]);
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
      // The shims re-parent themselves away from containerd; they are the processes left in its mount namespace.
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          if (readlinkSync(`/proc/${pid}/ns/mnt`) === mountNs) killQuietly(Number(pid));
        } catch {
          // gone already
        }
      }
    }
    // runc removes a container's cgroup when it is deleted, but not the parent this test named.
    for (let attempt = 0; ; attempt++) {
      try {
        for (const cgroup of [...containers(), ...cgroups]) if (existsSync(cgroup)) rmdirSync(cgroup);
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100)); // killed processes are still being reaped
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports every image complete and unpacked, and the CRI plugin takes each as its own', async () => {
    await importImages(archives, ['--address', socket], prefix);
    const check = await ctr(['images', 'check']);
    for (const { ref } of archives) expect(check.stdout).toMatch(new RegExp(`^${ref.replace(/[.]/g, '\\.')}\\s.*complete \\((\\d+)/\\1\\).*\\strue\\s*$`, 'm'));
    // CRI's updateImage (on the ImageCreate event) names each image by its config digest and labels it managed.
    for (const { ref, archive } of archives) {
      const configDigest = (await readImage(archive)).manifest.config.digest;
      const deadline = Date.now() + 10_000;
      let list = '';
      while (Date.now() < deadline) {
        list = (await ctr(['images', 'ls'])).stdout;
        if (list.includes(`${configDigest} `) && new RegExp(`^${ref.replace(/[.]/g, '\\.')}\\s.*io\\.cri-containerd\\.image=managed`, 'm').test(list)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(list, ref).toContain(`${configDigest} `);
      expect(list, ref).toMatch(new RegExp(`^${ref.replace(/[.]/g, '\\.')}\\s.*io\\.cri-containerd\\.image=managed`, 'm'));
    }
  });

  it('runs node from the node image on a read-only root, resolving uid 65534 as nobody', async () => {
    const script = "process.setgid(65534); process.setuid(65534); const os = require('os'); console.log(os.platform(), os.userInfo().username, (require('fs').statSync('/tmp').mode & 0o7777).toString(8))";
    const result = await ctr(ctrRun('node', NODE_IMAGE, ['node', '-e', script]));
    expect(result).toMatchObject({ code: 0, stdout: 'linux nobody 1777\n' });
  });

  it('starts the listener by its entrypoint, which exits 2 with one line when given no ports or a bad one', async () => {
    const noArgs = await ctr(ctrRun('listener-noargs', LISTENER_IMAGE, []));
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^listener: no ports given/)]);
    // ctr replaces the whole process argv (entrypoint included) with its arguments; CRI appends them instead.
    const badArg = await ctr(ctrRun('listener-bad', LISTENER_IMAGE, ['node', '/listener.cjs', '8080/TCP', '1/bogus']));
    expect(badArg.code).toBe(2);
    expect(badArg.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^listener: bad argument "1\/bogus"/)]);
  });

  it('serves from the listener image in the container’s own network namespace and stops at once on SIGTERM', async () => {
    const pidFile = join(dir, 'listener.pid');
    const listener = await startUntil(
      [...prefix, 'ctr', '--address', socket, '--namespace', 'k8s.io', 'run', '--rm', '--read-only', '--pid-file', pidFile, '--cgroup', `/${cgroupParent}/listener-serve`, LISTENER_IMAGE, 'listener-serve', 'node', '/listener.cjs', '8080/TCP', '5353/UDP', '9000'],
      /listening on/,
    );
    try {
      const pid = (await readFile(pidFile, 'utf8')).trim();
      const ipv6 = (await exec(['nsenter', `--net=/proc/${pid}/ns/net`, 'ip', '-6', 'addr', 'show', 'dev', 'lo'])).stdout.includes('::1/128');
      expect(await probeListener(`/proc/${pid}/ns/net`, { tcp: 8080, rawTcp: 9000, udp: 5353 }, ipv6)).toEqual(expectedProbe(ipv6));
    } finally {
      await ctr(['tasks', 'kill', '--signal', 'SIGTERM', 'listener-serve']);
    }
    expect(await listener.exited).toBe(0);
  });

  it.each([
    ['netcheck.local/coredns:1.12.0', 'coredns stand-in\n'],
    [PAUSE_IMAGE, 'pause stand-in\n'],
  ])('runs %s by its entrypoint', async (ref, output) => {
    const id = ref.replace(/\W/g, '-');
    expect(await ctr(ctrRun(id, ref, []))).toMatchObject({ code: 0, stdout: output });
  });
  it('an image of host tools (hostToolEntries): the host\'s iptables backend with the extensions it dlopens, in a container of its own', async () => {
    const iptables = await iptablesTools();
    const image = await buildHostImage(join(dir, 'host-tools'), { ref: 'netcheck.local/host-tools:test', layers: [await hostToolEntries(iptables)] });
    await importImages([image], ['--address', socket], prefix);
    const hostVersion = (await exec(['iptables', '--version'])).stdout;
    const privileged = (id: string, args: string[]): string[] => ['run', '--rm', '--read-only', '--privileged', '--cgroup', `/${cgroupParent}/${id}`, image.ref, id, ...args];
    const version = await ctr(privileged('tools-version', ['iptables', '--version']));
    expect(version, version.stderr).toMatchObject({ code: 0, stdout: hostVersion });
    // A target and a match that live in extension modules (libxt_MASQUERADE.so, libxt_comment.so), as flanneld's
    // --ip-masq rule uses them; without the xtables tree iptables says "Couldn't load target".
    const rule = ['-t', 'nat', '-A', 'POSTROUTING', '-s', '10.244.0.0/16', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'MASQUERADE', '--random-fully'];
    expect(await ctr(privileged('tools-rule', ['iptables', ...rule]))).toMatchObject({ code: 0, stderr: '' });
  });
});
