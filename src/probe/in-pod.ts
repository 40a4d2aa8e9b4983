/**
 * The agent run from inside an existing pod (`--in-pod`, `probe --from NS/POD`): an ephemeral container added with
 * `patch pods/ephemeralcontainers`, as `kubectl debug` adds one. It shares the pod's network namespace, so the
 * check is the pod's own traffic: its IP, labels, ServiceAccount, node and the policy state already programmed for
 * it (no settle delay, no pod start). Its result and exit code come back through the container's status and its
 * log, not attach (attach drops the exit code). An ephemeral container cannot be removed: it exits when the
 * agent's finite plan is done, and stays in the pod's spec as terminated.
 *
 * Where the container cannot run the agent — the patch is refused (RBAC, PodSecurity, an API server without the
 * subresource), the image cannot start, or it has no `node` (exit 126/127) — runInPod throws InPodUnavailable,
 * and the caller falls back to a new pod carrying the workload's labels, saying so.
 */
import type { ClusterClient, ContainerState, EphemeralContainerSpec, PodState } from '../cluster/types.js';
import { sleep } from '../cluster/transport.js';
import { ClusterError, ProbeError } from '../model/errors.js';
import { parseAgentOutput } from './agent.js';
import type { ProbePodResult, ProbePodState } from './lifecycle.js';

/** The container never ran the agent: the caller falls back to a cloned-label pod. */
export class InPodUnavailable extends ProbeError {}

export interface InPodProbe {
  /** The plan's pod key: judgeResults finds the result by it. */
  key: string;
  namespace: string;
  /** The existing pod to run in. */
  pod: string;
  container: EphemeralContainerSpec;
}

export interface InPodOptions {
  signal: AbortSignal;
  /** Absolute time (epoch ms) by which the agent must have finished. */
  deadline: number;
  onProgress?: (state: ProbePodState, detail?: string) => void;
  /** Between status reads (default 100 ms): the whole check takes about a second. */
  pollMs?: number;
}

/** Waiting reasons after which the container will not start (image pull, bad command, config). */
const CANNOT_START = /ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|CreateContainerError|CreateContainerConfigError|RunContainerError|StartError/;

export async function runInPod(client: ClusterClient, probe: InPodProbe, options: InPodOptions): Promise<ProbePodResult> {
  const { namespace, pod, container } = probe;
  const where = `${namespace}/${pod}`;
  const unavailable = (why: string, cause?: unknown): InPodUnavailable =>
    new InPodUnavailable(`cannot run in pod ${where}: ${why}`, { pod: where, reason: 'InPodUnavailable' }, cause === undefined ? {} : { cause });
  try {
    await client.addEphemeralContainer(namespace, pod, container, options.signal);
  } catch (error) {
    if (error instanceof ClusterError) throw unavailable(`${error.reason === 'Forbidden' ? 'refused (patch pods/ephemeralcontainers is not allowed)' : error.message}`, error);
    throw error;
  }
  options.onProgress?.('created');
  const createdAt = Date.now();
  let runningAt: number | undefined;
  let state: PodState | undefined;
  let status: ContainerState | undefined;
  for (;;) {
    options.signal.throwIfAborted();
    state = await client.getPod(namespace, pod, options.signal);
    if (state === undefined || state.deleting) throw unavailable('the pod went away');
    status = state.ephemeralContainers?.find((c) => c.name === container.name);
    if (status?.terminated) break;
    if (status?.running && runningAt === undefined) {
      runningAt = Date.now();
      options.onProgress?.('running');
    }
    if (status?.waiting && CANNOT_START.test(status.waiting.reason)) {
      const noNode = /executable file not found|no such file or directory/.test(status.waiting.message ?? '');
      throw unavailable(`${noNode ? `the image ${container.image} has no runnable \`node\`: ` : ''}its container could not start: ${status.waiting.reason}${status.waiting.message ? ` (${status.waiting.message})` : ''}`);
    }
    if (Date.now() >= options.deadline) {
      return failed(probe, state, new ProbeError(`the agent in pod ${where} did not finish within the budget`, { pod: where, reason: 'BudgetExceeded' }, { hint: 'raise --budget' }));
    }
    await sleep(options.pollMs ?? 100, options.signal);
  }
  const terminated = status.terminated as NonNullable<ContainerState['terminated']>;
  // 126/127: the image has no runnable `node`; StartError: the runtime could not exec it at all.
  if (terminated.exitCode === 126 || terminated.exitCode === 127 || terminated.reason === 'StartError' || terminated.reason === 'ContainerCannotRun') {
    throw unavailable(`the image ${container.image} cannot run node (exit ${terminated.exitCode}${terminated.reason ? `, ${terminated.reason}` : ''})`);
  }
  const log = await client.readPodLog(namespace, pod, options.signal, container.name);
  const output = parseAgentOutput(log);
  const timing = { createdAt, ...(runningAt !== undefined ? { runningAt } : {}), settledAt: Date.now() };
  if (terminated.exitCode !== 0 || !output.done) {
    const why = `exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}${output.problems.length > 0 ? `: ${output.problems.join('; ')}` : ''}`;
    if (output.results.length === 0) return failed(probe, state, new ProbeError(`the agent in pod ${where} failed: ${why}`, { pod: where, reason: 'agent-failed' }), timing);
  }
  options.onProgress?.('done');
  return {
    kind: 'done',
    key: probe.key,
    namespace,
    name: pod,
    ...(state.nodeName !== undefined ? { node: state.nodeName } : {}),
    ...(state.podIP !== undefined ? { ip: state.podIP } : {}),
    timing,
    results: output.results,
    complete: output.done && terminated.exitCode === 0,
    problems: output.problems,
  };
}

function failed(probe: InPodProbe, state: PodState, error: ProbeError, timing?: ProbePodResult['timing']): ProbePodResult {
  return {
    kind: 'failed',
    key: probe.key,
    namespace: probe.namespace,
    name: probe.pod,
    ...(state.nodeName !== undefined ? { node: state.nodeName } : {}),
    ...(timing !== undefined ? { timing } : {}),
    error,
  };
}
