/**
 * The test cluster's container images, built from this machine's own files (no registry, no Docker) as OCI
 * image-layout tars that `ctr -n k8s.io images import` loads:
 *
 *   netcheck.local/node:20            /usr/bin/node, the libraries it links and the loader, passwd/group/nsswitch, /tmp
 *   netcheck.local/listener:1         node:20's layer plus /listener.cjs (its entrypoint)
 *   netcheck.local/coredns:<version>  a static coredns at /coredns
 *   netcheck.local/pause:3.10.1       a static pause at /pause
 *   netcheck.local/kube-netcheck:test netcheck itself, as deploy/image/Containerfile lays it out (buildNetcheckImage)
 *
 * Every tar entry has mtime 0, uid/gid 0 and a normalised mode, entries are sorted and gzip is Node's zlib,
 * so the same inputs give the same digests. The listener shares node's layer blob (one copy in containerd).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { CommandError, runCommand } from './run-command.js';

export interface ImageArchive {
  ref: string;
  /** Path of the OCI image-layout tar. */
  archive: string;
}

export interface ImageInputs {
  /** A static coredns binary. */
  coredns: string;
  /** A static pause binary. */
  pause: string;
  /** Tag of the coredns image; `local` when not given. */
  corednsVersion?: string;
  /** The node binary to package; this machine's /usr/bin/node when not given. */
  node?: string;
}

export const NODE_IMAGE = 'netcheck.local/node:20';
export const LISTENER_IMAGE = 'netcheck.local/listener:1';
export const PAUSE_IMAGE = 'netcheck.local/pause:3.10.1';
export const NETCHECK_IMAGE = 'netcheck.local/kube-netcheck:test';
/** deploy/image/Containerfile's user: a non-root uid with no passwd entry needed. */
const NETCHECK_USER = '1000:1000';
export function corednsImage(version = 'local'): string {
  return `netcheck.local/coredns:${version}`;
}

export const LISTENER_SOURCE = fileURLToPath(new URL('./listener.cjs', import.meta.url));

export class ImageBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageBuildError';
  }
}

/** An image made of layers of host files (see hostToolEntries), for a CNI's DaemonSet. */
export interface HostImage {
  ref: string;
  /** Each layer's entries, base first. */
  layers: LayerEntry[][];
  entrypoint?: string[];
  cmd?: string[];
  /** The config's User (absent: root, as the other images). */
  user?: string;
}

