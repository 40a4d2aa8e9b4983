/**
 * Probe and listener pod manifests (pure). docs/architecture.md "Probe pods": the agent and its plan travel in the
 * container args, so any image with `node` works; the spec passes PodSecurity "restricted", carries
 * the run id, dies on its own at the deadline, and never becomes a Service endpoint while carrying a
 * workload's labels.
 */
import type { ContainerSpec, EnvVar, EphemeralContainerSpec, Labels, PodManifest } from '../cluster/types.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_RUN = 'netcheck.io/run';
export const LABEL_ROLE = 'netcheck.io/role';
export const ANNOTATION_EXPIRES_AT = 'netcheck.io/expires-at';
/** A readiness gate nobody sets: the pod stays not-Ready, so EndpointSlices never list it. */
export const NEVER_READY_GATE = 'netcheck.io/never-ready';
export const DEFAULT_PROBE_IMAGE = 'node:22-alpine';

/** Time after the deadline before `netcheck cleanup` treats a pod as abandoned. */
export const EXPIRY_GRACE_SECONDS = 60;

export type ProbeRole = 'probe' | 'listener';

export interface ProbePodInput {
  runId: string;
  namespace: string;
  name: string;
  /** Cloned workload labels plus the scenario's. */
  labels: Labels;
  nodeName?: string;
  image?: string;
  imagePullSecrets?: string[];
  /** activeDeadlineSeconds: the run budget; the kubelet kills the pod even if netcheck is killed. */
  deadlineSeconds: number;
  /** Args for `node` (from agentRunArgs / agentListenArgs). */
  args: string[];
  role: ProbeRole;
  /** Listener ports, declared as container ports (with their names, when given) so named-port policies resolve. */
  ports?: Array<{ port: number; protocol: 'TCP' | 'UDP'; name?: string }>;
  /** For the expiry annotation; default now. */
  now?: Date;
}

/** Where the agent runs, from the downward API: it reports them with its results. */
function agentEnv(): EnvVar[] {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ];
}

/** nobody: the user a probe runs as (the pod's, or an ephemeral container's own where the pod sets none). */
const NOBODY = 65534;

/** What PodSecurity "restricted" asks of every container netcheck adds (a fresh object: callers may extend it). */
function restrictedContainerSecurity(): NonNullable<ContainerSpec['securityContext']> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function buildProbePod(input: ProbePodInput): PodManifest {
  const now = input.now ?? new Date();
  const expiresAt = new Date(now.getTime() + (input.deadlineSeconds + EXPIRY_GRACE_SECONDS) * 1000);
  const labels: Labels = {
    // The cloned labels decide which policies select the probe, so a cloned managed-by (e.g. Helm) wins
    // over ours; netcheck finds its pods by netcheck.io/run, which nothing else sets.
    [LABEL_MANAGED_BY]: 'netcheck',
    ...input.labels,
    [LABEL_RUN]: input.runId,
    [LABEL_ROLE]: input.role,
  };
  const manifest: PodManifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels,
      annotations: { [ANNOTATION_EXPIRES_AT]: expiresAt.toISOString() },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.max(1, Math.ceil(input.deadlineSeconds)),
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: NOBODY,
        runAsGroup: NOBODY,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: input.role,
          image: input.image ?? DEFAULT_PROBE_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          command: ['node'],
          args: input.args,
          env: agentEnv(),
          // ResourceQuota namespaces reject pods without requests and limits. Node's own footprint is
          // ~45 MiB RSS and its start-up burns ~0.3 CPU-seconds, hence more headroom than a shell probe.
          resources: {
            requests: { cpu: '10m', memory: '48Mi' },
            limits: { cpu: '250m', memory: '128Mi' },
          },
          securityContext: restrictedContainerSecurity(),
        },
      ],
    },
  };
  if (input.role === 'probe') manifest.spec.readinessGates = [{ conditionType: NEVER_READY_GATE }];
  if (input.nodeName !== undefined) manifest.spec.nodeName = input.nodeName;
  if (input.imagePullSecrets?.length) manifest.spec.imagePullSecrets = input.imagePullSecrets.map((name) => ({ name }));
  if (input.ports?.length) {
    manifest.spec.containers[0]!.ports = input.ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), containerPort: p.port, protocol: p.protocol }));
    // A non-root listener with no capabilities cannot bind below 1024. This sysctl is namespaced and in
    // Kubernetes' safe set (1.22+), so PodSecurity restricted admits it — unlike NET_BIND_SERVICE on a non-root user.
    if (input.ports.some((p) => p.port < 1024)) {
      manifest.spec.securityContext!.sysctls = [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }];
    }
  }
  return manifest;
}

/**
 * The agent as an ephemeral container of an existing pod (`netcheck probe --in-pod`): the probe image (node), the
 * same args and restricted security context as a probe pod's container, in the pod's network namespace. No
 * resources (the API forbids them here) and no deadline of its own: the agent's plan is finite, and it exits.
 */
export function buildEphemeralProbe(input: { runId: string; index: number; args: string[]; image?: string }): EphemeralContainerSpec {
  return {
    name: `netcheck-${input.runId}-e${input.index}`.toLowerCase().slice(0, 63),
    image: input.image ?? DEFAULT_PROBE_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['node'],
    args: input.args,
    env: agentEnv(),
    // PodSecurity "restricted" checks ephemeral containers too; the pod's own securityContext may not set a user.
    securityContext: { ...restrictedContainerSecurity(), runAsUser: NOBODY, runAsGroup: NOBODY },
  };
}

/** A DNS-1123 pod name: netcheck-<run>-<role initial><index>. */
export function probePodName(runId: string, role: ProbeRole, index: number): string {
  return `netcheck-${runId}-${role === 'probe' ? 'p' : 'l'}${index}`.toLowerCase().slice(0, 63);
}

/** A short run id: time-ordered, lowercase, safe in pod names and label values. */
export function newRunId(now: Date = new Date(), random: () => number = Math.random): string {
  const time = Math.floor(now.getTime() / 1000).toString(36);
  const suffix = Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0');
  return `${time}${suffix}`;
}

/** Label selector for every pod of one run. */
export function runSelector(runId: string): string {
  return `${LABEL_RUN}=${runId}`;
}

/** Label selector for every netcheck pod, whatever its run (cloned labels may override managed-by). */
export const anyRunSelector = LABEL_RUN;
