/**
 * Plain-data views of live Pods and Events (pure; lenient about missing fields, as the API may omit them).
 */
import type { ClusterEvent, ContainerState, PodPhase, PodState } from './types.js';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
function strings(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'string') out[k] = v;
  return out;
}

const phases: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

export function podStateFromObject(raw: unknown): PodState {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const rawPhase = str(status.phase);
  const conditions = list(status.conditions).map((c) => {
    const co = obj(c);
    return {
      type: str(co.type) ?? '',
      status: str(co.status) ?? 'Unknown',
      ...(str(co.reason) ? { reason: str(co.reason) } : {}),
      ...(str(co.message) ? { message: str(co.message) } : {}),
    };
  });
  const containers = list(status.containerStatuses).map(containerState);
  const ephemeral = list(status.ephemeralContainerStatuses).map(containerState);
  const controller = list(meta.ownerReferences).map(obj).find((r) => r.controller === true);
  const pod: PodState = {
    namespace: str(meta.namespace) ?? '',
    name: str(meta.name) ?? '',
    uid: str(meta.uid) ?? '',
    labels: strings(meta.labels),
    annotations: strings(meta.annotations),
    phase: phases.includes(rawPhase as PodPhase) ? (rawPhase as PodPhase) : 'Pending',
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    conditions,
    containers,
  };
  if (ephemeral.length > 0) pod.ephemeralContainers = ephemeral;
  if (controller && str(controller.kind) && str(controller.name)) pod.controller = { kind: str(controller.kind)!, name: str(controller.name)! };
  if (str(status.reason)) pod.reason = str(status.reason);
  if (str(status.message)) pod.message = str(status.message);
  if (str(status.podIP)) pod.podIP = str(status.podIP);
  if (str(spec.nodeName)) pod.nodeName = str(spec.nodeName);
  if (str(meta.creationTimestamp)) pod.createdAt = str(meta.creationTimestamp);
  if (typeof spec.activeDeadlineSeconds === 'number') pod.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  return pod;
}

function containerState(c: unknown): ContainerState {
  const co = obj(c);
  const state = obj(co.state);
  const out: ContainerState = { name: str(co.name) ?? '', ready: co.ready === true, running: state.running !== undefined };
  const waiting = obj(state.waiting);
  if (str(waiting.reason)) out.waiting = { reason: str(waiting.reason)!, ...(str(waiting.message) ? { message: str(waiting.message) } : {}) };
  const terminated = state.terminated === undefined ? undefined : obj(state.terminated);
  if (terminated) {
    out.terminated = {
      exitCode: typeof terminated.exitCode === 'number' ? terminated.exitCode : -1,
      ...(str(terminated.reason) ? { reason: str(terminated.reason) } : {}),
      ...(str(terminated.message) ? { message: str(terminated.message) } : {}),
    };
  }
  return out;
}

export function eventFromObject(raw: unknown): ClusterEvent {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const involved = obj(o.involvedObject ?? o.regarding);
  const at = str(o.lastTimestamp) ?? str(o.eventTime) ?? str(meta.creationTimestamp);
  return {
    namespace: str(meta.namespace) ?? str(involved.namespace) ?? '',
    type: str(o.type) ?? 'Normal',
    reason: str(o.reason) ?? '',
    message: str(o.message) ?? str(o.note) ?? '',
    objectKind: str(involved.kind) ?? '',
    objectName: str(involved.name) ?? '',
    count: typeof o.count === 'number' ? o.count : 1,
    ...(at ? { at } : {}),
  };
}

/** metadata.resourceVersion of an object or list. */
export function resourceVersionOf(raw: unknown): string | undefined {
  return str(obj(obj(raw).metadata).resourceVersion);
}
