/**
 * The real cluster (test/cluster-kit): start to ready with the financial-ml manifests and a warm component cache
 * (a cold one is built first, untimed, and stderr says so), then probe-pod start latency on it, then stop. ONE run
 * per process: a start costs ~40 s, so run the bench again for a second figure rather than reading a median. stderr carries the start's steps with their times.
 *
 * Pod start: PODS of netcheck's own probe pods (buildProbePod, the cluster's node image), created one after
 * another through netcheck's client in `default` (kept until the end, so no pod's teardown overlaps the next
 * start), each timed from the create call to the watch event that shows it Running.
 *
 * The pod network is NETCHECK_BENCH_CNI (kube-router, flannel or calico; default kube-router): each CNI's start
 * is its own figure (Flannel's and Calico's DaemonSets must be Ready, their pods' sandboxes wait for them).
 *
 * Prints {"bench":"pod-start","cluster":"real","cni":C,"pods":N,"medianSeconds":M,"p90Seconds":P}
 * then   {"bench":"cluster-start","cluster":"real","cni":C,"nodes":2,"seconds":S,"stopSeconds":T}
 */
import { connectCluster } from '../../src/cluster/client.js';
import { buildProbePod, newRunId, probePodName, runSelector } from '../../src/probe/pod-spec.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { CNI_NAMES, type CniName } from '../cluster-kit/cni.js';
import { skippedWithoutCluster, startTimedCluster, warmComponentCache } from './real-cluster.js';

const NODES = 2;
const CNI = (process.env.NETCHECK_BENCH_CNI || 'kube-router') as CniName;
if (!CNI_NAMES.includes(CNI)) throw new Error(`NETCHECK_BENCH_CNI: one of ${CNI_NAMES.join(', ')}, got ${CNI}`);
const PODS = 10;
const POD_START_TIMEOUT_MS = 60_000;
const NAMESPACE = 'default';
const round = (n: number) => Math.round(n * 1000) / 1000;

/** Nearest rank: the smallest sample with at least `p` of the samples at or below it. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Seconds from create to Running for each of PODS probe pods, one at a time; the pods are deleted at the end. */
async function measurePodStarts(cluster: RunningCluster): Promise<number[]> {
  const client = await connectCluster({ kubeconfig: cluster.kubeconfigPath });
  const runId = newRunId();
  const settled = new Map<string, (error?: Error) => void>();
  const watching = new AbortController();
  const watch = client.watchPods(NAMESPACE, runSelector(runId), watching.signal, ({ pod }) => {
    if (pod.phase === 'Running') settled.get(pod.name)?.();
    else if (pod.phase === 'Failed' || pod.phase === 'Succeeded') settled.get(pod.name)?.(new Error(`pod ${pod.name} ended (${pod.phase}: ${pod.reason ?? pod.containers[0]?.terminated?.reason ?? 'no reason'}) before it was seen Running`));
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < PODS; i++) {
      const name = probePodName(runId, 'probe', i);
      const running = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pod-start: ${name} not Running after ${POD_START_TIMEOUT_MS / 1000} s`)), POD_START_TIMEOUT_MS);
        settled.set(name, (error) => {
          clearTimeout(timer);
          settled.delete(name);
          if (error) reject(error);
          else resolve();
        });
      });
      // Awaited after the create; a create that fails settles it (and its timer) first.
      running.catch(() => undefined);
      const started = performance.now();
      try {
        await client.createPod(
          buildProbePod({ runId, namespace: NAMESPACE, name, labels: {}, image: cluster.probeImage, deadlineSeconds: 600, args: ['-e', 'setTimeout(() => {}, 600_000)'], role: 'probe' }),
          AbortSignal.timeout(POD_START_TIMEOUT_MS),
        );
      } catch (error) {
        settled.get(name)?.(error as Error);
        throw error;
      }
      await running;
      latencies.push((performance.now() - started) / 1000);
    }
    return latencies;
  } finally {
    watching.abort();
    await watch.catch(() => undefined);
    await client.deletePods(NAMESPACE, runSelector(runId), AbortSignal.timeout(15_000));
  }
}

if (!skippedWithoutCluster('cluster-start')) {
  await warmComponentCache('cluster-start');
  const { cluster, seconds } = await startTimedCluster('cluster-start', { nodes: NODES, cni: CNI, manifests: ['scenarios/financial-ml/manifests'] });
  let stopSeconds: number;
  // The start's figure is printed even when the pod-start part fails; the failure then fails the bench.
  let podStartFailure: unknown;
  try {
    const latencies = await measurePodStarts(cluster);
    process.stderr.write(`pod-start: ${latencies.map((s) => s.toFixed(2)).join(' ')} s\n`);
    console.log(JSON.stringify({ bench: 'pod-start', cluster: 'real', cni: CNI, pods: PODS, medianSeconds: round(median(latencies)), p90Seconds: round(percentile(latencies, 0.9)) }));
  } catch (error) {
    podStartFailure = error;
  } finally {
    const stopping = performance.now();
    await cluster.stop();
    stopSeconds = (performance.now() - stopping) / 1000;
  }
  console.log(JSON.stringify({ bench: 'cluster-start', cluster: 'real', cni: CNI, nodes: NODES, seconds: round(seconds), stopSeconds: round(stopSeconds) }));
  if (podStartFailure !== undefined) throw podStartFailure;
}
