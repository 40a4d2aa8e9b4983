/**
 * Flannel → Calico on a running test cluster, one node at a time, by Calico's own machinery: the pinned commit's
 * manifests/flannel-migration/calico.yaml (calico-node as a DaemonSet that runs only on nodes labelled
 * `projectcalico.org/node-network-during-migration=calico`) and manifests/flannel-migration/migration-job.yaml
 * (kube-controllers with ENABLED_CONTROLLERS=flannelmigration, as a Job), applied as a platform team applies them.
 *
 * The controller migrates every node, one after another (kube-controllers/pkg/controllers/flannelmigration):
 * it labels each node `…=flannel` and copies Flannel's VTEP (node annotations) into Calico's IPAM and Node
 * resources, then per node: in-progress label, `kubectl drain`, label `none` (the Flannel pod leaves), a
 * remove-flannel pod deletes flannel.1 and cni0 and writes a dummy CNI config, the node's pods are deleted, label
 * `calico` (calico-node starts), a check-calico pod waits for vxlan.calico, `kubectl uncordon`, in-progress label
 * removed. Node by node control comes from its test hook: a node labelled
 * `projectcalico.org/flannel-migration-pause-seconds=N` is not touched until the label goes (network_migrator.go
 * MigrateNodes). So every node is labelled before the controller starts, and `migrateNode(NODE)` removes NODE's
 * label and waits until the controller reports NODE done. Its order is fixed by the controller (sorted by name,
 * control-plane nodes and the node it runs on last); the Job prefers the last node, so the order is node-a,
 * node-b, ... A node out of that order is refused, naming the one the controller takes next.
 *
 * What differs from upstream's manifests, and why (each is the same edit the kit makes for `cni: calico`):
 *   - images: calico-node/cni/kube-controllers from calico.ts, and netcheck.local/flannel-migration-controller
 *     (kube-controllers, check-status, and kubectl v1.29.9 at /usr/bin/kubectl as upstream's image ships it:
 *     the controller runs `kubectl drain --delete-local-data`, a flag later kubectl releases reject);
 *   - CNI_CONFIG_DIR: the nodes' CNI conf dir (configs.ts NODE_CNI_CONF_DIR) instead of /etc/cni/net.d;
 *   - the Job prefers the last node (node affinity, so it can move when that node is drained).
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CALICO_RELEASE, calicoUnavailable, type Components } from './build.js';
import { buildCalicoImages, CALICO_FLANNEL_MIGRATION_MANIFEST, calicoImageRefs, editCalicoManifest, readCalicoManifest } from './calico.js';
import { NODE_CNI_CONF_DIR } from './configs.js';
import { buildHostImage, hostToolEntries, importImages, type ImageArchive, type LayerEntry } from './images.js';
import { liveSessions } from './outside-host-netcheck.js';
import { runCommand } from './run-command.js';

export const MIGRATION_LABEL = 'projectcalico.org/node-network-during-migration';
export const IN_PROGRESS_LABEL = 'projectcalico.org/node-flannel-migration-in-progress';
/** The controller's test hook: a node carrying it is migrated only once it is removed (or its seconds ran out). */
export const PAUSE_LABEL = 'projectcalico.org/flannel-migration-pause-seconds';
/** The controller waits at most this long for the label, then migrates anyway: longer than any test holds a node. */
const PAUSE_SECONDS = '86400';
const NAMESPACE = 'kube-system';
const JOB = 'flannel-migration';
const CONTROLLER_LABEL = 'k8s-app=flannel-migration-controller';
const CALICO_NODE_LABEL = 'k8s-app=calico-node';
export const MIGRATION_MANIFESTS = [CALICO_FLANNEL_MIGRATION_MANIFEST, 'manifests/flannel-migration/migration-job.yaml'];
/** A node's migration takes the controller a drain, two helper pods and calico-node's start: minutes on a busy machine. */
const NODE_MIGRATION_TIMEOUT_MS = 10 * 60_000;

export function migrationControllerImage(tag: string): string {
  return `netcheck.local/flannel-migration-controller:${tag}`;
}

/** What migration needs of a cluster: its directory, admin kubeconfig and nodes (a RunningCluster has them). */
export interface MigrationTarget {
  dir: string;
  kubeconfigPath: string;
  nodes: ReadonlyArray<{ name: string; netns: string }>;
}

