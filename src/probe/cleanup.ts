/**
 * Removing probe pods: a run's own pods (callers use deleteRunPods in `finally` and on SIGINT/SIGTERM,
 * with a fresh signal — the run's own is already aborted by then), and `netcheck cleanup`'s sweep of
 * pods whose run is long gone (kill -9: activeDeadlineSeconds stopped them, nobody deleted them).
 */
import type { ClusterClient, PodState } from '../cluster/types.js';
import { ClusterError } from '../model/errors.js';
import { compareStrings } from '../policy/from-objects.js';
import { ANNOTATION_EXPIRES_AT, anyRunSelector, EXPIRY_GRACE_SECONDS, LABEL_RUN, runSelector } from './pod-spec.js';

export interface RemovedPod {
  namespace: string;
  name: string;
  run: string;
  why: 'run-cleanup' | 'expired' | 'terminated';
}

export interface DeleteRunPodsOptions {
  /** Namespaces the run touched; when absent, one cluster-wide list (needs cluster-wide `list pods`). */
  namespaces?: string[];
  signal?: AbortSignal;
}

export async function deleteRunPods(client: ClusterClient, runId: string, options: DeleteRunPodsOptions = {}): Promise<RemovedPod[]> {
  const selector = runSelector(runId);
  const pods = options.namespaces === undefined
    ? await client.listPods(undefined, selector, options.signal)
    : (await Promise.all([...new Set(options.namespaces)].map((ns) => client.listPods(ns, selector, options.signal)))).flat();
  await Promise.all(pods.map((p) => client.deletePod(p.namespace, p.name, options.signal)));
  return sortRemoved(pods.map((p) => ({ namespace: p.namespace, name: p.name, run: runId, why: 'run-cleanup' as const })));
}

export interface SweepOptions {
  /** Sweep every namespace (needs cluster-wide `list pods`). */
  allNamespaces?: boolean;
  /** Otherwise this namespace (default: the context's). */
  namespace?: string;
  /** Injected for tests; default the API server's clock (this machine's when the client cannot tell). */
  now?: Date;
  signal?: AbortSignal;
}

/**
 * When a pod's run is over for sure, on the API server's clock: creationTimestamp (server) + its own
 * activeDeadlineSeconds (the run's whole budget, which began before the pod was created) + grace. The
 * expires-at annotation, written by the creating machine's clock, is the fallback for pods without them.
 */
function expiryOf(pod: PodState): number {
  const created = Date.parse(pod.createdAt ?? '');
  if (Number.isFinite(created) && pod.activeDeadlineSeconds !== undefined) {
    return created + (pod.activeDeadlineSeconds + EXPIRY_GRACE_SECONDS) * 1000;
  }
  return Date.parse(pod.annotations[ANNOTATION_EXPIRES_AT] ?? '');
}

/** Why a pod should go, or undefined to keep it (a live run's pod). `now` is the API server's time. */
export function sweepReason(pod: PodState, now: Date): RemovedPod['why'] | undefined {
  if (pod.deleting) return undefined;
  const expiresAt = expiryOf(pod);
  if (Number.isFinite(expiresAt) && expiresAt <= now.getTime()) return 'expired';
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') {
    // A finished probe pod is useful to nobody but a run still reading its log, and that run gives up at its
    // budget, which ends no later than the pod's deadline (expiry minus grace; the pod was built after the run
    // started, with the run's budget as deadline). Stopped at activeDeadlineSeconds: the kubelet counts from
    // later still, so that run is over too.
    if (!Number.isFinite(expiresAt)) return 'terminated';
    if (pod.reason === 'DeadlineExceeded' || expiresAt - EXPIRY_GRACE_SECONDS * 1000 <= now.getTime()) return 'expired';
  }
  return undefined;
}

export async function sweepExpiredPods(client: ClusterClient, options: SweepOptions = {}): Promise<RemovedPod[]> {
  const namespace = options.allNamespaces ? undefined : (options.namespace ?? client.namespace);
  const pods = await client.listPods(namespace, anyRunSelector, options.signal);
  // Read after the list, so the server's clock is known from its answer.
  const now = options.now ?? client.serverNow?.() ?? new Date();
  const doomed = pods.flatMap((pod) => {
    const why = sweepReason(pod, now);
    return why === undefined ? [] : [{ namespace: pod.namespace, name: pod.name, run: pod.labels[LABEL_RUN] ?? '', why }];
  });
  const results = await Promise.allSettled(doomed.map((p) => client.deletePod(p.namespace, p.name, options.signal)));
  const firstFailure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (firstFailure) {
    throw firstFailure.reason instanceof ClusterError ? firstFailure.reason : new ClusterError(String(firstFailure.reason), { reason: 'DeleteFailed' });
  }
  return sortRemoved(doomed);
}

/** What `newRunId` makes (base-36 time + random suffix), and what a label value and a pod name can carry. */
const RUN_ID = /^[a-z0-9]{1,50}$/;

/** Whether `id` can be a run id; a pod name (`netcheck-<run>-p0`) is accepted and reduced to its run id. */
export function parseRunId(id: string): string | undefined {
  const trimmed = id.trim().toLowerCase();
  const fromPod = /^netcheck-([a-z0-9]+)-[pl]\d+$/.exec(trimmed)?.[1];
  const candidate = fromPod ?? trimmed;
  return RUN_ID.test(candidate) ? candidate : undefined;
}

/**
 * `netcheck cleanup --run ID`: delete one run's pods now, whatever their deadline (the run was killed and its
 * pods would otherwise wait for activeDeadlineSeconds). Pods already being deleted are counted, not deleted again.
 */
export async function deleteOneRun(
  client: ClusterClient,
  runId: string,
  options: { namespace?: string; signal?: AbortSignal } = {},
): Promise<RemovedPod[]> {
  const pods = await client.listPods(options.namespace, runSelector(runId), options.signal);
  const results = await Promise.allSettled(pods.filter((p) => !p.deleting).map((p) => client.deletePod(p.namespace, p.name, options.signal)));
  const firstFailure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (firstFailure) {
    throw firstFailure.reason instanceof ClusterError ? firstFailure.reason : new ClusterError(String(firstFailure.reason), { reason: 'DeleteFailed' });
  }
  return sortRemoved(pods.map((p) => ({ namespace: p.namespace, name: p.name, run: runId, why: 'run-cleanup' as const })));
}

function sortRemoved(pods: RemovedPod[]): RemovedPod[] {
  return pods.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
}
