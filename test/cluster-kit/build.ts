/**
 * buildComponents(): the test cluster's binaries, compiled from pinned upstream sources into a cache keyed by
 * everything that decides their bytes, so that only the first run on a machine pays for the build. It is a
 * step of its own, apart from starting a cluster, as kind keeps `build node-image` apart from `create cluster`.
 *
 *   kube         k8s.io/kubernetes as one multi-call binary: etcd, kube-apiserver, kube-controller-manager,
 *                kube-scheduler, kubelet, kube-proxy (components/kube)
 *   coredns      CoreDNS with its default plugin set (components/coredns)
 *   kube-router  kube-router's command; the cluster runs only its NetworkPolicy controller (components/kube-router)
 *   pause        the pause.c of that Kubernetes release, static
 *   calico-*     Calico's calico-node (felix and friends), CNI plugin, CNI installer, kube-controllers and
 *                check-status, each upstream's own main package (components/calico); only where the
 *                projectcalico/api module the proxy does not serve is provided (calicoUnavailable())
 *   flanneld, flannel-install-conf
 *                flannel's daemon (cgo, as upstream builds it on amd64: its udp backend needs it) and the
 *                install-conf command its DaemonSet's init container runs (components/flannel)
 *   kubectl      kubectl v1.29.9, the one Calico's flannel-migration controller image ships (components/kubectl);
 *                built with Calico only
 *   helm         Helm's command (components/helm), for the chart tests (helm lint, helm template, helm install);
 *                no image carries it
 *
 * `tsx test/cluster-kit/build.ts` builds what is missing, reports progress on stderr and prints the paths as JSON.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CommandError, runCommand } from './run-command.js';

/** The upstream versions the cluster is made of. The wrappers' go.mod files must agree; a build checks. */
export const VERSIONS = {
  kubernetes: 'v1.35.4',
  etcd: 'v3.6.5',
  coredns: 'v1.15.0',
  kubeRouter: 'v2.1.0',
  /** The newest tag the Go module proxy lists. */
  flannel: 'v0.28.11',
  /**
   * The only version of github.com/projectcalico/calico the module proxy serves: branch release-v3.28 after
   * v3.28.5 (commit a0db560f0520 of 2025-08-13), named after a cni-plugin tag of old. Its go.mod pins k8s.io v0.29.15.
   */
  calico: 'v1.11.0-cni-plugin.0.20250813170300-a0db560f0520',
  /**
   * The kubectl Calico's flannel-migration controller image ships (that commit's metadata.mk K8S_VERSION): the
   * controller runs `kubectl drain --delete-local-data`, which the kubectl of VERSIONS.kubernetes rejects.
   */
  migrationKubectl: 'v1.29.9',
  /** TAG in build/pause/Makefile of that Kubernetes release. */
  pause: '3.10.1',
  helm: 'v4.3.2',
} as const;

export type Versions = typeof VERSIONS & { go: string };

export interface Components {
  kube: string;
  coredns: string;
  kubeRouter: string;
  pause: string;
  /** flanneld, dynamically linked (cgo): its image carries the libraries it links. */
  flanneld: string;
  flannelInstallConf: string;
  /** Absent where Calico cannot be built (calicoUnavailable() says why). */
  calico?: CalicoBinaries;
  /** kubectl VERSIONS.migrationKubectl, for the flannel migration controller's image; built with Calico only. */
  migrationKubectl?: string;
  /** Helm's command, for the chart tests; run from this machine, never inside the cluster. */
  helm: string;
  /** Where artefacts derived from the binaries (the images) are kept, keyed by those binaries. */
  cacheDir: string;
  versions: Versions;
}

/** Calico's binaries (components/calico) and the module source they were built from (manifests, scripts). */
export interface CalicoBinaries {
  /** node/cmd/calico-node: felix, -startup, -allocate-tunnel-addrs, ... (one multi-call binary upstream). */
  node: string;
  /** cni-plugin/cmd/calico: the CNI plugin, and calico-ipam when called by that name. */
  cni: string;
  /** cni-plugin/cmd/install: what the install-cni init container runs. */
  install: string;
  kubeControllers: string;
  /** kube-controllers/cmd/check-status: the kube-controllers Deployment's probes. */
  checkStatus: string;
  /** The pinned module's directory in the Go module cache. */
  source: string;
}