export interface MigrationOptions {
  components: Components;
  onProgress?: (line: string) => void;
}

/** Where a node stands, as the controller's labels and the node's own state say. */
export interface NodeMigrationState {
  node: string;
  network?: string;
  inProgress: boolean;
  paused: boolean;
  unschedulable: boolean;
  calicoReady: boolean;
}

type Obj = Record<string, any>;

const kubectl = (target: MigrationTarget, args: string[], input?: string) =>
  runCommand(['kubectl', '--kubeconfig', target.kubeconfigPath, ...args], input !== undefined ? { input } : {});

async function getJson<T = Obj>(target: MigrationTarget, args: string[]): Promise<T> {
  return JSON.parse((await kubectl(target, ['get', ...args, '-o', 'json'])).stdout) as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The flannel-migration controller's image: as upstream's docker-image/flannel-migration/Dockerfile lays it out. */
export async function buildMigrationControllerImage(outDir: string, components: Components): Promise<ImageArchive> {
  const calico = components.calico;
  if (calico === undefined || components.migrationKubectl === undefined) throw new Error(`migration: ${calicoUnavailable() ?? 'the components were built without Calico'}`);
  // Upstream: /status/status.json owned by user 999, which the controller runs as and check-status reads.
  const status: LayerEntry = { kind: 'file', path: 'status/status.json', mode: 0o666, size: 0, content: Buffer.alloc(0) };
  return buildHostImage(outDir, {
    ref: migrationControllerImage(CALICO_RELEASE),
    layers: [
      [
        ...(await hostToolEntries({
          files: [
            { path: '/usr/bin/kubectl', source: components.migrationKubectl },
            { path: '/usr/bin/kube-controllers', source: calico.kubeControllers },
            { path: '/usr/bin/check-status', source: calico.checkStatus },
          ],
        })),
        status,
        { kind: 'dir', path: 'tmp', mode: 0o1777 },
      ],
    ],
    entrypoint: ['/usr/bin/kube-controllers'],
    user: '999',
  });
}

/** Upstream's flannel-migration manifests with the kit's edits (see the header). */
export function migrationObjects(components: Components, nodeNames: readonly string[]): Obj[] {
  const calico = components.calico;
  if (calico === undefined) throw new Error(`migration: ${calicoUnavailable() ?? 'the components were built without Calico'}`);
  const [calicoYaml, jobYaml] = MIGRATION_MANIFESTS.map((m) => readCalicoManifest(calico, m));
  const job = structuredClone(jobYaml as Obj[]);
  const last = [...nodeNames].sort().at(-1);
  for (const o of job) {
    if (o.kind !== 'Job') continue;
    const pod = o.spec.template.spec as Obj;
    for (const c of pod.containers as Obj[]) {
      c.image = migrationControllerImage(CALICO_RELEASE);
      (c.env ??= []).push({ name: 'CNI_CONFIG_DIR', value: NODE_CNI_CONF_DIR });
    }
    if (last !== undefined) {
      pod.affinity = {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [last] }] } }] },
      };
    }
  }
  return [...editCalicoManifest(calicoYaml as Obj[], { images: calicoImageRefs(CALICO_RELEASE) }), ...job];
}

/** The PID of a node's containerd (its mount namespace holds the node's /run and /var/lib), found by its netns. */
async function containerdPid(netns: string): Promise<number> {
  const { stdout } = await runCommand(['ip', 'netns', 'pids', netns]);
  for (const pid of stdout.split('\n').filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'containerd') return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`migration: no containerd runs in ${netns}`);
}

/** Loads images into every node's containerd, as a registry pull would have (the kit has no registry). */
export async function importIntoNodes(target: MigrationTarget, archives: ImageArchive[]): Promise<void> {
  for (const node of target.nodes) {
    const pid = await containerdPid(node.netns);
    await importImages(archives, ['--address', join(target.dir, node.name, 'containerd.sock')], ['nsenter', `--mount=/proc/${pid}/ns/mnt`]);
  }
}

/**
 * Installs Calico the way the migration procedure does (idempotent): pause-label every node, load the images,
 * apply flannel-migration/calico.yaml and the migration Job. The controller then prepares IPAM and waits at the
 * first node's pause label.
 */
