/**
 * Running probe pods and listener pods: create them all in parallel, follow them with one watch per
 * namespace, and settle each as soon as its fate is known — a start failure (image pull, admission,
 * quota, scheduling) at once, a finished probe when its log has been read, a listener when it is Ready and its
 * agent says every port is bound.
 * A 403 or a missing namespace fails the pods of that namespace only (a namespace-scoped Role is a normal way to
 * run netcheck); cluster-wide failures (API unreachable, credentials rejected) reject the whole call.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describeNamespaceFailure, isNamespaceScoped } from '../cluster/api-errors.js';
import type { ClusterClient, PodManifest, PodState } from '../cluster/types.js';
import { ClusterError, ProbeError } from '../model/errors.js';
import type { AgentCheckResult } from '../model/outcome.js';
import { listenerIsListening, parseAgentOutput } from './agent.js';
import { LABEL_ROLE, LABEL_RUN, runSelector } from './pod-spec.js';
import { describeFailedProbe, startFailureFromEvents, startFailureFromStatus } from './start-failure.js';

export interface ProbePodSpec {
  /** The caller's identity for this pod (e.g. the plan's pod key); echoed in results. */
  key: string;
  manifest: PodManifest;
}

export type ProbePodState = 'created' | 'running' | 'done' | 'failed';

export interface LifecycleOptions {
  signal: AbortSignal;
  /** Absolute time (epoch ms) by which every pod must have settled. */
  deadline: number;
  onProgress?: (pod: ProbePodSpec, state: ProbePodState, detail?: string) => void;
  /** Delay before events are consulted for a pod still Pending (default 2000 ms), and between polls. */
  eventPollMs?: number;
}

/** When netcheck saw each step (epoch ms), for reports and benchmarks. */
export interface PodTiming {
  /** The create call returned. */
  createdAt?: number;
  /** First seen in phase Running. */
  runningAt?: number;
  /** The result was known (log read, failure detected, Ready). */
  settledAt: number;
}

interface PodIdentity {
  key: string;
  namespace: string;
  name: string;
  node?: string;
  timing?: PodTiming;
}

export type ProbePodResult =
  | (PodIdentity & {
      kind: 'done';
      /** The pod's IP while it ran: policies with ipBlock peers match it. */
      ip?: string;
      results: AgentCheckResult[];
      /** The agent printed its final line: every check ran. */
      complete: boolean;
      /** Log lines that were not results, for diagnosis. */
      problems: string[];
    })
  | (PodIdentity & { kind: 'failed'; error: ProbeError });

export type ListenerResult = (PodIdentity & { kind: 'ready'; ip: string }) | (PodIdentity & { kind: 'failed'; error: ProbeError });

/** The budget ran out; `settled` holds the pods that did finish, `pending` names the others. */
export class BudgetExceededError<T = ProbePodResult | ListenerResult> extends ProbeError {
  constructor(
    readonly pending: string[],
    readonly settled: T[],
  ) {
    super(
      `budget exceeded with ${pending.length} pod(s) still pending: ${pending.join(', ')}`,
      { reason: 'BudgetExceeded' },
      { hint: 'raise --budget, or check why these pods are slow to start (kubectl describe pod)' },
    );
  }
}

/** Create failures that concern one pod (the others may still run); anything else is cluster-wide. */
const perPodCreateReasons = new Set(['PodSecurity', 'QuotaExceeded', 'AdmissionDenied', 'Invalid', 'AlreadyExists']);

type Goal = 'complete' | 'ready';

/** Between reads of a Ready listener's log while its agent is still binding (where the log cannot be followed). */
const LISTEN_POLL_MS = 200;

interface Tracker<T> {
  spec: ProbePodSpec;
  created: boolean;
  running: boolean;
  /** Log being read / result being computed: ignore further updates. */
  finishing: boolean;
  result?: T;
  node?: string;
  /** status.podIP as last seen (a finished pod's status may no longer carry it). */
  ip?: string;
  lastEventPoll: number;
  createdAt?: number;
  runningAt?: number;
  /** Stops this probe's log follow (aborted when the probe settles; the run's stop aborts it too). */
  follow?: AbortController;
}

/**
 * Run probe pods to completion and collect their agent results. Resolves with one result per spec,
 * in input order. Rejects with a ClusterError on cluster-wide failures, with BudgetExceededError at
 * `deadline`, and with the signal's reason when aborted. Deleting the pods is the caller's job
 * (deleteRunPods in `finally`).
 */
export function runProbePods(client: ClusterClient, pods: ProbePodSpec[], options: LifecycleOptions): Promise<ProbePodResult[]> {
  return supervise<ProbePodResult>(client, pods, options, 'complete');
}