/**
 * What Calico's images are tagged with: the branch and commit, since the proxy's pseudo-version names no Calico
 * release (`git describe` of that commit, what upstream stamps, is not known here).
 */
export const CALICO_RELEASE = 'release-v3.28-a0db560f0520';
/**
 * What the binaries report, and calico-node writes into ClusterInformation: it must be semver, because every
 * calico-node after the first parses it (libcalico-go's upgrade/migrator, "dotted-tri format") and exits on
 * anything else. The last release of the branch, with the commit as build metadata (no precedence claimed).
 */
export const CALICO_VERSION = 'v3.28.5+a0db560f0520';
const CALICO_BUILD_DATE = '2025-08-13T17:03:00Z';
const CALICO_COMMIT = 'a0db560f0520';

/** github.com/projectcalico/api, which the proxy refuses and components/calico/go.mod replaces with this folder. */
export const CALICO_API_DIR = fileURLToPath(new URL('../../../shared/third_party/projectcalico-api', import.meta.url));

/** Why Calico cannot be built on this checkout, in one line; undefined when it can. */
export function calicoUnavailable(): string | undefined {
  if (existsSync(join(CALICO_API_DIR, 'go.mod'))) return undefined;
  return `Calico needs github.com/projectcalico/api in ${CALICO_API_DIR} (the Go module proxy refuses it; see issue 20)`;
}

export interface BuildOptions {
  /** One line when a component starts and when it is done, and a summary. */
  onProgress?(line: string): void;
}

export class ComponentBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ComponentBuildError';
  }
}

const COMPONENTS_DIR = fileURLToPath(new URL('./components/', import.meta.url));

// Release times of the tags as the module proxy reports them: a build date that does not change from one
// build to the next keeps the binaries, and so the cache key, a function of the sources alone.
const KUBE_BUILD_DATE = '2026-04-15T18:01:22Z';
const KUBE_ROUTER_BUILD_DATE = '2024-03-02T21:45:54Z';

/** Every go command's environment; CGO_ENABLED is each recipe's own (see goRecipe). */
const GO_ENV: Record<string, string> = {
  // The wrappers live in this repository; stamping its commit would change every binary on every commit.
  GOFLAGS: '-buildvcs=false',
  // The key records the local toolchain; a go.mod asking for a newer one must fail, not download it.
  GOTOOLCHAIN: 'local',
  GOWORK: 'off',
};

/** The wrappers' go.mod must select exactly the versions VERSIONS claims. */
const PINS: ReadonlyArray<{ wrapper: string; module: string; version: string }> = [
  { wrapper: 'kube', module: 'k8s.io/kubernetes', version: VERSIONS.kubernetes },
  { wrapper: 'kube', module: 'go.etcd.io/etcd/server/v3', version: VERSIONS.etcd },
  { wrapper: 'coredns', module: 'github.com/coredns/coredns', version: VERSIONS.coredns },
  { wrapper: 'kube-router', module: 'github.com/cloudnativelabs/kube-router/v2', version: VERSIONS.kubeRouter },
  { wrapper: 'calico', module: 'github.com/projectcalico/calico', version: VERSIONS.calico },
  { wrapper: 'kubectl', module: 'k8s.io/kubectl', version: VERSIONS.migrationKubectl.replace(/^v1\./, 'v0.') },
  { wrapper: 'flannel', module: 'github.com/flannel-io/flannel', version: VERSIONS.flannel },
  { wrapper: 'helm', module: 'helm.sh/helm/v4', version: VERSIONS.helm },
];

interface Toolchain {
  go: string;
  goos: string;
  goarch: string;
  gcc: string;
  libc: string;
}

interface Recipe {
  /** The binary's file name, and its name in progress lines. */
  name: 'kube' | 'coredns' | 'kube-router' | 'pause' | 'flanneld' | 'flannel-install-conf' | CalicoRecipe | 'kubectl' | 'helm';
  version: string;
  /** Besides the toolchain, everything that decides the binary's bytes: what the cache key is made of. */
  inputs: unknown;
  build(out: string): Promise<void>;
}

function cacheRoot(): string {
  // `||`, not `??`: an empty variable counts as unset, as `${VAR:-default}` does in a shell.
  return process.env.NETCHECK_CLUSTER_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'netcheck-cluster');
}

