/**
 * `npm run cluster -- up [--nodes N] [--cni kube-router|flannel|calico] [--enforce all|none|node-a,...]
 * [--manifests DIR...]`: builds the pinned
 * components if no cached build exists, starts a real cluster, prints `kubeconfig: <path>`,
 * `outside-host: <netns>`, `probe-image: <ref>` and `ready` (tooling waits for these lines, keep them exactly
 * so), then stays up until SIGINT/SIGTERM, `npm run cluster -- down`, or the death of its parent; the teardown
 * then finishes whatever signals follow (`npm run cluster` runs as `node --import tsx`, without tsx's relay).
 * `npm run cluster -- migrate NODE [--dir DIR]` moves one node of a running `--cni flannel` cluster to Calico
 * (migrate.ts), printing `migrated: NODE` once Calico's migration controller reports it done.
 * `npm run cluster -- build` only builds (progress, cold time, disk); `down` stops every cluster on the machine
 * (or `--dir` one) by signalling its owner.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { listenForStop } from '../../src/cli/stop-signals.js';
import { buildComponents } from './build.js';
import { startCluster, type Enforcement } from './cluster.js';
import { CNI_NAMES, type CniName } from './cni.js';
import { migrateNode, targetFromDir } from './migrate.js';
import { writeSession } from './outside-host-netcheck.js';

const log = (line: string): void => void process.stderr.write(`cluster: ${line}\n`);

function parseEnforce(value: string): Enforcement {
  if (value === 'all' || value === 'none') return value;
  const nodes = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (nodes.length === 0) throw new Error(`--enforce: give all, none or node names (node-a,node-b), got "${value}"`);
  return nodes;
}

async function up(argv: { nodes: number; cni: CniName; enforce: string | undefined; manifests: string[] }): Promise<void> {
  // Handlers go in before anything starts, so a signal during start-up still ends in a full teardown; every signal
  // after the first is absorbed (src/cli/stop-signals.ts says where the repeats come from).
  const stop = listenForStop({
    onStop: (why) => log(`stopping (${why})`),
    onRepeat: (signal) => log(`${signal} again: still tearing down (a kill -9 now would leave the rest to the next start's sweep)`),
  });
  const parent = process.ppid;
  const orphanWatch = setInterval(() => process.ppid !== parent && stop.request('parent exited'), 1_000);
  const enforce = argv.enforce === undefined ? undefined : parseEnforce(argv.enforce);
  const starting = startCluster({ nodes: argv.nodes, cni: argv.cni, enforce, manifests: argv.manifests, onProgress: log });
  const first = await Promise.race([starting.then(() => undefined), stop.requested]);
  const cluster = await starting.catch((err: Error) => {
    clearInterval(orphanWatch);
    throw err;
  });
  if (first === undefined) {
    process.stdout.write(`kubeconfig: ${cluster.kubeconfigPath}\n`);
    process.stdout.write(`outside-host: ${cluster.outsideHost}\n`);
    process.stdout.write(`probe-image: ${cluster.probeImage}\n`);
    process.stdout.write('ready\n');
    writeSession(cluster.dir, { kubeconfig: cluster.kubeconfigPath, outsideHost: cluster.outsideHost, probeImage: cluster.probeImage });
  }
  await stop.requested;
  clearInterval(orphanWatch);
  await cluster.stop();
  log('removed');
}

/** Signals the owner of each running cluster (or the one in `dir`) and waits for it to finish its teardown. */
async function down(dir: string | undefined): Promise<void> {
  const dirs = dir !== undefined ? [dir] : readdirSync(tmpdir()).filter((e) => e.startsWith('netcheck-cluster-')).map((e) => join(tmpdir(), e));
  for (const d of dirs) {
    let pid: number;
    try {
      pid = (JSON.parse(readFileSync(join(d, 'owner.json'), 'utf8')) as { pid: number }).pid;
      process.kill(pid, 'SIGTERM');
    } catch {
      continue; // no owner left: the next start sweeps it
    }
    log(`signalled ${pid} (${d})`);
    for (let i = 0; i < 600; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

await yargs(hideBin(process.argv))
  .scriptName('cluster')
  .command(
    'up',
    'start a real cluster and keep it up until SIGINT/SIGTERM, `down`, or parent exit',
    (y) =>
      y
        .option('nodes', { type: 'number', default: 2, describe: 'worker nodes (each its own kubelet, containerd, kube-proxy)' })
        .option('cni', { choices: CNI_NAMES, default: 'kube-router' as CniName, describe: 'pod network: kube-router (bridge + kube-router policies), flannel (VXLAN, no policies) or calico' })
        .option('enforce', { type: 'string', describe: 'kube-router CNI only: nodes running its policy controller, all (default), none, or node-a,...' })
        .option('manifests', { type: 'string', array: true, default: [] as string[], describe: 'manifest files or directories to apply (workload images replaced by the local listener)' }),
    async (argv) => up(argv),
  )
  .command('down', 'stop running clusters (signals their owners)', (y) => y.option('dir', { type: 'string', describe: 'one cluster directory' }), async (argv) => down(argv.dir))
  .command(
    'migrate <node>',
    'move NODE of a running --cni flannel cluster to Calico with Calico\'s flannel migration controller (one node per call, in its order)',
    (y) =>
      y
        .positional('node', { type: 'string', demandOption: true, describe: 'the node to migrate (node-a, ...)' })
        .option('dir', { type: 'string', describe: 'the cluster directory (default: $NETCHECK_CLUSTER_DIR, else the only running cluster)' }),
    async (argv) => {
      const target = await targetFromDir(argv.dir);
      const components = await buildComponents({ onProgress: log });
      const state = await migrateNode(target, argv.node, { components, onProgress: log });
      process.stdout.write(`migrated: ${state.node}\n`);
    },
  )
  .command('build', 'build the pinned components into the cache (no-op when cached)', {}, async () => {
    await buildComponents({ onProgress: log });
  })
  .demandCommand(1)
  .strict()
  .fail((message, error) => {
    process.stderr.write(`cluster: ${error?.message ?? message}\n`);
    process.exit(2);
  })
  .parseAsync();