export async function startMigration(target: MigrationTarget, options: MigrationOptions): Promise<void> {
  const progress = options.onProgress ?? (() => undefined);
  const jobs = await getJson<{ items: Obj[] }>(target, ['jobs', '-n', NAMESPACE, '--field-selector', `metadata.name=${JOB}`]);
  if (jobs.items.length > 0) return;
  const flannel = await getJson<{ items: Obj[] }>(target, ['daemonsets', '-A', '-l', 'app=flannel']);
  if (flannel.items.length === 0) throw new Error('migration: this cluster runs no Flannel DaemonSet (start it with --cni flannel)');
  // Before the controller starts: it reads the label once per node, when it comes to the node.
  progress(`migration: labelling every node ${PAUSE_LABEL}=${PAUSE_SECONDS} (the controller waits at each until the label goes)`);
  for (const node of target.nodes) await kubectl(target, ['label', 'node', node.name, `${PAUSE_LABEL}=${PAUSE_SECONDS}`, '--overwrite']);
  progress(`migration: images calico-node, calico-cni, calico-kube-controllers, flannel-migration-controller (${CALICO_RELEASE})`);
  const imagesDir = join(options.components.cacheDir, 'images');
  const images = [...(await buildCalicoImages(imagesDir, options.components.calico!, CALICO_RELEASE)), await buildMigrationControllerImage(imagesDir, options.components)];
  await importIntoNodes(target, images);
  progress(`migration: applying ${MIGRATION_MANIFESTS.join(', ')} of the pinned commit`);
  const objects = migrationObjects(options.components, target.nodes.map((n) => n.name));
  await kubectl(target, ['apply', '--server-side', '--field-manager=netcheck-cluster', '--force-conflicts', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/** Every node's migration state. */
export async function readMigrationStates(target: MigrationTarget): Promise<NodeMigrationState[]> {
  const [nodes, pods] = await Promise.all([
    getJson<{ items: Obj[] }>(target, ['nodes']),
    getJson<{ items: Obj[] }>(target, ['pods', '-n', NAMESPACE, '-l', CALICO_NODE_LABEL]),
  ]);
  return nodes.items.map((n): NodeMigrationState => {
    const labels = (n.metadata.labels ?? {}) as Record<string, string>;
    const calico = pods.items.find((p) => p.spec?.nodeName === n.metadata.name);
    const ready = (calico?.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    return {
      node: n.metadata.name,
      ...(labels[MIGRATION_LABEL] !== undefined ? { network: labels[MIGRATION_LABEL] } : {}),
      inProgress: labels[IN_PROGRESS_LABEL] === 'true',
      paused: labels[PAUSE_LABEL] !== undefined,
      unschedulable: n.spec?.unschedulable === true,
      calicoReady: ready,
    };
  });
}

/** The controller's log (its newest pod), for the node it waits at and for error messages. */
async function controllerLog(target: MigrationTarget): Promise<string> {
  const pods = await getJson<{ items: Obj[] }>(target, ['pods', '-n', NAMESPACE, '-l', CONTROLLER_LABEL, '--sort-by', '.metadata.creationTimestamp']);
  const newest = pods.items.at(-1);
  if (newest === undefined) return '';
  try {
    return (await kubectl(target, ['logs', '-n', NAMESPACE, newest.metadata.name])).stdout;
  } catch {
    return '';
  }
}

/** The node the controller waits at ("Waiting for node X label … to disappear"), if it waits at one. */
export function nodeAwaited(log: string): string | undefined {
  const waits = [...log.matchAll(/Waiting for node (\S+) label projectcalico\.org\/flannel-migration-pause-seconds to disappear/g)];
  return waits.at(-1)?.[1];
}

/** Done as the controller leaves a node: Calico label (removed from all once the last is done), no in-progress, uncordoned, calico-node Ready. */
function migrated(state: NodeMigrationState, complete: boolean): boolean {
  return (state.network === 'calico' || (complete && state.network === undefined)) && !state.inProgress && !state.unschedulable && state.calicoReady && !state.paused;
}

async function jobComplete(target: MigrationTarget): Promise<boolean> {
  const job = await getJson(target, ['job', '-n', NAMESPACE, JOB]).catch(() => undefined);
  return (job?.status?.conditions ?? []).some((c: Obj) => c.type === 'Complete' && c.status === 'True');
}

/**
 * Migrates `node` from Flannel to Calico: starts the migration if it is not started, lets the controller take
 * the node, and returns once the controller reports it done. Throws, naming the node the controller takes next,
 * when `node` is not it.
 */
export async function migrateNode(target: MigrationTarget, node: string, options: MigrationOptions): Promise<NodeMigrationState> {
  const progress = options.onProgress ?? (() => undefined);
  if (!target.nodes.some((n) => n.name === node)) throw new Error(`migrate: no node ${node} (nodes: ${target.nodes.map((n) => n.name).join(', ')})`);
  await startMigration(target, options);
  const before = (await readMigrationStates(target)).find((s) => s.node === node);
  if (before !== undefined && migrated(before, await jobComplete(target))) {
    progress(`migrate: ${node} runs Calico already`);
    return before;
  }
  // The controller reaches its first pause only after IPAM is migrated for every node: wait for it to say where.
  const deadline = Date.now() + NODE_MIGRATION_TIMEOUT_MS;
  let awaited: string | undefined;
  while ((awaited = nodeAwaited(await controllerLog(target))) === undefined) {
    if (Date.now() > deadline) throw new Error(`migrate: the flannel migration controller never reached a node; its log ends:\n${(await controllerLog(target)).trim().split('\n').slice(-15).join('\n')}`);
    await sleep(1_000);
  }
  if (awaited !== node) {
    throw new Error(`migrate: the flannel migration controller migrates ${awaited} next, not ${node} (it takes nodes by name, its own node last): migrate ${awaited} first`);
  }
  progress(`migrate: ${node}: removing ${PAUSE_LABEL}; the controller drains it, removes Flannel, starts calico-node, uncordons it`);
  await kubectl(target, ['label', 'node', node, `${PAUSE_LABEL}-`]);
  for (;;) {
    const state = (await readMigrationStates(target)).find((s) => s.node === node);
    const complete = await jobComplete(target);
    if (state !== undefined && migrated(state, complete)) {
      if (complete) {
        // The last node done, the controller drops calico-node's nodeSelector: its DaemonSet rolls a new pod onto
        // every node (felix restarts everywhere). The migration is over once that rollout is.
        progress('migrate: every node migrated; the controller removed Flannel\'s DaemonSet; waiting for calico-node\'s rollout');
        const left = Math.max(1, Math.round((deadline - Date.now()) / 1000));
        await kubectl(target, ['rollout', 'status', '-n', NAMESPACE, 'daemonset/calico-node', `--timeout=${left}s`]);
      }
      progress(`migrate: ${node} runs Calico (calico-node Ready, uncordoned)`);
      return state;
    }
    if (Date.now() > deadline) {
      throw new Error(`migrate: ${node} not migrated after ${NODE_MIGRATION_TIMEOUT_MS / 60_000} min (${JSON.stringify(state)}); the controller's log ends:\n${(await controllerLog(target)).trim().split('\n').slice(-15).join('\n')}`);
    }
    await sleep(1_000);
  }
}

/**
 * The running cluster a `migrate` (or fault) command acts on: `dir`, else NETCHECK_CLUSTER_DIR, else the only
 * live cluster on this machine (`up` writes its session once ready); more than one, or none, is an error.
 */
export async function targetFromDir(dir: string | undefined): Promise<MigrationTarget> {
  const chosen = dir ?? (process.env.NETCHECK_CLUSTER_DIR || undefined);
  const sessions = liveSessions().filter((s) => basename(s.dir).startsWith('netcheck-cluster-'));
  const session = chosen !== undefined ? sessions.find((s) => s.dir === resolve(chosen)) : sessions.length === 1 ? sessions[0] : undefined;
  if (session === undefined) {
    if (chosen !== undefined) throw new Error(`no running cluster in ${chosen} (running: ${sessions.map((s) => s.dir).join(', ') || 'none'})`);
    throw new Error(sessions.length === 0 ? 'no running cluster: start one with `npm run cluster -- up --cni flannel`' : `${sessions.length} clusters run: name one with --dir (${sessions.map((s) => s.dir).join(', ')})`);
  }
  // Namespaces are named nkc-<id>-<node>, <id> being the directory's suffix (cluster.ts).
  const id = basename(session.dir).slice('netcheck-cluster-'.length);
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  const prefix = `nkc-${id}-`;
  const nodes = stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}node-`))
    .map((netns) => ({ name: netns.slice(prefix.length), netns }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { dir: session.dir, kubeconfigPath: session.kubeconfig, nodes };
}