/** Where each component is (or would be) cached, and which of them are not built yet; builds nothing. */
async function planComponents(): Promise<{ components: Components; missing: Recipe[]; toolchain: Toolchain }> {
  const toolchain = await readToolchain();
  const recipes = await planRecipes();
  const calicoSource = calicoUnavailable() === undefined ? await calicoModuleDir() : undefined;
  // One cache entry per component, keyed by what decides its bytes: adding or bumping one component (a CNI, say)
  // rebuilds that one, never the 30-minute Kubernetes build beside it.
  const binaries = new Map(recipes.map((recipe) => [recipe.name, join(entryDir(toolchain, recipe), recipe.name)]));
  const path = (name: Recipe['name']): string => binaries.get(name) as string;
  const components: Components = {
    kube: path('kube'),
    coredns: path('coredns'),
    kubeRouter: path('kube-router'),
    pause: path('pause'),
    flanneld: path('flanneld'),
    flannelInstallConf: path('flannel-install-conf'),
    helm: path('helm'),
    ...(calicoSource === undefined
      ? {}
      : {
          calico: {
            node: path('calico-node'),
            cni: path('calico-cni'),
            install: path('calico-install'),
            kubeControllers: path('calico-kube-controllers'),
            checkStatus: path('calico-check-status'),
            source: calicoSource,
          },
          migrationKubectl: path('kubectl'),
        }),
    // Images are derived from the binaries they carry; their directory is keyed by those binaries' entries
    // (helm is in no image: adding or bumping it must not rebuild them).
    cacheDir: join(cacheRoot(), `derived-${sha256(JSON.stringify([...binaries].filter(([name]) => !NOT_IN_IMAGES.has(name)).map(([, bin]) => bin))).slice(0, 16)}`),
    versions: { ...VERSIONS, go: toolchain.go },
  };

  // A binary only ever appears under its final name complete (see buildOne), so existing means done.
  const missing = recipes.filter((recipe) => !existsSync(path(recipe.name)));
  return { components, missing, toolchain };
}

/**
 * Helm's binary when the cache holds it, else undefined: the chart tests skip rather than start a build of their
 * own (`npm run cluster -- build`, or any cluster's start, builds it).
 */
export async function builtHelm(): Promise<string | undefined> {
  const { components } = await planComponents();
  return existsSync(components.helm) ? components.helm : undefined;
}

export async function buildComponents(options: BuildOptions = {}): Promise<Components> {
  const progress = options.onProgress ?? (() => undefined);
  const { components, missing, toolchain } = await planComponents();
  if (missing.length === 0) {
    progress(`build: components cached in ${cacheRoot()}`);
    return components;
  }

  await checkPins();
  const started = performance.now();
  for (const recipe of missing) {
    // sequential: go build already uses every core
    const dir = entryDir(toolchain, recipe);
    await mkdir(dir, { recursive: true });
    await removeAbandonedPartials(dir);
    await buildOne(recipe, dir, toolchain, progress);
  }
  const { stdout } = await runCommand(['du', '-sh', cacheRoot()]);
  progress(`build: ${missing.map((r) => r.name).join(', ')} built in ${secondsSince(started)} s; ${cacheRoot()} takes ${stdout.split('\t')[0]}`);
  return components;
}

async function buildOne(recipe: Recipe, binDir: string, toolchain: Toolchain, progress: (line: string) => void): Promise<void> {
  const target = join(binDir, recipe.name);
  // The pid in the name lets a later run tell an abandoned partial file from one still being written.
  const partial = `${target}.partial-${process.pid}-${randomBytes(3).toString('hex')}`;
  const compiler = recipe.name === 'pause' ? `gcc ${toolchain.gcc}` : toolchain.go;
  progress(`build: ${recipe.name} ${recipe.version} (${compiler})…`);
  const started = performance.now();
  try {
    await recipe.build(partial);
    await rename(partial, target);
  } catch (error) {
    throw new ComponentBuildError(`building ${recipe.name} ${recipe.version} failed: ${describeFailure(error)}`, { cause: error });
  } finally {
    await rm(partial, { force: true });
  }
  const { size } = await stat(target);
  progress(`build: ${recipe.name} ${recipe.version} done in ${secondsSince(started)} s, ${(size / 2 ** 20).toFixed(1)} MiB`);
}