/** Create listener pods and wait until each is Ready with an IP. Same failure rules as runProbePods. */
export function startListeners(client: ClusterClient, listeners: ProbePodSpec[], options: LifecycleOptions): Promise<ListenerResult[]> {
  return supervise<ListenerResult>(client, listeners, options, 'ready');
}

function identity(spec: ProbePodSpec, node: string | undefined): PodIdentity {
  const id: PodIdentity = { key: spec.key, namespace: spec.manifest.metadata.namespace, name: spec.manifest.metadata.name };
  if (node !== undefined) id.node = node;
  return id;
}

/** A per-pod failure; `stage` says whether the container never started or stopped short. */
function failed(
  spec: ProbePodSpec,
  node: string | undefined,
  stage: 'start' | 'run',
  reason: string,
  message: string,
  cause?: unknown,
  hint?: string,
): { kind: 'failed'; error: ProbeError } & PodIdentity {
  const where = `${spec.manifest.metadata.namespace}/${spec.manifest.metadata.name}`;
  const role = spec.manifest.metadata.labels?.[LABEL_ROLE] ?? 'probe';
  const what = stage === 'start' ? 'could not start' : 'failed';
  return {
    ...identity(spec, node),
    kind: 'failed',
    error: new ProbeError(`${role} pod ${where} ${what}: ${reason}: ${message}`, { pod: where, reason }, { cause, ...(hint !== undefined ? { hint } : {}) }),
  };
}

