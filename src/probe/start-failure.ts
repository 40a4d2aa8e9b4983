/**
 * Why a probe pod cannot start, or why it failed, read from its status, its events and what the kubelet
 * recorded (pure). docs/architecture.md "Probe pods": a pod that cannot start is reported at once, by name, not
 * after the budget runs out.
 */
import type { ClusterEvent, PodState } from '../cluster/types.js';

/** A named reason (ImagePullBackOff, Unschedulable, OOMKilled, ...) and the words to show with it. */
export interface PodFailure {
  reason: string;
  message: string;
  /** What the user can do about it, when netcheck knows. */
  hint?: string;
}

/**
 * The container runtime could not exec `node` (the image has none, or one for another CPU architecture).
 * containerd/runc say `exec: "node": executable file not found in $PATH` (terminated, reason StartError,
 * exit 128), CRI-O `executable file not found`, docker `ContainerCannotRun`; a `node` that is a wrapper
 * script over a missing binary exits 127; a binary for another architecture fails with `exec format error`.
 */
const noNodeMessage = /executable file not found|exec: "node"|no such file or directory|exec format error/i;
const startErrorReasons = new Set(['StartError', 'ContainerCannotRun']);
const noNodeHint = 'pass --image with an image that has `node` (18 or later) on its PATH for your nodes\' CPU architecture, e.g. node:22-alpine';

function noNodeFailure(detail: string): PodFailure {
  const arch = /exec format error/i.test(detail) ? ' for this node\'s CPU architecture' : '';
  return { reason: 'NoNodeInImage', message: `the image has no runnable \`node\`${arch} (${detail})`, hint: noNodeHint };
}

/** Waiting reasons that mean the container will not start without someone fixing something. */
const fatalWaitingReasons = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** What makes a pod unable to run, from its status alone; undefined while it may still start. */
export function startFailureFromStatus(pod: PodState): PodFailure | undefined {
  for (const c of pod.containers) {
    const started = c.terminated ?? c.waiting;
    if (started?.message && noNodeMessage.test(started.message) && !/pull|image/i.test(started.reason ?? '')) {
      return noNodeFailure(started.message);
    }
    if (c.terminated && startErrorReasons.has(c.terminated.reason ?? '')) {
      return { reason: c.terminated.reason!, message: c.terminated.message ?? 'the runtime could not start the container' };
    }
    if (c.waiting && fatalWaitingReasons.has(c.waiting.reason)) {
      return { reason: c.waiting.reason, message: c.waiting.message ?? c.waiting.reason };
    }
  }
  const scheduled = pod.conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: 'Unschedulable', message: scheduled.message ?? 'no node can run it' };
  }
  return undefined;
}

/** Warning events that mean the pod will not start (when status has not caught up yet). */
export function startFailureFromEvents(events: ClusterEvent[]): PodFailure | undefined {
  for (const e of events) {
    if (e.type !== 'Warning') continue;
    if (e.reason === 'FailedScheduling') return { reason: 'Unschedulable', message: e.message };
    if (e.reason === 'Failed' && noNodeMessage.test(e.message) && !/pull/i.test(e.message)) return noNodeFailure(e.message);
    if ((e.reason === 'Failed' || e.reason === 'BackOff') && /pull|image/i.test(e.message)) {
      return { reason: 'ImagePullFailed', message: e.message };
    }
    if (e.reason === 'FailedCreatePodSandBox') return { reason: 'SandboxFailed', message: e.message };
    if (e.reason === 'Failed' && /CreateContainerConfigError|CreateContainerError/.test(e.message)) {
      return { reason: 'CreateContainerError', message: e.message };
    }
  }
  return undefined;
}

/** Why a probe pod ended in phase Failed, from what the kubelet recorded. */
export function describeFailedProbe(pod: PodState, logProblems: string[]): PodFailure {
  const terminated = pod.containers[0]?.terminated;
  if (pod.reason === 'DeadlineExceeded') {
    return { reason: 'DeadlineExceeded', message: 'activeDeadlineSeconds passed before the agent finished' };
  }
  if (terminated?.reason === 'OOMKilled') {
    return { reason: 'OOMKilled', message: 'the agent ran out of memory (raise the limit in src/probe/pod-spec.ts)' };
  }
  if (terminated?.exitCode === 127) return noNodeFailure(`exit code 127${terminated.message ? `: ${terminated.message}` : ''}`);
  if (!terminated && pod.reason) {
    // Rejected by the kubelet before the container ran (OutOfcpu, NodeAffinity, Evicted, ...).
    return { reason: pod.reason, message: pod.message ?? `the kubelet rejected the pod (${pod.reason})` };
  }
  const problems = logProblems.length ? ` (${logProblems.slice(0, 2).join('; ')})` : '';
  return { reason: 'AgentFailed', message: `the agent exited with code ${terminated?.exitCode ?? '?'}${problems}` };
}