async function planRecipes(): Promise<Recipe[]> {
  const [major, minor] = VERSIONS.kubernetes.replace(/^v/, '').split('.');
  const kubeVars = { gitVersion: VERSIONS.kubernetes, gitMajor: major, gitMinor: minor, gitTreeState: 'clean', buildDate: KUBE_BUILD_DATE };
  // Both packages answer --version somewhere: component-base for the servers, client-go for their clients.
  const kubeLdflags = ['-s', '-w', ...Object.entries(kubeVars).flatMap(([name, value]) => ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].map((pkg) => `-X ${pkg}.${name}=${value}`))];
  // gitTag marks a release build; GitCommit stays empty, as the module proxy does not say which commit the tag is.
  const corednsLdflags = ['-s', '-w', `-X github.com/coredns/coredns/coremain.gitTag=${VERSIONS.coredns}`];
  const routerVersionPkg = 'github.com/cloudnativelabs/kube-router/v2/pkg/version';
  const routerLdflags = ['-s', '-w', `-X ${routerVersionPkg}.Version=${VERSIONS.kubeRouter}`, `-X ${routerVersionPkg}.BuildDate=${KUBE_ROUTER_BUILD_DATE}`];
  // flannel's Makefile also passes -extldflags -static (its image is musl alpine); here the binary stays dynamic
  // against this machine's glibc and images.ts packs the libraries `ldd` names.
  const flannelLdflags = ['-s', '-w', `-X github.com/flannel-io/flannel/pkg/version.Version=${VERSIONS.flannel}`];
  const helmVersionPkg = 'helm.sh/helm/v4/internal/version';
  const helmLdflags = ['-w', '-s', `-X ${helmVersionPkg}.version=${VERSIONS.helm}`, `-X ${helmVersionPkg}.metadata=`, `-X ${helmVersionPkg}.gitTreeState=clean`];
  const [kubectlMajor, kubectlMinor] = VERSIONS.migrationKubectl.replace(/^v/, '').split('.');
  const kubectlVars = { gitVersion: VERSIONS.migrationKubectl, gitMajor: kubectlMajor, gitMinor: kubectlMinor, gitTreeState: 'clean' };
  const kubectlLdflags = ['-s', '-w', ...Object.entries(kubectlVars).flatMap(([name, value]) => ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].map((pkg) => `-X ${pkg}.${name}=${value}`))];

  // Cheapest first, so that a broken wrapper fails in seconds rather than after the long kube build.
  return [
    await pauseRecipe(),
    // grpcnotrace as CoreDNS's Makefile builds it: leaves golang.org/x/net/trace out.
    await goRecipe({ name: 'coredns', version: VERSIONS.coredns, ldflags: corednsLdflags, extraFlags: ['-tags', 'grpcnotrace'] }),
    await goRecipe({ name: 'kube-router', version: VERSIONS.kubeRouter, ldflags: routerLdflags }),
    await goRecipe({ name: 'flannel-install-conf', wrapper: 'flannel', pkg: 'github.com/flannel-io/flannel/cmd/install_conf', version: VERSIONS.flannel, ldflags: ['-s', '-w'] }),
    await goRecipe({ name: 'flanneld', wrapper: 'flannel', pkg: 'github.com/flannel-io/flannel', version: VERSIONS.flannel, ldflags: flannelLdflags, cgo: true }),
    ...(calicoUnavailable() === undefined ? await calicoRecipes() : []),
    // Only a migration to Calico needs it.
    ...(calicoUnavailable() === undefined ? [await goRecipe({ name: 'kubectl', version: VERSIONS.migrationKubectl, ldflags: kubectlLdflags })] : []),
    // As helm's Makefile builds a release tag (metadata empty, tree clean; no commit: the proxy does not say it).
    await goRecipe({ name: 'helm', pkg: 'helm.sh/helm/v4/cmd/helm', version: VERSIONS.helm, ldflags: helmLdflags }),
    await goRecipe({ name: 'kube', version: VERSIONS.kubernetes, ldflags: kubeLdflags }),
  ];
}

/** Components no image carries, so that the images' cache key leaves them out. */
const NOT_IN_IMAGES: ReadonlySet<Recipe['name']> = new Set(['helm']);

