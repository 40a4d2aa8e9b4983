/**
 * Flags shared by the offline commands (analyze, explain, lint): --manifests, --port, --protocol, -o,
 * and loading the manifests into a snapshot. Bad values become one-line UsageErrors (exit 2).
 * analyze and explain also read the live cluster instead (--kubeconfig/--context): withPolicySource.
 */
import { isAbsolute, relative } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../model/errors.js';
import { snapshotFromManifestFiles, type ManifestSnapshot } from '../policy/manifests.js';
import type { PortQuery } from '../policy/ports.js';
import type { ClusterSnapshot, Protocol } from '../policy/types.js';
import { readInputFiles } from '../scenario/files.js';
import { loadScenario } from '../scenario/load.js';

export interface ManifestArgs {
  manifests: string[];
}

/** --manifests, or the live cluster (--kubeconfig/--context): exactly one of the two. */
export interface PolicySourceArgs {
  manifests?: string[];
  kubeconfig?: string;
  context?: string;
  namespace?: string[];
}

export function withPolicySource<T>(yargs: Argv<T>): Argv<T & PolicySourceArgs> {
  return yargs
    .option('manifests', {
      alias: 'f',
      type: 'string',
      array: true,
      describe: 'manifest files or directories (YAML/JSON, read recursively); or read the live cluster with --kubeconfig/--context',
    })
    .option('kubeconfig', { type: 'string', describe: 'read the live cluster with this kubeconfig (instead of --manifests)' })
    .option('context', { type: 'string', describe: 'read the live cluster through this kubeconfig context (instead of --manifests)' })
    .option('namespace', {
      type: 'string',
      array: true,
      describe: 'live cluster with namespace-scoped rights: also read these namespaces (the context\'s is always read)',
    });
}

/** What analyze and explain judge: a snapshot, where it came from, and what could not be read. */
export interface PolicySource {
  snapshot: ClusterSnapshot;
  /** Manifest documents skipped, by kind (manifests only). */
  skipped: Record<string, number>;
  /** "manifests" or "cluster <context>": for the output's first note. */
  origin: 'manifests' | 'cluster';
  context?: string;
  /** What the cluster's rights did not let netcheck read, with what was assumed instead (cluster only). */
  notReadable: string[];
}

/**
 * The snapshot analyze/explain judge: the manifests, or the live cluster's policies, pods, namespaces and
 * services (the run's inventory). Both, or neither, is a one-line usage error. The cluster code is loaded only
 * when the cluster is asked for (it costs start-up time the offline commands do not pay).
 */
export async function loadPolicySource(argv: PolicySourceArgs, command: string, namespaces: string[] = []): Promise<PolicySource> {
  const live = argv.kubeconfig !== undefined || argv.context !== undefined;
  const liveFlags = [argv.kubeconfig !== undefined ? '--kubeconfig' : '', argv.context !== undefined ? '--context' : ''].filter(Boolean).join('/');
  if (live && argv.manifests !== undefined) {
    throw new UsageError(`--manifests and ${liveFlags}: give one: --manifests to read files, or ${liveFlags} to read the live cluster`);
  }
  if (!live && argv.namespace !== undefined) throw new UsageError('--namespace: reads the live cluster; give it with --kubeconfig or --context');
  if (!live) {
    if (argv.manifests === undefined) throw new UsageError(`${command} needs --manifests PATH, or --kubeconfig/--context to read the live cluster`);
    const { snapshot, skipped } = await loadManifests(argv.manifests);
    return { snapshot, skipped, origin: 'manifests', notReadable: [] };
  }
  const { connectCluster } = await import('../cluster/client.js');
  const client = await connectCluster({
    ...(argv.kubeconfig !== undefined ? { kubeconfig: argv.kubeconfig } : {}),
    ...(argv.context !== undefined ? { context: argv.context } : {}),
  });
  // With namespace-scoped rights only the context's namespace is listed; the ones the command names are read too.
  const wanted = [...namespaces, ...(argv.namespace ?? [])];
  const inventory = await client.inventory(wanted.length > 0 ? { alsoNamespaces: wanted } : {});
  return { snapshot: inventory, skipped: {}, origin: 'cluster', context: client.context, notReadable: inventory.unknown.map(assumedFor) };
}

/** An inventory `unknown` entry, with what the verdicts assume in its place. */
function assumedFor(what: string): string {
  if (what.startsWith('namespace labels') || what.startsWith('labels of namespace')) {
    return `${what}: namespaces are judged with only their kubernetes.io/metadata.name label`;
  }
  if (what.startsWith('nodes')) return `${what}: node addresses are unknown`;
  if (what.startsWith('endpointslices')) return `${what}: a Service's endpoints are its selector's pods, ready or not`;
  return `${what}: judged as if there were none`;
}

