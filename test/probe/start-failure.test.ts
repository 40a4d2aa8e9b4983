import { describe, expect, it } from 'vitest';
import { podStateFromObject } from '../../src/cluster/pod-state.js';
import type { ClusterEvent, PodState } from '../../src/cluster/types.js';
import { sweepReason } from '../../src/probe/cleanup.js';
import { describeFailedProbe, startFailureFromEvents, startFailureFromStatus } from '../../src/probe/start-failure.js';

function pod(status: Record<string, unknown>, meta: Record<string, unknown> = {}, activeDeadlineSeconds?: number): PodState {
  const spec = activeDeadlineSeconds === undefined ? {} : { activeDeadlineSeconds };
  return podStateFromObject({ metadata: { name: 'p', namespace: 'ns', uid: 'u', ...meta }, spec, status });
}
const waiting = (reason: string): Record<string, unknown> => ({
  phase: 'Pending',
  containerStatuses: [{ name: 'probe', ready: false, state: { waiting: { reason, message: `${reason} detail` } } }],
});

describe('startFailureFromStatus', () => {
  const cases: Array<[string, PodState, string | undefined]> = [
    ['image pull error', pod(waiting('ErrImagePull')), 'ErrImagePull'],
    ['image pull back-off', pod(waiting('ImagePullBackOff')), 'ImagePullBackOff'],
    ['invalid image name', pod(waiting('InvalidImageName')), 'InvalidImageName'],
    ['container config error', pod(waiting('CreateContainerConfigError')), 'CreateContainerConfigError'],
    ['still creating is not a failure', pod(waiting('ContainerCreating')), undefined],
    ['unschedulable', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }), 'Unschedulable'],
    ['pending without news', pod({ phase: 'Pending' }), undefined],
    ['running', pod({ phase: 'Running', containerStatuses: [{ name: 'probe', state: { running: {} } }] }), undefined],
  ];
  it.each(cases)('%s', (_name, state, reason) => {
    expect(startFailureFromStatus(state)?.reason).toBe(reason);
  });
});