interface GoRecipeSpec {
  name: Exclude<Recipe['name'], 'pause'>;
  version: string;
  ldflags: string[];
  extraFlags?: string[];
  /** The wrapper module under components/ (default: the recipe's name). */
  wrapper?: string;
  /** The package to build (default: the wrapper's own main package). */
  pkg?: string;
  /** cgo on (a dynamic binary) for a component upstream builds with cgo; static otherwise, as upstream releases
   * kube, coredns and kube-router (images.ts puts coredns alone in an image). */
  cgo?: boolean;
}

type CalicoRecipe = 'calico-node' | 'calico-cni' | 'calico-install' | 'calico-kube-controllers' | 'calico-check-status';

/** Five upstream main packages of one module, linked with the version variables their Makefiles set. */
async function calicoRecipes(): Promise<Recipe[]> {
  const ldflags = [
    '-s',
    '-w',
    // cni-plugin, kube-controllers and check-status: `-X main.VERSION` (their Makefiles); calico-node: node/Makefile's.
    `-X main.VERSION=${CALICO_VERSION}`,
    `-X github.com/projectcalico/calico/node/pkg/lifecycle/startup.VERSION=${CALICO_VERSION}`,
    `-X github.com/projectcalico/calico/node/buildinfo.GitVersion=${CALICO_VERSION}`,
    `-X github.com/projectcalico/calico/node/buildinfo.BuildDate=${CALICO_BUILD_DATE}`,
    `-X github.com/projectcalico/calico/node/buildinfo.GitRevision=${CALICO_COMMIT}`,
  ];
  const packages: Array<[CalicoRecipe, string]> = [
    ['calico-check-status', 'kube-controllers/cmd/check-status'],
    ['calico-install', 'cni-plugin/cmd/install'],
    ['calico-cni', 'cni-plugin/cmd/calico'],
    ['calico-kube-controllers', 'kube-controllers/cmd/kube-controllers'],
    ['calico-node', 'node/cmd/calico-node'],
  ];
  // The API module sits outside the wrapper, so its files are inputs of their own.
  const api = sha256(JSON.stringify(await hashTree(CALICO_API_DIR)));
  const recipes: Recipe[] = [];
  for (const [name, pkg] of packages) {
    const recipe = await goRecipe({ name, wrapper: 'calico', pkg: `github.com/projectcalico/calico/${pkg}`, version: VERSIONS.calico, ldflags });
    recipes.push({ ...recipe, inputs: { go: recipe.inputs, api } });
  }
  return recipes;
}

/** The pinned Calico module's source (its manifests, node/filesystem), downloaded into the module cache if needed. */
export async function calicoModuleDir(): Promise<string> {
  return moduleDir('calico', `github.com/projectcalico/calico@${VERSIONS.calico}`);
}