export function withManifests<T>(yargs: Argv<T>): Argv<T & ManifestArgs> {
  return yargs.option('manifests', {
    alias: 'f',
    type: 'string',
    array: true,
    demandOption: '--manifests PATH',
    describe: 'manifest files or directories (YAML/JSON, read recursively)',
  });
}

export function withOutput<T>(yargs: Argv<T>): Argv<T & { output: string }> {
  return yargs.option('output', {
    alias: 'o',
    type: 'string',
    // nargs: 1 so a bare `-o` is an error rather than yargs silently using the default.
    nargs: 1,
    default: 'table',
    describe: 'output format: table or json',
  });
}

export function withProtocol<T>(yargs: Argv<T>): Argv<T & { protocol?: string }> {
  return yargs.option('protocol', { type: 'string', describe: 'TCP (default), UDP or SCTP' });
}

export function parseOutput(value: string): 'table' | 'json' {
  if (value === 'table' || value === 'json') return value;
  throw new UsageError(`-o ${value}: unknown output format; use table or json`);
}

export function parseProtocol(value: string | undefined): Protocol | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (upper === 'TCP' || upper === 'UDP' || upper === 'SCTP') return upper;
  throw new UsageError(`--protocol ${value}: use TCP, UDP or SCTP`);
}

/** A port number (1-65535) or an IANA service name as container ports use (lowercase, ≤15 chars). */
export function parsePortFlag(value: string | number | undefined, flag = '--port'): PortQuery | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 65535) throw new UsageError(`${flag} ${text}: port numbers run from 1 to 65535`);
    return n;
  }
  if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(text) || !/[a-z]/.test(text)) {
    throw new UsageError(`${flag} ${text}: not a port number or a port name (lowercase letters, digits, '-', at most 15)`);
  }
  return text;
}

/** A path as the user would type it: relative to the working directory when it lies below it. */
function showPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const SCENARIO_DOCUMENT = /^kind:\s*["']?Scenario["']?\s*$/m;
const NETCHECK_API = /^apiVersion:\s*["']?netcheck\.io\//m;

/**
 * A netcheck scenario named where manifests belong (`--manifests scenario.yaml`) would otherwise be skipped as an
 * unknown kind and leave "nothing to analyze": point at the manifests it names instead. Inside a directory a
 * scenario file is skipped like any other kind, so `--manifests scenarios/financial-ml` works.
 */
async function rejectScenarioFile(path: string, text: string): Promise<void> {
  if (!SCENARIO_DOCUMENT.test(text) || !NETCHECK_API.test(text)) return;
  const scenario = await loadScenario(path).catch(() => undefined);
  if (scenario === undefined) {
    throw new UsageError(`${path} is a netcheck Scenario, not Kubernetes manifests`, { hint: `\`netcheck validate ${path}\` says what is wrong with it` });
  }
  const manifests = scenario.manifests.map(showPath);
  if (manifests.length === 0) {
    throw new UsageError(`${path} is a netcheck Scenario, not Kubernetes manifests, and it names no manifests`, {
      hint: 'give --manifests the directory of the YAML your cluster runs',
    });
  }
  throw new UsageError(`${path} is a netcheck Scenario, not Kubernetes manifests; its manifests are ${manifests.join(', ')}`, {
    hint: `give ${manifests.map((m) => `--manifests ${m}`).join(' ')}`,
  });
}

/** Kinds the manifest reader counts for documents that are no Kubernetes object. */
const NOT_KUBERNETES = new Set(['(no kind)', '(not an object)', 'Scenario']);

export async function loadManifests(paths: string[]): Promise<ManifestSnapshot> {
  if (paths.length === 0) throw new UsageError('--manifests: name at least one file or directory');
  const files = await readInputFiles(paths);
  if (files.length === 0) throw new UsageError(`--manifests ${paths.join(' ')}: no .yaml, .yml or .json files found`);
  for (const file of files) if (paths.includes(file.path)) await rejectScenarioFile(file.path, file.text);
  const loaded = snapshotFromManifestFiles(files);
  // Nothing Kubernetes at all is a wrong path (a Helm values file, an unrendered chart), never a clean bill of health.
  const { pods, policies, services, namespaces, nodes } = loaded.snapshot;
  const objects = pods.length + policies.length + services.length + namespaces.length + nodes.length +
    Object.entries(loaded.skipped).reduce((sum, [kind, count]) => sum + (NOT_KUBERNETES.has(kind) ? 0 : count), 0);
  if (objects === 0) {
    const read = files.length === 1 ? 'the file holds' : `its ${files.length} files hold`;
    throw new UsageError(`--manifests ${paths.join(' ')}: ${read} no Kubernetes objects (no document with apiVersion and kind)`, {
      hint: 'give the YAML your cluster runs (rendered: `helm template`, `kustomize build`)',
    });
  }
  return loaded;
}
