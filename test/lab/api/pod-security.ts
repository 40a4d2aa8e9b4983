/**
 * PodSecurity admission, "restricted" level (k8s.io/pod-security-admission/policy, latest version): the
 * checks and their message wording follow the real admission plugin, so netcheck's diagnosis of a rejected
 * probe pod is exercised against the same text a cluster returns.
 */
import type { KubeObject } from './store.js';

/** The baseline level's safe sysctls (k8s.io/pod-security-admission, policy "sysctls", latest). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const ALLOWED_VOLUME_KEYS = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

interface Container {
  name: string;
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type?: string };
  };
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function containersPhrase(names: string[]): string {
  return `${names.length === 1 ? 'container' : 'containers'} ${quoteList(names)}`;
}

/** Returns the violations in the admission plugin's order; empty when the pod is compliant. */
export function checkRestricted(pod: KubeObject): string[] {
  const spec = pod.spec ?? {};
  const podSc = spec.securityContext ?? {};
  const containers: Container[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  const violations: string[] = [];

  const hostNs = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true);
  if (hostNs.length > 0) violations.push(`host namespaces (${hostNs.map((f) => `${f}=true`).join(', ')})`);

  const sysctls: Array<{ name: string }> = podSc.sysctls ?? [];
  const forbiddenSysctls = sysctls.map((s) => s.name).filter((name) => !SAFE_SYSCTLS.has(name));
  if (forbiddenSysctls.length > 0) violations.push(`forbidden sysctls (${forbiddenSysctls.join(', ')})`);

  const privileged = containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length > 0) violations.push(`privileged (${containersPhrase(privileged)} must not set securityContext.privileged=true)`);

  const volumes: Array<Record<string, unknown> & { name: string }> = spec.volumes ?? [];
  const hostPath = volumes.filter((v) => v.hostPath !== undefined).map((v) => v.name);
  if (hostPath.length > 0) violations.push(`hostPath volumes (${hostPath.length === 1 ? 'volume' : 'volumes'} ${quoteList(hostPath)})`);

  const escalation = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  if (escalation.length > 0) {
    violations.push(`allowPrivilegeEscalation != false (${containersPhrase(escalation)} must set securityContext.allowPrivilegeEscalation=false)`);
  }

  const capabilityProblems: string[] = [];
  const noDrop = containers.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
  if (noDrop.length > 0) capabilityProblems.push(`${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  for (const c of containers) {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length > 0) capabilityProblems.push(`container "${c.name}" must not include ${quoteList(extra)} in securityContext.capabilities.add`);
  }
  if (capabilityProblems.length > 0) violations.push(`unrestricted capabilities (${capabilityProblems.join('; ')})`);

  const restrictedVolumes = volumes
    .map((v) => ({ name: v.name, type: Object.keys(v).find((k) => k !== 'name') ?? 'unknown' }))
    .filter((v) => !ALLOWED_VOLUME_KEYS.includes(v.type));
  if (restrictedVolumes.length > 0) {
    const parts = restrictedVolumes.map((v) => `volume "${v.name}" uses restricted volume type "${v.type}"`);
    violations.push(`restricted volume types (${parts.join(', ')})`);
  }

  // runAsNonRoot: the pod-level value is inherited unless a container overrides it.
  if (podSc.runAsNonRoot === false) {
    violations.push('runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)');
  } else {
    const explicitFalse = containers.filter((c) => c.securityContext?.runAsNonRoot === false).map((c) => c.name);
    const unset = podSc.runAsNonRoot === true ? [] : containers.filter((c) => c.securityContext?.runAsNonRoot === undefined).map((c) => c.name);
    const parts: string[] = [];
    if (explicitFalse.length > 0) parts.push(`${containersPhrase(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
    if (unset.length > 0) parts.push(`pod or ${containersPhrase(unset)} must set securityContext.runAsNonRoot=true`);
    if (parts.length > 0) violations.push(`runAsNonRoot != true (${parts.join('; ')})`);
  }

  const rootUser: string[] = [];
  if (podSc.runAsUser === 0) rootUser.push('pod must not set runAsUser=0');
  const rootContainers = containers.filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
  if (rootContainers.length > 0) rootUser.push(`${containersPhrase(rootContainers)} must not set runAsUser=0`);
  if (rootUser.length > 0) violations.push(`runAsUser=0 (${rootUser.join('; ')})`);

  const validSeccomp = (t: string | undefined): boolean => t === 'RuntimeDefault' || t === 'Localhost';
  const podSeccomp = podSc.seccompProfile?.type as string | undefined;
  if (podSeccomp !== undefined && !validSeccomp(podSeccomp)) {
    violations.push(`seccompProfile (pod must not set securityContext.seccompProfile.type to "${podSeccomp}")`);
  } else {
    const bad = containers.filter((c) => {
      const t = c.securityContext?.seccompProfile?.type;
      if (t !== undefined) return !validSeccomp(t);
      return podSeccomp === undefined;
    });
    const invalid = bad.filter((c) => c.securityContext?.seccompProfile?.type !== undefined).map((c) => c.name);
    const unset = bad.filter((c) => c.securityContext?.seccompProfile?.type === undefined).map((c) => c.name);
    const parts: string[] = [];
    if (invalid.length > 0) parts.push(`${containersPhrase(invalid)} must not set securityContext.seccompProfile.type to an unallowed value`);
    if (unset.length > 0) parts.push(`pod or ${containersPhrase(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
    if (parts.length > 0) violations.push(`seccompProfile (${parts.join('; ')})`);
  }
  return violations;
}

export function podSecurityMessage(violations: string[]): string {
  return `violates PodSecurity "restricted:latest": ${violations.join(', ')}`;
}