/** Where the module cache holds `module@version` (downloaded through the wrapper's go.sum when missing). */
async function moduleDir(wrapper: string, moduleAtVersion: string): Promise<string> {
  const { stdout } = await runCommand(goArgv(join(COMPONENTS_DIR, wrapper), ['mod', 'download', '-json', moduleAtVersion]));
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

async function goRecipe({ name, version, ldflags, extraFlags = [], wrapper = name, pkg = '.', cgo = false }: GoRecipeSpec): Promise<Recipe> {
  const dir = join(COMPONENTS_DIR, wrapper);
  const flags = ['-trimpath', ...extraFlags, '-ldflags', ldflags.join(' ')];
  // CGO_ENABLED first and `pkg` only when not '.': the inputs, and so the cache keys, of the components built
  // before these two knobs existed stay what they were (no 30-minute Kubernetes rebuild).
  const env = { CGO_ENABLED: cgo ? '1' : '0', ...GO_ENV };
  return {
    name,
    version,
    inputs: { env, flags, ...(pkg === '.' ? {} : { pkg }), sources: await hashFiles(dir) },
    build: async (out) => {
      await runCommand(goArgv(dir, ['build', ...flags, '-o', out, pkg], env));
    },
  };
}

async function pauseRecipe(): Promise<Recipe> {
  const { stdout } = await runCommand(goArgv(join(COMPONENTS_DIR, 'kube'), ['mod', 'download', '-json', `k8s.io/kubernetes@${VERSIONS.kubernetes}`]));
  const source = join((JSON.parse(stdout) as { Dir: string }).Dir, 'build', 'pause', 'linux', 'pause.c');
  // CFLAGS of build/pause/Makefile; REV there is `git describe --contains` of the release commit, i.e. the tag.
  const cflags = ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${VERSIONS.pause}-${VERSIONS.kubernetes}`];
  return {
    name: 'pause',
    version: VERSIONS.pause,
    inputs: { cflags, source: sha256(await readFile(source)) },
    build: async (out) => {
      await runCommand(['gcc', ...cflags, '-o', out, source]);
      await runCommand(['strip', out]); // as the Makefile does after gcc
    },
  };
}

function goArgv(dir: string, args: string[], env: Record<string, string> = GO_ENV): string[] {
  return ['env', ...Object.entries(env).map(([name, value]) => `${name}=${value}`), 'go', '-C', dir, ...args];
}

async function readToolchain(): Promise<Toolchain> {
  const [goEnv, gcc, libc] = await Promise.all([
    runCommand(goArgv(COMPONENTS_DIR, ['env', 'GOVERSION', 'GOOS', 'GOARCH'])),
    runCommand(['gcc', '-dumpfullversion']),
    runCommand(['getconf', 'GNU_LIBC_VERSION']), // pause links libc statically
  ]);
  const [go = '', goos = '', goarch = ''] = goEnv.stdout.trim().split('\n');
  return { go, goos, goarch, gcc: gcc.stdout.trim(), libc: libc.stdout.trim() };
}

/** A component's cache entry: one directory per component and key. */
function entryDir(toolchain: Toolchain, recipe: Recipe): string {
  return join(cacheRoot(), `${recipe.name}-${cacheKey(toolchain, recipe)}`);
}

function cacheKey(toolchain: Toolchain, { name, version, inputs }: Recipe): string {
  return sha256(JSON.stringify({ toolchain, name, version, inputs })).slice(0, 16);
}

async function checkPins(): Promise<void> {
  // components/calico resolves only where the API module is provided.
  const wrappers = [...new Set(PINS.map((pin) => pin.wrapper))].filter((w) => w !== 'calico' || calicoUnavailable() === undefined);
  for (const wrapper of wrappers) {
    const pins = PINS.filter((pin) => pin.wrapper === wrapper);
    // `go list -m` rather than reading go.mod: it answers after replace directives and minimal version selection.
    const { stdout } = await runCommand(goArgv(join(COMPONENTS_DIR, wrapper), ['list', '-m', '-f', '{{.Path}} {{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}', ...pins.map((pin) => pin.module)]));
    const selected = new Map(stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
    for (const pin of pins) {
      if (selected.get(pin.module) !== pin.version) {
        throw new ComponentBuildError(`components/${wrapper} selects ${pin.module} ${selected.get(pin.module) ?? '(none)'}, but VERSIONS says ${pin.version}`);
      }
    }
  }
}

/** Partial files whose writer is gone: a build killed between writing and renaming. */
async function removeAbandonedPartials(binDir: string): Promise<void> {
  for (const file of await readdir(binDir)) {
    const pid = /\.partial-(\d+)-/.exec(file)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) await rm(join(binDir, file), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A wrapper module's sources (go.mod, go.sum, main.go), by content; a stray binary beside them is not one. */
async function hashFiles(dir: string): Promise<Record<string, string>> {
  const files = (await readdir(dir)).filter((file) => /^go\.(mod|sum)$|\.go$/.test(file)).sort();
  return Object.fromEntries(await Promise.all(files.map(async (file) => [file, sha256(await readFile(join(dir, file)))] as const)));
}

/** Every file under `dir` by relative path and content (the API module: 137 files, 2 MB). */
async function hashTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(out, await hashTree(dir, rel));
    else if (entry.isFile()) out[rel] = sha256(await readFile(join(dir, rel)));
  }
  return out;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function secondsSince(start: number): string {
  return ((performance.now() - start) / 1000).toFixed(1);
}

function describeFailure(error: unknown): string {
  // A compiler's complaint is at the end of its output; the argv (with its long ldflags) is in the cause.
  if (error instanceof CommandError) return `exit ${error.code}\n${error.stderr.trim().split('\n').slice(-20).join('\n')}`;
  return error instanceof Error ? error.message : String(error);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const components = await buildComponents({ onProgress: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(`${JSON.stringify(components, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