/** Builds one image from layers of entries into `outDir` (`<name>-<tag>.oci.tar`). */
export async function buildHostImage(outDir: string, image: HostImage): Promise<ImageArchive> {
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const blobs = new BlobStore(work);
    const layers: Layer[] = [];
    for (const entries of image.layers) layers.push(await blobs.addLayer(entries));
    return await writeImageArchive(blobs, { ref: image.ref, layers, entrypoint: image.entrypoint, cmd: image.cmd, user: image.user }, outDir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Builds the four images into `outDir` (one `<name>-<tag>.oci.tar` each) and returns them in a stable order. */
export async function buildImages(outDir: string, inputs: ImageInputs): Promise<ImageArchive[]> {
  await Promise.all([assertStaticElf(inputs.coredns), assertStaticElf(inputs.pause)]);
  await mkdir(outDir, { recursive: true });
  // Blobs are staged next to the archives (same filesystem, so renames stay renames) and dropped afterwards.
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const blobs = new BlobStore(work);
    const runtime = await blobs.addLayer(await nodeRuntimeEntries(inputs.node ?? '/usr/bin/node'));
    const listener = await blobs.addLayer([await hostFile('listener.cjs', LISTENER_SOURCE)]);
    const coredns = await blobs.addLayer([await hostFile('coredns', inputs.coredns)]);
    const pause = await blobs.addLayer([await hostFile('pause', inputs.pause)]);
    const images: ImageDefinition[] = [
      { ref: NODE_IMAGE, layers: [runtime], entrypoint: undefined, cmd: ['node'] },
      { ref: LISTENER_IMAGE, layers: [runtime, listener], entrypoint: ['node', '/listener.cjs'], cmd: undefined },
      { ref: corednsImage(inputs.corednsVersion), layers: [coredns], entrypoint: ['/coredns'], cmd: undefined },
      { ref: PAUSE_IMAGE, layers: [pause], entrypoint: ['/pause'], cmd: undefined },
    ];
    const archives: ImageArchive[] = [];
    for (const image of images) archives.push(await writeImageArchive(blobs, image, outDir));
    return archives;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * netcheck's own image, for the in-cluster Job: what deploy/image/Containerfile builds, made here without a
 * container engine or registry (neither exists on the machines that run the tests). The app layer is laid out
 * by the same deploy/image/assemble-app.sh the Containerfile runs; only the base differs — this machine's node
 * (the runtime layer of NODE_IMAGE) instead of node:22-alpine — so entrypoint, user and /app match.
 */
export async function buildNetcheckImage(outDir: string, options: { node?: string } = {}): Promise<ImageArchive> {
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const app = join(work, 'app');
    await runCommand(['sh', ASSEMBLE_APP, app]);
    const blobs = new BlobStore(work);
    const runtime = await blobs.addLayer(await nodeRuntimeEntries(options.node ?? '/usr/bin/node'));
    const appLayer = await blobs.addLayer(await treeEntries(app, 'app'));
    return await writeImageArchive(
      blobs,
      { ref: NETCHECK_IMAGE, layers: [runtime, appLayer], entrypoint: ['node', '/app/dist/bin/main.js'], cmd: ['--help'], user: NETCHECK_USER, workingDir: '/tmp' },
      outDir,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const ASSEMBLE_APP = fileURLToPath(new URL('../../deploy/image/assemble-app.sh', import.meta.url));

/**
 * Imports the archives into containerd's `k8s.io` namespace, unpacked into ctr's default snapshotter
 * (overlayfs, which the CRI plugin uses too), and checks each is complete and unpacked.
 *
 * Nothing CRI-specific is needed: containerd 1.6's CRI plugin subscribes to image events of its namespace
 * (ImageCreate/ImageUpdate → updateImage, pkg/cri/server/events.go), adds the `sha256:<config>` id reference
 * and the `io.cri-containerd.image=managed` label itself, and rescans the namespace when it starts
 * (restart.go loadImages). Unpacking saves the first container start its unpack (CRI would do it then).
 * `ctrArgv` goes between `ctr` and the subcommand (e.g. `['--address', sock]`); `prefix` runs ctr inside
 * containerd's mount namespace (e.g. `['nsenter', '--mount=/proc/PID/ns/mnt']`).
 */
export async function importImages(archives: ImageArchive[], ctrArgv: string[], prefix: string[] = []): Promise<void> {
  const ctr = [...prefix, 'ctr', ...ctrArgv, '--namespace', 'k8s.io'];
  for (const image of archives) {
    try {
      await runCommand([...ctr, 'images', 'import', image.archive]);
    } catch (err) {
      throw new ImageBuildError(`importing ${image.ref} from ${image.archive} failed`, { cause: err });
    }
  }
  const { stdout } = await runCommand([...ctr, 'images', 'check']);
  const unready = archives.filter((image) => !imageCheckReady(stdout, image.ref));
  if (unready.length > 0) {
    throw new ImageBuildError(`after import, not complete and unpacked in containerd: ${unready.map((i) => i.ref).join(', ')}\n${stdout}`);
  }
}

/** True when `ctr images check` lists `ref` with all its content present and unpacked. */
export function imageCheckReady(checkOutput: string, ref: string): boolean {
  return checkOutput.split('\n').some((line) => {
    const columns = line.trim().split(/\s+/);
    return columns[0] === ref && /\bcomplete \((\d+)\/\1\)/.test(line) && columns.at(-1) === 'true';
  });
}

// --- image definitions → OCI layout --------------------------------------------------------------------------

const MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json';
const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MEDIA_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** containerd names an imported image by this annotation (before the OCI ref name, which it reads as a tag). */
const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
// Docker's default PATH: host tools such as iptables live in the sbin directories.
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface Layer {
  blob: Descriptor;
  /** Digest of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
}

interface ImageDefinition {
  ref: string;
  layers: Layer[];
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  /** Absent: root, as the base images' configs say nothing. */
  user?: string;
  workingDir?: string;
}

/** Platform of the images: the machine's, since their binaries are the machine's. */
function imagePlatform(arch: string = process.arch): { architecture: string; os: string } {
  const architecture = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch];
  if (architecture === undefined) throw new ImageBuildError(`no OCI architecture name for node's arch ${arch}`);
  return { architecture, os: 'linux' };
}

class BlobStore {
  private readonly dir: string;

  constructor(work: string) {
    this.dir = join(work, 'blobs', 'sha256');
  }

  path(digest: string): string {
    return join(this.dir, digest.replace(/^sha256:/, ''));
  }

  async addJson(mediaType: string, value: unknown): Promise<Descriptor> {
    const data = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    await mkdir(this.dir, { recursive: true });
    const handle = await open(this.path(digest), 'w');
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    return { mediaType, digest, size: data.length };
  }

  /** Writes the entries as a gzipped tar, hashing both sides of the compressor in one pass. */
  async addLayer(entries: LayerEntry[]): Promise<Layer> {
    await mkdir(this.dir, { recursive: true });
    const partial = join(this.dir, `.partial-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const diffHash = createHash('sha256');
    const blobHash = createHash('sha256');
    let size = 0;
    await pipeline(
      Readable.from(tarStream(layerTarEntries(entries))),
      hashTap(diffHash),
      createGzip({ level: 6 }),
      hashTap(blobHash, (n) => (size += n)),
      createWriteStream(partial),
    );
    const digest = `sha256:${blobHash.digest('hex')}`;
    await rename(partial, this.path(digest));
    return { blob: { mediaType: MEDIA_LAYER_GZIP, digest, size }, diffId: `sha256:${diffHash.digest('hex')}` };
  }
}

function hashTap(hash: Hash, onBytes: (n: number) => void = () => undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

async function writeImageArchive(blobs: BlobStore, image: ImageDefinition, outDir: string): Promise<ImageArchive> {
  const platform = imagePlatform();
  // Field order is fixed by these literals, so the JSON (and its digest) is too.
  const config = await blobs.addJson(MEDIA_CONFIG, {
    architecture: platform.architecture,
    os: platform.os,
    config: {
      Env: [`PATH=${IMAGE_PATH}`],
      ...(image.entrypoint === undefined ? {} : { Entrypoint: image.entrypoint }),
      ...(image.cmd === undefined ? {} : { Cmd: image.cmd }),
      ...(image.user === undefined ? {} : { User: image.user }),
      WorkingDir: image.workingDir ?? '/',
    },
    rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffId) },
  });
  const manifest = await blobs.addJson(MEDIA_MANIFEST, {
    schemaVersion: 2,
    mediaType: MEDIA_MANIFEST,
    config,
    layers: image.layers.map((l) => l.blob),
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_INDEX,
    manifests: [
      {
        ...manifest,
        platform,
        annotations: { [ANNOTATION_CONTAINERD_NAME]: image.ref, [ANNOTATION_REF_NAME]: image.ref },
      },
    ],
  };
  const digests = [...new Set([config.digest, manifest.digest, ...image.layers.map((l) => l.blob.digest)])].sort();
  const blobEntries = await Promise.all(
    digests.map(async (d): Promise<TarEntry> => {
      const path = blobs.path(d);
      return { name: `blobs/sha256/${basename(path)}`, type: 'file', mode: 0o644, size: (await stat(path)).size, content: path };
    }),
  );
  const entries: TarEntry[] = [
    { name: 'blobs', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256', type: 'dir', mode: 0o755 },
    ...blobEntries,
    jsonEntry('index.json', index),
    jsonEntry('oci-layout', { imageLayoutVersion: '1.0.0' }),
  ];
  entries.sort((a, b) => compareStrings(a.name, b.name));
  const archive = join(outDir, `${archiveName(image.ref)}.oci.tar`);
  const partial = `${archive}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(tarStream(entries)), createWriteStream(partial));
    await rename(partial, archive);
  } finally {
    await rm(partial, { force: true });
  }
  return { ref: image.ref, archive };
}

function jsonEntry(name: string, value: unknown): TarEntry {
  const content = Buffer.from(JSON.stringify(value));
  return { name, type: 'file', mode: 0o644, size: content.length, content };
}

/** `netcheck.local/coredns:1.12.0` → `coredns-1.12.0`. */
function archiveName(ref: string): string {
  const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
  return lastPart.replace(/[^A-Za-z0-9._-]/g, '-');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- layer contents ------------------------------------------------------------------------------------------

/** A file system entry of a layer; paths are relative to the image root, without a leading slash. */
export type LayerEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; size: number; content: string | Buffer }
  | { kind: 'symlink'; path: string; target: string };

const PASSWD = 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';
const NSSWITCH = 'passwd: files\ngroup: files\nhosts: files dns\n';

/** node, every library `ldd` names (through the host's symlinks, kept as symlinks), and the bits of /etc node reads. */
async function nodeRuntimeEntries(node: string): Promise<LayerEntry[]> {
  const libraries = parseLdd((await runCommand(['ldd', node])).stdout, node);
  const entries: LayerEntry[] = [];
  for (const path of [node, ...libraries]) entries.push(...(await hostPathEntries(path)));
  entries.push(
    dataFile('etc/passwd', PASSWD),
    dataFile('etc/group', GROUP),
    dataFile('etc/nsswitch.conf', NSSWITCH),
    // Writable by anyone, sticky: the usual /tmp, for a container that mounts something over it or runs read-write.
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
  );
  return entries;
}

export interface HostTools {
  /** Host paths (`/usr/sbin/iptables`), each placed at its own path through the host's symlinks: a tool
   * reached through /etc/alternatives resolves in the image exactly as on this machine. */
  binaries?: string[];
  /** Host files placed at another path in the image (`/opt/bin/flanneld` from the build cache). */
  files?: Array<{ path: string; source: string }>;
  /** Host directories packed whole at their own path, e.g. the xtables extensions iptables dlopens. */
  trees?: string[];
}

/**
 * A layer's entries for tools taken from this machine, with every shared library `ldd` names for each ELF
 * among them (a dlopened module's own dependencies included), as nodeRuntimeEntries does for node. What a CNI's
 * image needs from the host: iptables (the backend kube-proxy uses here), ipset, ip, and a dynamic (cgo) daemon.
 */
export async function hostToolEntries({ binaries = [], files = [], trees = [] }: HostTools): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const elves: string[] = [];
  for (const binary of binaries) {
    entries.push(...(await hostPathEntries(binary)));
    elves.push(binary);
  }
  for (const file of files) {
    entries.push(await hostFile(file.path.replace(/^\//, ''), file.source));
    elves.push(file.source);
  }
  for (const given of trees) {
    // Its real path: a tree under a symlinked parent (merged-/usr's /lib) would clash with that symlink's entry.
    const tree = await realpath(given);
    const treeEntriesAtHostPath = await treeEntries(tree, tree.replace(/^\//, ''));
    entries.push(...treeEntriesAtHostPath);
    for (const e of treeEntriesAtHostPath) if (e.kind === 'file') elves.push(`/${e.path}`);
  }
  const libraries = new Set<string>();
  for (const path of elves) for (const library of await sharedLibraries(path)) libraries.add(library);
  for (const library of [...libraries].sort()) entries.push(...(await hostPathEntries(library)));
  return entries;
}

/**
 * iptables as this machine's kube-proxy runs it (through /etc/alternatives: nft here, `iptables v1.8.9
 * (nf_tables)`), with -save/-restore and the extensions it dlopens from libxtables' directory: a CNI that programs
 * rules next to kube-proxy's must use the same backend, or each side sees only its own rules.
 */
export async function iptablesTools(): Promise<HostTools> {
  const { stdout } = await runCommand(['ldd', await realpath('/usr/sbin/iptables')]);
  const libxtables = parseLdd(stdout, 'iptables').find((p) => basename(p).startsWith('libxtables.so'));
  if (libxtables === undefined) throw new ImageBuildError('iptables links no libxtables: cannot find its extensions');
  return {
    binaries: ['/usr/sbin/iptables', '/usr/sbin/iptables-save', '/usr/sbin/iptables-restore'],
    trees: [join(dirname(await realpath(libxtables)), 'xtables')],
  };
}

/** The libraries `ldd` names for a dynamic ELF file; none for a static one or a file that is not ELF. */
async function sharedLibraries(path: string): Promise<string[]> {
  const handle = await open(path, 'r');
  const magic = Buffer.alloc(4);
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (magic.readUInt32BE(0) !== 0x7f454c46) return [];
  try {
    return parseLdd((await runCommand(['ldd', path])).stdout, path, { requireLoader: false });
  } catch (err) {
    // glibc's ldd exits 1 with this line on stderr for a static binary: nothing to add.
    if (err instanceof CommandError && /not a dynamic executable/.test(err.stderr)) return [];
    throw new ImageBuildError(`ldd ${path} failed`, { cause: err });
  }
}

/** Absolute paths of the shared objects in `ldd` output (the vDSO has none and is skipped). */
export function parseLdd(output: string, binary: string, { requireLoader = true } = {}): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    if (/not found/.test(line)) throw new ImageBuildError(`${binary} needs a library this machine lacks: ${line.trim()}`);
    const match = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line);
    if (match?.[1] !== undefined) paths.push(match[1]);
  }
  if (requireLoader && !paths.some((p) => basename(p).startsWith('ld-linux') || basename(p).startsWith('ld64'))) {
    throw new ImageBuildError(`ldd of ${binary} names no dynamic loader; output:\n${output}`);
  }
  return paths;
}

/**
 * The entries that make `abs` resolve inside the image as it does on this machine: each symlink met on the
 * way (merged-/usr's /lib → usr/lib, a library's soname link) becomes a symlink entry, and the file at the end
 * a regular file.
 */
async function hostPathEntries(abs: string, depth = 0): Promise<LayerEntry[]> {
  if (depth > 40) throw new ImageBuildError(`too many symlinks resolving ${abs}`);
  const parts = abs.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const here = `/${parts.slice(0, i + 1).join('/')}`;
    const info = await lstat(here);
    if (info.isSymbolicLink()) {
      const target = await readlink(here);
      const rest = parts.slice(i + 1).join('/');
      const next = posix.resolve(posix.dirname(here), target, rest);
      return [{ kind: 'symlink', path: here.slice(1), target }, ...(await hostPathEntries(next, depth + 1))];
    }
    if (i === parts.length - 1) return [await hostFile(here.slice(1), here)];
    if (!info.isDirectory()) throw new ImageBuildError(`${here} is not a directory (resolving ${abs})`);
  }
  throw new ImageBuildError(`cannot package the root directory (${abs})`);
}

async function hostFile(path: string, source: string): Promise<LayerEntry> {
  const info = await stat(source);
  if (!info.isFile()) throw new ImageBuildError(`${source} is not a regular file`);
  return { kind: 'file', path, mode: info.mode & 0o111 ? 0o755 : 0o644, size: info.size, content: source };
}

/** Every entry under `root` (files, directories, symlinks as they are), placed under `imagePath`. */
async function treeEntries(root: string, imagePath: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [{ kind: 'dir', path: imagePath, mode: 0o755 }];
  for (const name of (await readdir(root)).sort()) {
    const source = join(root, name);
    const path = posix.join(imagePath, name);
    const info = await lstat(source);
    if (info.isSymbolicLink()) entries.push({ kind: 'symlink', path, target: await readlink(source) });
    else if (info.isDirectory()) entries.push(...(await treeEntries(source, path)));
    else entries.push(await hostFile(path, source));
  }
  return entries;
}

function dataFile(path: string, text: string): LayerEntry {
  const content = Buffer.from(text);
  return { kind: 'file', path, mode: 0o644, size: content.length, content };
}

/** Adds the parent directories (0755), drops exact duplicates, rejects conflicts, sorts parents first. */
function layerTarEntries(entries: LayerEntry[]): TarEntry[] {
  const byPath = new Map<string, LayerEntry>();
  const add = (entry: LayerEntry): void => {
    const existing = byPath.get(entry.path);
    if (existing === undefined) byPath.set(entry.path, entry);
    else if (JSON.stringify(existing) !== JSON.stringify(entry)) throw new ImageBuildError(`two different entries for /${entry.path} in one layer`);
  };
  for (const entry of entries) {
    for (let dir = posix.dirname(entry.path); dir !== '.'; dir = posix.dirname(dir)) {
      if (!byPath.has(dir)) add({ kind: 'dir', path: dir, mode: 0o755 });
    }
    add(entry);
  }
  return [...byPath.values()]
    .sort((a, b) => compareStrings(a.path, b.path))
    .map((e): TarEntry => {
      switch (e.kind) {
        case 'dir':
          return { name: e.path, type: 'dir', mode: e.mode };
        case 'file':
          return { name: e.path, type: 'file', mode: e.mode, size: e.size, content: e.content };
        case 'symlink':
          return { name: e.path, type: 'symlink', mode: 0o777, target: e.target };
      }
    });
}

/** Rejects a binary that needs a dynamic loader: the coredns and pause images hold nothing but the binary. */
async function assertStaticElf(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) {
      throw new ImageBuildError(`${path} is not a 64-bit little-endian ELF executable`);
    }
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const PT_INTERP = 3;
      if (table.readUInt32LE(i * phentsize) === PT_INTERP) throw new ImageBuildError(`${path} is dynamically linked; the image needs a static binary`);
    }
  } finally {
    await handle.close();
  }
}

// --- tar (ustar) --------------------------------------------------------------------------------------------

type TarEntry =
  | { name: string; type: 'dir'; mode: number }
  | { name: string; type: 'file'; mode: number; size: number; content: string | Buffer }
  | { name: string; type: 'symlink'; mode: number; target: string };

const BLOCK = 512;

/** A ustar stream: fixed owner (0:0) and mtime (0), the entries in the given order, two zero blocks at the end. */
async function* tarStream(entries: TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const size = entry.type === 'file' ? entry.size : 0;
    yield tarHeader(entry, size);
    if (entry.type !== 'file') continue;
    let written = 0;
    if (typeof entry.content === 'string') {
      for await (const chunk of createReadStream(entry.content)) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    } else {
      written = entry.content.length;
      yield entry.content;
    }
    if (written !== size) throw new ImageBuildError(`${String(entry.content)} changed size while being packed (${size} → ${written} bytes)`);
    if (size % BLOCK !== 0) yield Buffer.alloc(BLOCK - (size % BLOCK));
  }
  yield Buffer.alloc(2 * BLOCK);
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const fullName = entry.type === 'dir' ? `${entry.name}/` : entry.name;
  const [prefix, name] = splitTarName(fullName);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, entry.mode & 0o7777, 100, 8);
  writeOctal(header, 0, 108, 8); // uid
  writeOctal(header, 0, 116, 8); // gid
  writeOctal(header, size, 124, 12);
  writeOctal(header, 0, 136, 12); // mtime
  header.fill(' ', 148, 156); // checksum counts as spaces while summing
  header.write({ file: '0', dir: '5', symlink: '2' }[entry.type], 156, 1, 'ascii');
  if (entry.type === 'symlink') {
    if (Buffer.byteLength(entry.target) > 100) throw new ImageBuildError(`symlink target too long for ustar: ${entry.target}`);
    header.write(entry.target, 157, 100, 'utf8');
  }
  header.write('ustar\u000000', 257, 8, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return header;
}

/** ustar keeps names over 100 bytes as prefix (≤155) + '/' + name (≤100). */
function splitTarName(fullName: string): [string, string] {
  if (Buffer.byteLength(fullName) <= 100) return ['', fullName];
  for (let cut = fullName.indexOf('/'); cut !== -1; cut = fullName.indexOf('/', cut + 1)) {
    const prefix = fullName.slice(0, cut);
    const name = fullName.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return [prefix, name];
  }
  throw new ImageBuildError(`path too long for ustar: ${fullName}`);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new ImageBuildError(`value ${value} does not fit a ${length}-byte tar field`);
  header.write(`${digits.padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