async function supervise<T extends ProbePodResult | ListenerResult>(
  client: ClusterClient,
  specs: ProbePodSpec[],
  options: LifecycleOptions,
  goal: Goal,
): Promise<T[]> {
  options.signal.throwIfAborted();
  if (specs.length === 0) return [];
  const runIds = new Set(specs.map((s) => s.manifest.metadata.labels?.[LABEL_RUN]));
  const runId = [...runIds][0];
  if (runIds.size !== 1 || runId === undefined) {
    throw new ProbeError('probe pods of one call must share one netcheck.io/run label', { reason: 'Internal' });
  }
  const eventPollMs = options.eventPollMs ?? 2_000;

  const trackers = new Map<string, Tracker<T>>();
  for (const spec of specs) {
    const key = `${spec.manifest.metadata.namespace}/${spec.manifest.metadata.name}`;
    if (trackers.has(key)) throw new ProbeError(`two probe pods are both named ${key}`, { reason: 'Internal' });
    trackers.set(key, { spec, created: false, running: false, finishing: false, lastEventPoll: Date.now() });
  }

  // Internal controller: stops watches, polls and pending requests once the outcome is decided.
  // Listen on the caller's signal only past the last throw, so a rejected call leaves no listener behind.
  const stop = new AbortController();
  const onOuterAbort = (): void => finish(options.signal.reason);
  options.signal.addEventListener('abort', onOuterAbort, { once: true });

  let resolveAll!: (value: T[]) => void;
  let rejectAll!: (reason: unknown) => void;
  const all = new Promise<T[]>((resolve, reject) => {
    resolveAll = resolve;
    rejectAll = reject;
  });
  // stop.signal aborts exactly once, here: it is also the "outcome decided" flag.
  const finish = (error?: unknown): void => {
    if (stop.signal.aborted) return;
    stop.abort(error ?? new Error('settled'));
    if (error !== undefined) rejectAll(error);
    else resolveAll(specs.map((s) => trackers.get(`${s.manifest.metadata.namespace}/${s.manifest.metadata.name}`)!.result!));
  };
  const settle = (tracker: Tracker<T>, result: T): void => {
    if (tracker.result !== undefined || stop.signal.aborted) return;
    result.timing = {
      ...(tracker.createdAt !== undefined ? { createdAt: tracker.createdAt } : {}),
      ...(tracker.runningAt !== undefined ? { runningAt: tracker.runningAt } : {}),
      settledAt: Date.now(),
    };
    tracker.result = result;
    tracker.follow?.abort(new Error('settled'));
    options.onProgress?.(tracker.spec, result.kind === 'failed' ? 'failed' : 'done', result.kind === 'failed' ? result.error.reason : undefined);
    if ([...trackers.values()].every((t) => t.result !== undefined)) finish();
  };
  const fail = (error: unknown): void => finish(options.signal.aborted ? options.signal.reason : error);
  /** What RBAC or a missing namespace refuses concerns the pods of that namespace, with the verb that is missing. */
  const failNamespaceScoped = (tracker: Tracker<T>, error: ClusterError): void => {
    const where = `${tracker.spec.manifest.metadata.namespace}/${tracker.spec.manifest.metadata.name}`;
    const role = tracker.spec.manifest.metadata.labels?.[LABEL_ROLE] ?? 'probe';
    const hint = error.reason === 'Forbidden' ? { hint: `kubectl apply -f deploy/rbac/role.yaml with its namespace set to ${error.namespace ?? '?'}` } : {};
    settle(tracker, {
      ...identity(tracker.spec, tracker.node),
      kind: 'failed',
      error: new ProbeError(`${role} pod ${where} could not run: ${describeNamespaceFailure(error)}`, { pod: where, reason: error.reason }, { cause: error, ...hint }),
    } as T);
  };

  const budget = setTimeout(() => {
    const pending = [...trackers.entries()].filter(([, t]) => t.result === undefined).map(([k]) => k);
    const settled = [...trackers.values()].flatMap((t) => (t.result === undefined ? [] : [t.result]));
    finish(new BudgetExceededError<T>(pending, settled));
  }, Math.max(0, options.deadline - Date.now()));

  const finishProbe = async (tracker: Tracker<T>, pod: PodState): Promise<void> => {
    tracker.finishing = true;
    const where = `${pod.namespace}/${pod.name}`;
    let log: string;
    try {
      log = await client.readPodLog(pod.namespace, pod.name, stop.signal);
    } catch (error) {
      if (stop.signal.aborted) return;
      if (isNamespaceScoped(error)) return failNamespaceScoped(tracker, error);
      if (error instanceof ClusterError && error.reason !== 'NotFound') return fail(error);
      settle(tracker, failed(tracker.spec, pod.nodeName, 'run', 'LogUnavailable', `the log of ${where} could not be read`, error) as T);
      return;
    }
    const output = parseAgentOutput(log);
    if (pod.phase === 'Succeeded' || output.done) {
      const ip = pod.podIP ?? tracker.ip;
      settle(tracker, {
        ...identity(tracker.spec, pod.nodeName),
        kind: 'done',
        ...(ip !== undefined ? { ip } : {}),
        results: output.results,
        complete: output.done,
        problems: output.problems,
      } as T);
      return;
    }
    const { reason: why, message: detail, hint } = describeFailedProbe(pod, output.problems);
    settle(tracker, failed(tracker.spec, pod.nodeName, 'run', why, detail, undefined, hint) as T);
  };

  /**
   * Follow a running probe's log and settle it as soon as the agent's final line arrives: the phase change comes
   * seconds later (node exiting, then the kubelet noticing). Best effort: a follow that is refused, cut or ends
   * without the final line changes nothing — the phase path (finishProbe) still reads the log and decides.
   */
  const followProbe = (tracker: Tracker<T>, pod: PodState): void => {
    if (!client.followPodLog || tracker.follow) return;
    const follow = new AbortController();
    tracker.follow = follow;
    let text = '';
    let scanned = 0;
    const onText = (chunk: string): void => {
      if (tracker.result !== undefined || tracker.finishing || stop.signal.aborted) return;
      text += chunk;
      // Parse complete lines only, and only when a new one arrived; a partial line is the agent still writing.
      const end = text.lastIndexOf('\n') + 1;
      if (end <= scanned) return;
      scanned = end;
      const output = parseAgentOutput(text.slice(0, end));
      if (!output.done) return;
      const ip = tracker.ip ?? pod.podIP;
      const node = tracker.node ?? pod.nodeName;
      settle(tracker, {
        ...identity(tracker.spec, node),
        kind: 'done',
        ...(ip !== undefined ? { ip } : {}),
        results: output.results,
        complete: true,
        problems: output.problems,
      } as T);
    };
    client
      .followPodLog(pod.namespace, pod.name, AbortSignal.any([stop.signal, follow.signal]), onText)
      // Refused (403 on pods/log), cut, or the pod went away: the phase path reads the log and decides, as without a follow.
      .catch(() => undefined);
  };

  /**
   * A Ready listener is announced only once its agent has bound every port (listenerIsListening says why Ready is
   * not enough): follow its log for that line, or read it every LISTEN_POLL_MS where a follow is refused or cut.
   * The watch keeps running meanwhile, so a listener that exits still fails; the budget bounds the wait.
   */
  const awaitListening = (tracker: Tracker<T>, pod: PodState, ip: string): void => {
    if (tracker.follow) return;
    const follow = new AbortController();
    tracker.follow = follow;
    const signal = AbortSignal.any([stop.signal, follow.signal]);
    const { namespace, name } = pod;
    const ready = (): void => settle(tracker, { ...identity(tracker.spec, pod.nodeName), kind: 'ready', ip } as T);
    const heard = (log: string): boolean => listenerIsListening(log) && (ready(), true);
    const poll = async (): Promise<void> => {
      while (!signal.aborted && tracker.result === undefined) {
        try {
          if (heard(await client.readPodLog(namespace, name, signal))) return;
        } catch (error) {
          if (signal.aborted) return;
          // Not allowed to read logs: Ready is all that can be known, as before this wait existed.
          if (error instanceof ClusterError && error.reason === 'Forbidden') return ready();
        }
        await delay(LISTEN_POLL_MS, undefined, { signal }).catch(() => undefined);
      }
    };
    if (!client.followPodLog) return void poll();
    let text = '';
    client
      .followPodLog(namespace, name, signal, (chunk) => {
        text += chunk;
        heard(text);
      })
      .then(poll, poll);
  };

  const onPod = (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodState): void => {
    const tracker = trackers.get(`${pod.namespace}/${pod.name}`);
    if (!tracker || tracker.result !== undefined || tracker.finishing || stop.signal.aborted) return;
    if (pod.nodeName) tracker.node = pod.nodeName;
    if (pod.podIP) tracker.ip = pod.podIP;
    if (type === 'DELETED') {
      // Only an object we created can be deleted; before our create returns, it is someone else's leftover.
      if (tracker.created) settle(tracker, failed(tracker.spec, pod.nodeName, 'run', 'Deleted', 'the pod was deleted (or evicted) before it finished') as T);
      return;
    }
    const startFailure = startFailureFromStatus(pod);
    if (startFailure) {
      settle(tracker, failed(tracker.spec, pod.nodeName, 'start', startFailure.reason, startFailure.message, undefined, startFailure.hint) as T);
      return;
    }
    if (pod.phase === 'Running' && !tracker.running) {
      tracker.running = true;
      tracker.runningAt = Date.now();
      options.onProgress?.(tracker.spec, 'running');
      if (goal === 'complete') followProbe(tracker, pod);
    }
    if (goal === 'ready') {
      if (pod.ready && pod.podIP) {
        awaitListening(tracker, pod, pod.podIP);
      } else if (pod.phase === 'Succeeded' || pod.phase === 'Failed') {
        const why = pod.reason ?? pod.containers[0]?.terminated?.reason ?? pod.phase;
        settle(tracker, failed(tracker.spec, pod.nodeName, 'run', 'ListenerExited', `the listener stopped (${why}) before it became Ready`) as T);
      }
      return;
    }
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') void finishProbe(tracker, pod);
  };

  // Watches first: list-then-watch sees every pod created afterwards, whatever the event order.
  const namespaces = [...new Set(specs.map((s) => s.manifest.metadata.namespace))].sort();
  for (const ns of namespaces) {
    client
      .watchPods(ns, runSelector(runId), stop.signal, (e) => onPod(e.type, e.pod))
      .catch((error: unknown) => {
        if (stop.signal.aborted) return;
        // Not allowed to follow pods here (or no such namespace): those pods fail, the others go on.
        if (isNamespaceScoped(error)) {
          for (const t of trackers.values()) if (t.spec.manifest.metadata.namespace === ns && t.result === undefined) failNamespaceScoped(t, error);
          return;
        }
        fail(error);
      });
  }

  for (const tracker of trackers.values()) {
    const { manifest } = tracker.spec;
    client.createPod(manifest, stop.signal).then(
      (pod) => {
        if (stop.signal.aborted) return;
        tracker.created = true;
        tracker.createdAt = Date.now();
        options.onProgress?.(tracker.spec, 'created');
        onPod('MODIFIED', pod);
      },
      (error: unknown) => {
        if (stop.signal.aborted) return;
        if (error instanceof ClusterError && perPodCreateReasons.has(error.reason)) {
          settle(tracker, failed(tracker.spec, manifest.spec.nodeName, 'start', error.reason, error.message, error) as T);
        } else if (isNamespaceScoped(error)) {
          failNamespaceScoped(tracker, error);
        } else {
          fail(error);
        }
      },
    );
  }

  // Events catch failures whose status lags (e.g. FailedScheduling before the condition is written).
  const poll = setInterval(() => {
    const now = Date.now();
    for (const tracker of trackers.values()) {
      if (!tracker.created || tracker.running || tracker.finishing || tracker.result !== undefined) continue;
      if (now - tracker.lastEventPoll < eventPollMs) continue;
      tracker.lastEventPoll = now;
      const { namespace, name } = tracker.spec.manifest.metadata;
      client.listEvents(namespace, name, stop.signal).then(
        (events) => {
          const failure = startFailureFromEvents(events);
          if (failure && !tracker.running && !tracker.finishing) {
            settle(tracker, failed(tracker.spec, tracker.node, 'start', failure.reason, failure.message, undefined, failure.hint) as T);
          }
        },
        // Events are a second opinion; the watch and the deadline still decide.
        () => undefined,
      );
    }
  }, Math.max(100, Math.min(eventPollMs, 1_000)));

  try {
    return await all;
  } finally {
    clearTimeout(budget);
    clearInterval(poll);
    options.signal.removeEventListener('abort', onOuterAbort);
  }
}
