import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_EXPIRES_AT,
  DEFAULT_PROBE_IMAGE,
  LABEL_MANAGED_BY,
  LABEL_ROLE,
  LABEL_RUN,
  NEVER_READY_GATE,
  buildEphemeralProbe,
  buildProbePod,
  newRunId,
  probePodName,
  type ProbePodInput,
} from '../../src/probe/pod-spec.js';

const now = new Date('2026-01-02T03:04:05.000Z');

function input(overrides: Partial<ProbePodInput> = {}): ProbePodInput {
  return {
    runId: 'r1abc',
    namespace: 'financial-ml',
    name: 'netcheck-r1abc-p0',
    labels: { app: 'inference', tier: 'serving' },
    deadlineSeconds: 60,
    args: ['-e', 'agent source', 'run', '{"checks":[],"retries":0}'],
    role: 'probe',
    now,
    ...overrides,
  };
}

describe('buildProbePod: PodSecurity restricted profile', () => {
  const pod = buildProbePod(input());
  const container = pod.spec.containers[0]!;
  // Each row is one requirement of https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
  const rows: Array<[string, unknown, unknown]> = [
    ['pod runAsNonRoot', pod.spec.securityContext?.runAsNonRoot, true],
    ['pod runAsUser is non-zero', (pod.spec.securityContext?.runAsUser ?? 0) > 0, true],
    ['pod seccomp RuntimeDefault', pod.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault'],
    ['container allowPrivilegeEscalation', container.securityContext?.allowPrivilegeEscalation, false],
    ['container drops ALL capabilities', container.securityContext?.capabilities?.drop, ['ALL']],
    ['container adds no capabilities', container.securityContext?.capabilities?.add, undefined],
    ['container runAsNonRoot', container.securityContext?.runAsNonRoot, true],
    ['container read-only root fs', container.securityContext?.readOnlyRootFilesystem, true],
    ['exactly one container', pod.spec.containers.length, 1],
  ];
  it.each(rows)('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('uses no host namespaces, volumes or privileged fields', () => {
    const spec = pod.spec as Record<string, unknown>;
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC', 'volumes', 'hostAliases']) expect(spec[field]).toBeUndefined();
  });
});

describe('buildProbePod: DESIGN rules', () => {
  const rows: Array<[string, (p: ReturnType<typeof buildProbePod>) => unknown, unknown]> = [
    ['restartPolicy Never', (p) => p.spec.restartPolicy, 'Never'],
    ['activeDeadlineSeconds = budget', (p) => p.spec.activeDeadlineSeconds, 60],
    ['terminationGracePeriodSeconds 0', (p) => p.spec.terminationGracePeriodSeconds, 0],
    ['no service account token', (p) => p.spec.automountServiceAccountToken, false],
    ['no service links', (p) => p.spec.enableServiceLinks, false],
    ['command node', (p) => p.spec.containers[0]!.command, ['node']],
    ['args from the agent edge', (p) => p.spec.containers[0]!.args, input().args],
    ['default image', (p) => p.spec.containers[0]!.image, DEFAULT_PROBE_IMAGE],
    ['managed-by label', (p) => p.metadata.labels?.[LABEL_MANAGED_BY], 'netcheck'],
    ['run label', (p) => p.metadata.labels?.[LABEL_RUN], 'r1abc'],
    ['role label', (p) => p.metadata.labels?.[LABEL_ROLE], 'probe'],
    ['cloned label app', (p) => p.metadata.labels?.['app'], 'inference'],
    ['cloned label tier', (p) => p.metadata.labels?.['tier'], 'serving'],
    ['namespace', (p) => p.metadata.namespace, 'financial-ml'],
    ['expires-at = now + budget + 60 s grace', (p) => p.metadata.annotations?.[ANNOTATION_EXPIRES_AT], '2026-01-02T03:06:05.000Z'],
    ['never-ready readiness gate', (p) => p.spec.readinessGates, [{ conditionType: NEVER_READY_GATE }]],
    ['not pinned by default', (p) => p.spec.nodeName, undefined],
    ['no pull secrets by default', (p) => p.spec.imagePullSecrets, undefined],
    ['POD_NAME from the downward API', (p) => p.spec.containers[0]!.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef.fieldPath, 'metadata.name'],
    ['POD_NAMESPACE from the downward API', (p) => p.spec.containers[0]!.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef.fieldPath, 'metadata.namespace'],
  ];
  const pod = buildProbePod(input());
  it.each(rows)('%s', (_name, read, expected) => {
    expect(read(pod)).toEqual(expected);
  });

  it('sets requests and limits for cpu and memory (ResourceQuota namespaces demand both)', () => {
    const resources = pod.spec.containers[0]!.resources;
    for (const kind of ['requests', 'limits'] as const) {
      expect(resources?.[kind]?.cpu).toMatch(/^\d+m$/);
      expect(resources?.[kind]?.memory).toMatch(/^\d+Mi$/);
    }
  });
});