describe('an image without node', () => {
  // What real runtimes record when `command: [node]` is not in the image (or is for another CPU).
  const containerd = 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "node": executable file not found in $PATH: unknown';
  const statuses: Array<[string, Record<string, unknown>, RegExp]> = [
    ['containerd: terminated StartError, exit 128', { phase: 'Failed', containerStatuses: [{ name: 'probe', state: { terminated: { exitCode: 128, reason: 'StartError', message: containerd } } }] }, /no runnable `node` \(failed to create containerd task/],
    ['CRI-O: waiting CreateContainerError', waitingWith('CreateContainerError', 'executable file not found in $PATH'), /no runnable `node`/],
    ['another CPU architecture', { phase: 'Failed', containerStatuses: [{ name: 'probe', state: { terminated: { exitCode: 1, reason: 'StartError', message: 'exec /usr/local/bin/node: exec format error' } } }] }, /`node` for this node's CPU architecture/],
  ];
  it.each(statuses)('status: %s', (_name, status, message) => {
    const failure = startFailureFromStatus(pod(status));
    expect(failure).toMatchObject({ reason: 'NoNodeInImage', hint: expect.stringContaining('--image') });
    expect(failure?.message).toMatch(message);
  });

  it('event: Failed with the runtime message (status not written yet)', () => {
    const failure = startFailureFromEvents([{ namespace: 'ns', type: 'Warning', reason: 'Failed', message: `Error: ${containerd}`, objectKind: 'Pod', objectName: 'p', count: 1 }]);
    expect(failure).toMatchObject({ reason: 'NoNodeInImage', hint: expect.stringContaining('--image') });
  });

  it('exit 127 (a node wrapper over a missing binary)', () => {
    const failed = pod({ phase: 'Failed', containerStatuses: [{ name: 'probe', state: { terminated: { exitCode: 127, reason: 'Error' } } }] });
    expect(describeFailedProbe(failed, [])).toMatchObject({ reason: 'NoNodeInImage', hint: expect.stringContaining('--image') });
  });

  it('a pull failure that mentions a missing file stays a pull failure', () => {
    const pulling = pod(waitingWith('ErrImagePull', 'failed to pull: open /var/lib/containerd/x: no such file or directory'));
    expect(startFailureFromStatus(pulling)?.reason).toBe('ErrImagePull');
  });
});

function waitingWith(reason: string, message: string): Record<string, unknown> {
  return { phase: 'Pending', containerStatuses: [{ name: 'probe', ready: false, state: { waiting: { reason, message } } }] };
}

describe('startFailureFromEvents', () => {
  const event = (type: string, reason: string, message: string): ClusterEvent => ({
    namespace: 'ns', type, reason, message, objectKind: 'Pod', objectName: 'p', count: 1,
  });
  const cases: Array<[string, ClusterEvent[], string | undefined]> = [
    ['FailedScheduling', [event('Warning', 'FailedScheduling', '0/2 nodes are available: insufficient cpu')], 'Unschedulable'],
    ['pull failure', [event('Warning', 'Failed', 'Failed to pull image "nope:1": not found')], 'ImagePullFailed'],
    ['normal events only', [event('Normal', 'Scheduled', 'assigned'), event('Normal', 'Pulling', 'pulling image')], undefined],
  ];
  it.each(cases)('%s', (_name, events, reason) => {
    expect(startFailureFromEvents(events)?.reason).toBe(reason);
  });
});

describe('sweepReason', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const cases: Array<[string, PodState, string | undefined]> = [
    ['expired', pod({ phase: 'Running' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T11:59:59Z' } }), 'expired'],
    ['live run', pod({ phase: 'Running' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T12:00:30Z' } }), undefined],
    // A live run may still be reading the log of a finished pod: its deadline decides.
    ['finished, run still within its deadline', pod({ phase: 'Succeeded' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T12:01:30Z' } }), undefined],
    ['finished without expiry annotation', pod({ phase: 'Failed' }), 'terminated'],
    // Its run's budget ended no later than the pod's deadline: the run no longer reads it.
    ['stopped at its deadline, within the grace period', pod({ phase: 'Failed', reason: 'DeadlineExceeded' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T12:00:30Z' } }), 'expired'],
    // Expiry 12:00:30 = deadline 11:59:30 + 60 s grace: the run's budget is over, nobody reads the log any more.
    ['finished, its run past its budget', pod({ phase: 'Succeeded' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T12:00:30Z' } }), 'expired'],
    ['running past its deadline but within the grace period is left alone', pod({ phase: 'Running' }, { annotations: { 'netcheck.io/expires-at': '2026-01-01T12:00:30Z' } }), undefined],
    // Server-relative: creationTimestamp 11:59:00 + activeDeadlineSeconds 120 + 60 s grace = 12:02:00, whatever
    // a creating machine with a slow clock wrote in the annotation.
    ['live by its server-written creation and deadline, despite a stale annotation', pod({ phase: 'Running' }, { creationTimestamp: '2026-01-01T11:59:00Z', annotations: { 'netcheck.io/expires-at': '2026-01-01T11:50:00Z' } }, 120), undefined],
    ['expired by its server-written creation and deadline, despite a far annotation', pod({ phase: 'Running' }, { creationTimestamp: '2026-01-01T11:55:00Z', annotations: { 'netcheck.io/expires-at': '2026-01-01T13:00:00Z' } }, 120), 'expired'],
    ['finished, its run past its deadline by the server clock', pod({ phase: 'Succeeded' }, { creationTimestamp: '2026-01-01T11:57:30Z' }, 120), 'expired'],
    ['finished, its run still within its deadline by the server clock', pod({ phase: 'Succeeded' }, { creationTimestamp: '2026-01-01T11:58:30Z' }, 120), undefined],
    ['already being deleted', pod({ phase: 'Running' }, { deletionTimestamp: '2026-01-01T11:00:00Z', annotations: { 'netcheck.io/expires-at': '2026-01-01T11:00:00Z' } }), undefined],
  ];
  it.each(cases)('%s', (_name, state, reason) => {
    expect(sweepReason(state, now)).toBe(reason);
  });
});

describe('describeFailedProbe', () => {
  const terminated = (exitCode: number, reason?: string): Record<string, unknown> => ({
    phase: 'Failed',
    containerStatuses: [{ name: 'probe', state: { terminated: { exitCode, ...(reason ? { reason } : {}) } } }],
  });
  const cases: Array<[string, PodState, string[], string, RegExp]> = [
    ['deadline', pod({ ...terminated(137), reason: 'DeadlineExceeded' }), [], 'DeadlineExceeded', /activeDeadlineSeconds/],
    ['out of memory', pod(terminated(137, 'OOMKilled')), [], 'OOMKilled', /out of memory/],
    ['kubelet rejection before the container ran', pod({ phase: 'Failed', reason: 'OutOfcpu', message: 'Node didn\'t have enough resource: cpu' }), [], 'OutOfcpu', /enough resource: cpu/],
    ['agent crash, with what its log said', pod(terminated(2, 'Error')), ['line 1: agent error: bad plan'], 'AgentFailed', /exited with code 2 \(line 1: agent error: bad plan\)/],
  ];
  it.each(cases)('%s', (_name, state, problems, reason, message) => {
    const described = describeFailedProbe(state, problems);
    expect(described.reason).toBe(reason);
    expect(described.message).toMatch(message);
  });
});

describe('podStateFromObject: what --in-pod reads of the workload pod', () => {
  it('reads ephemeral container statuses (exit code, waiting reason) and the controlling owner', () => {
    const pod = podStateFromObject({
      metadata: { name: 'web-7c9f-abc', namespace: 'ns', uid: 'u', ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7c9f', controller: true }, { kind: 'Other', name: 'x' }] },
      spec: { nodeName: 'node-a' },
      status: {
        phase: 'Running',
        ephemeralContainerStatuses: [
          { name: 'netcheck-r-e0', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'netcheck-r-e1', state: { waiting: { reason: 'RunContainerError', message: 'exec: "node": executable file not found in $PATH' } } },
        ],
      },
    });
    expect(pod.controller).toEqual({ kind: 'ReplicaSet', name: 'web-7c9f' });
    expect(pod.ephemeralContainers).toEqual([
      { name: 'netcheck-r-e0', ready: false, running: false, terminated: { exitCode: 0, reason: 'Completed' } },
      { name: 'netcheck-r-e1', ready: false, running: false, waiting: { reason: 'RunContainerError', message: 'exec: "node": executable file not found in $PATH' } },
    ]);
  });

  it('a pod that never had one has none, and no owner', () => {
    const pod = podStateFromObject({ metadata: { name: 'p', namespace: 'ns' }, status: { phase: 'Running' } });
    expect(pod.ephemeralContainers).toBeUndefined();
    expect(pod.controller).toBeUndefined();
  });
});
