/**
 * What the API server does to an object before storing it: validation (422 Invalid with field causes),
 * defaulting, ClusterIP allocation and LoadBalancer status (what MetalLB would publish), and PodSecurity
 * admission for namespaces the faults mark "restricted".
 */
import { networkPolicyFromObject, ObjectShapeError, serviceFromObject, NAMESPACE_NAME_LABEL } from '../../../src/policy/from-objects.js';
import type { Faults } from '../types.js';
import { checkRestricted, podSecurityMessage } from './pod-security.js';
import type { ResourceDef } from './resources.js';
import { ApiError, type StatusCause } from './status.js';
import type { KubeObject } from './store.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function required(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field };
}

function invalidValue(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field };
}

/** Namespaces and Services are DNS labels, everything else we serve a DNS subdomain (apimachinery's rules). */
function nameCauses(def: ResourceDef, name: string | undefined): StatusCause[] {
  if (!name) return [required('metadata.name', 'name or generateName is required')];
  if (def.plural === 'namespaces') {
    return DNS1123_LABEL.test(name) && name.length <= 63 ? [] : [invalidValue('metadata.name', name, LABEL_MESSAGE)];
  }
  if (def.plural === 'services') {
    return DNS1035_LABEL.test(name) && name.length <= 63 ? [] : [invalidValue('metadata.name', name, DNS1035_MESSAGE)];
  }
  return DNS1123_SUBDOMAIN.test(name) && name.length <= 253 ? [] : [invalidValue('metadata.name', name, SUBDOMAIN_MESSAGE)];
}