describe('buildProbePod: options', () => {
  const cases: Array<[string, Partial<ProbePodInput>, (p: ReturnType<typeof buildProbePod>) => unknown, unknown]> = [
    ['node pinning', { nodeName: 'lab-node-b' }, (p) => p.spec.nodeName, 'lab-node-b'],
    ['image override', { image: 'registry.local/node:22' }, (p) => p.spec.containers[0]!.image, 'registry.local/node:22'],
    ['pull secrets', { imagePullSecrets: ['regcred', 'mirror'] }, (p) => p.spec.imagePullSecrets, [{ name: 'regcred' }, { name: 'mirror' }]],
    ['listener has no never-ready gate (it must become Ready)', { role: 'listener' }, (p) => p.spec.readinessGates, undefined],
    ['listener role label', { role: 'listener' }, (p) => p.metadata.labels?.[LABEL_ROLE], 'listener'],
    [
      'listener ports become container ports',
      { role: 'listener', ports: [{ port: 8080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
      (p) => p.spec.containers[0]!.ports,
      [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }],
    ],
    [
      'a listener below 1024 may bind as non-root via the safe sysctl, not a capability',
      { role: 'listener', ports: [{ port: 80, protocol: 'TCP' }] },
      (p) => [p.spec.securityContext?.sysctls, p.spec.containers[0]!.securityContext?.capabilities],
      [[{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }], { drop: ['ALL'] }],
    ],
    ['a listener on high ports needs no sysctl', { role: 'listener', ports: [{ port: 8080, protocol: 'TCP' }] }, (p) => p.spec.securityContext?.sysctls, undefined],
    ['fractional budget rounds up', { deadlineSeconds: 2.2 }, (p) => p.spec.activeDeadlineSeconds, 3],
    ['cloned labels cannot overwrite the run label', { labels: { [LABEL_RUN]: 'other' } }, (p) => p.metadata.labels?.[LABEL_RUN], 'r1abc'],
    // Policies may select on a cloned managed-by (e.g. Helm); fidelity beats our own marker.
    ['cloned managed-by wins', { labels: { [LABEL_MANAGED_BY]: 'Helm' } }, (p) => p.metadata.labels?.[LABEL_MANAGED_BY], 'Helm'],
  ];
  it.each(cases)('%s', (_name, overrides, read, expected) => {
    expect(read(buildProbePod(input(overrides)))).toEqual(expected);
  });
});

describe('names', () => {
  it.each([
    ['probe', 0, 'netcheck-abc-p0'],
    ['listener', 12, 'netcheck-abc-l12'],
  ] as const)('%s %i', (role, index, expected) => {
    expect(probePodName('abc', role, index)).toBe(expected);
  });

  it('run ids are DNS-1123 label safe', () => {
    for (const r of [0, 0.5, 0.999999]) expect(newRunId(now, () => r)).toMatch(/^[a-z0-9]{1,20}$/);
  });
});

describe('buildEphemeralProbe: the agent as an ephemeral container of an existing pod (--in-pod)', () => {
  const container = buildEphemeralProbe({ runId: 'r1abc', index: 2, args: ['-e', 'agent source', 'run', '{}'] });

  it('runs node with the agent args in the probe image, named after the run', () => {
    expect(container).toMatchObject({ name: 'netcheck-r1abc-e2', image: DEFAULT_PROBE_IMAGE, command: ['node'], args: ['-e', 'agent source', 'run', '{}'] });
    expect(buildEphemeralProbe({ runId: 'r1abc', index: 0, args: [], image: 'reg/node:22' }).image).toBe('reg/node:22');
  });

  it('passes PodSecurity restricted on its own (the target pod may set no user): non-root user, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('has no field the API forbids on ephemeral containers (ports, resources, probes)', () => {
    const fields = container as Record<string, unknown>;
    for (const field of ['ports', 'resources', 'readinessProbe', 'livenessProbe', 'startupProbe', 'lifecycle']) expect(fields[field]).toBeUndefined();
  });
});
