/**
 * The real cluster in vitest: `useCluster()` starts one for the file in beforeAll and always stops it.
 * `clusterSkipReason()` says in one line why a machine cannot run it (not root, a missing package); CI installs
 * everything (.ci/run), so there it never skips.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { startCluster, type ClusterOptions, type RunningCluster } from './cluster.js';
import { LISTENER_IMAGE } from './images.js';
import { runCommand } from './run-command.js';

/** Building the pinned components from a cold cache takes minutes: the first start may include it. */
export const CLUSTER_START_TIMEOUT_MS = 45 * 60_000;

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function clusterSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'the real cluster needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the real cluster needs root (network namespaces, cgroups, containerd)';
  const missing = ['containerd', 'runc', 'ctr', 'ip', 'iptables', 'ipset', 'conntrack', 'openssl', 'nsenter', 'setpriv', 'go', 'gcc'].filter((c) => !hasCommand(c));
  if (!existsSync('/usr/lib/cni/bridge')) missing.push('containernetworking-plugins');
  if (missing.length > 0) return `the real cluster needs ${missing.join(', ')} (.ci/run installs them)`;
  return undefined;
}

/** One real cluster for the calling test file. */
export function useCluster(options: ClusterOptions = {}): () => RunningCluster {
  let cluster: RunningCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ ...options, onProgress: (line) => void process.stderr.write(`cluster: ${line}\n`) });
  }, CLUSTER_START_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);
  return () => {
    if (cluster === undefined) throw new Error('useCluster: the cluster is not up (beforeAll failed)');
    return cluster;
  };
}

/**
 * A listener pod on `node` in `namespace` (8080/TCP, Ready only once it listens), applied with kubectl; resolves to
 * its pod IP. The CNI tests' cross-node target.
 */
export async function startListenerPod(cluster: RunningCluster, namespace: string, node: string): Promise<string> {
  const kubectl = async (args: string[], input?: string): Promise<string> =>
    (await runCommand(['kubectl', '--kubeconfig', cluster.kubeconfigPath, ...args], input === undefined ? {} : { input })).stdout;
  const container = { name: 'listener', image: LISTENER_IMAGE, args: ['8080/TCP'], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'listener', namespace, labels: { app: 'listener' } }, spec: { nodeName: node, containers: [container] } };
  await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  await kubectl(['wait', '-n', namespace, 'pod/listener', '--for=condition=Ready', '--timeout=120s']);
  return kubectl(['get', 'pod', '-n', namespace, 'listener', '-o', 'jsonpath={.status.podIP}']);
}