function podCauses(pod: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers: Array<Record<string, any>> = pod.spec?.containers ?? [];
  if (!Array.isArray(containers) || containers.length === 0) return [required('spec.containers')];
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const path = `spec.containers[${i}]`;
    if (!c.name) causes.push(required(`${path}.name`));
    else if (!DNS1123_LABEL.test(c.name)) causes.push(invalidValue(`${path}.name`, c.name, LABEL_MESSAGE));
    else if (seen.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(c.name)}`, field: `${path}.name` });
    if (c.name) seen.add(c.name);
    if (!c.image) causes.push(required(`${path}.image`));
    (c.ports ?? []).forEach((p: Record<string, unknown>, j: number) => {
      const port = p.containerPort;
      if (typeof port !== 'number' || port < 1 || port > 65535) {
        causes.push(invalidValue(`${path}.ports[${j}].containerPort`, port, 'must be between 1 and 65535, inclusive'));
      }
    });
  });
  const deadline = pod.spec?.activeDeadlineSeconds;
  if (deadline !== undefined && (typeof deadline !== 'number' || deadline < 1)) {
    causes.push(invalidValue('spec.activeDeadlineSeconds', deadline, 'must be between 1 and 2147483647, inclusive'));
  }
  return causes;
}

/** A workload's template must make valid pods, and an apps/v1 selector must select the template's labels. */
function workloadCauses(def: ResourceDef, obj: KubeObject): StatusCause[] {
  const template = obj.spec?.template;
  if (!template) return [required('spec.template')];
  const causes = podCauses({ ...obj, spec: template.spec ?? {} }).map((c) => ({ ...c, field: `spec.template.${c.field}` }));
  if (def.group !== 'apps') return causes;
  const matchLabels: Record<string, string> | undefined = obj.spec?.selector?.matchLabels;
  if (!obj.spec?.selector) return [...causes, required('spec.selector')];
  const labels: Record<string, string> = template.metadata?.labels ?? {};
  const selected = Object.entries(matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  if (!selected) causes.push(invalidValue('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  return causes;
}

function shapeCauses(convert: () => unknown): StatusCause[] {
  try {
    convert();
    return [];
  } catch (error) {
    if (error instanceof ObjectShapeError) return [{ reason: 'FieldValueInvalid', message: `Invalid value: ${error.message.slice(error.path.length + 2)}`, field: error.path }];
    throw error;
  }
}

export interface AdmissionContext {
  faults(): Faults;
  allocateClusterIP(requested: string | undefined, service: string): string;
  releaseClusterIP(ip: string): void;
}

function defaultPod(pod: KubeObject): void {
  const spec = pod.spec;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of spec.containers as Array<Record<string, any>>) {
    c.imagePullPolicy ??= String(c.image).endsWith(':latest') || !String(c.image).includes(':') ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
  pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
}

function defaultService(svc: KubeObject, ctx: AdmissionContext): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
    spec.clusterIP = ctx.allocateClusterIP(spec.clusterIP || undefined, `${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  svc.status = { loadBalancer: loadBalancerStatus(svc) };
}

/** What MetalLB publishes: the requested address (spec.loadBalancerIP or its annotation) as ingress. */
export function loadBalancerStatus(svc: KubeObject): Record<string, unknown> {
  if (svc.spec?.type !== 'LoadBalancer') return {};
  const requested = serviceFromObject({ ...svc, status: {} }).loadBalancerIPs;
  return requested.length === 0 ? {} : { ingress: requested.map((ip) => ({ ip, ipMode: 'VIP' })) };
}

/** Validates and defaults an object about to be created; throws ApiError (403/422). */
export function admitCreate(def: ResourceDef, obj: KubeObject, ctx: AdmissionContext, options: { skipPodSecurity?: boolean } = {}): void {
  obj.metadata ??= { name: '' } as unknown as KubeObject['metadata'];
  const generated = !obj.metadata.name && obj.metadata.generateName;
  const nameToCheck = generated ? `${obj.metadata.generateName}x` : obj.metadata.name;
  const causes = nameCauses(def, nameToCheck);
  const displayName = obj.metadata.name ?? '';
  switch (def.plural) {
    case 'pods':
      obj.spec ??= {};
      causes.push(...podCauses(obj));
      break;
    case 'networkpolicies':
      causes.push(...shapeCauses(() => networkPolicyFromObject(obj)));
      break;
    case 'services':
      causes.push(...shapeCauses(() => serviceFromObject(obj)));
      if (obj.spec?.clusterIP !== 'None' && obj.spec?.type !== 'ExternalName' && (obj.spec?.ports ?? []).length === 0) {
        causes.push(required('spec.ports'));
      }
      break;
    case 'deployments':
    case 'statefulsets':
    case 'daemonsets':
    case 'replicasets':
    case 'jobs':
      causes.push(...workloadCauses(def, obj));
      break;
    default:
      break;
  }
  if (causes.length > 0) throw ApiError.invalid(def.kind, def.group, displayName, causes);

  switch (def.plural) {
    case 'namespaces':
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: obj.metadata.name };
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      break;
    case 'pods': {
      const namespace = obj.metadata.namespace ?? '';
      if (!options.skipPodSecurity && ctx.faults().podSecurityRestricted?.includes(namespace)) {
        const violations = checkRestricted(obj);
        if (violations.length > 0) throw ApiError.forbidden('pods', '', displayName, podSecurityMessage(violations));
      }
      defaultPod(obj);
      break;
    }
    case 'services':
      defaultService(obj, ctx);
      break;
    default:
      break;
  }
}

/** Keeps the namespace name label on updates, as the API server does. */
export function admitUpdate(def: ResourceDef, obj: KubeObject, existing: KubeObject): void {
  if (def.plural === 'namespaces') {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: obj.metadata.name };
  }
  if (def.plural === 'services') {
    // ClusterIP is immutable once allocated.
    obj.spec ??= {};
    obj.spec.clusterIP = existing.spec?.clusterIP;
    obj.spec.clusterIPs = existing.spec?.clusterIPs;
    obj.status = { loadBalancer: loadBalancerStatus(obj) };
  }
  if (def.plural === 'pods') {
    // Pod specs are immutable but for a few fields; the lab keeps the stored spec and status (status has its own subresource).
    obj.spec = existing.spec;
    obj.status = existing.status;
  }
}
