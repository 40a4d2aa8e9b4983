/**
 * Turning API failures into ClusterErrors that name what is missing, in one line.
 * `reason` is machine-readable: Forbidden (RBAC), PodSecurity, QuotaExceeded, AdmissionDenied,
 * NamespaceNotFound, NotFound, AlreadyExists, Gone, Invalid, Unauthorized, Unreachable, Timeout,
 * TooManyRequests, ServerError, or the Status reason the server sent.
 */
import { ClusterError } from '../model/errors.js';

/** What a request was about, in RBAC terms (verb + resource), for error messages. */
export interface RequestSubject {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface ServerIdentity {
  server: string;
  context: string;
}

/** The subset of a metav1.Status body netcheck reads. */
export interface ApiStatus {
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string };
}

const rbacHint = 'apply deploy/rbac/clusterrole.yaml (full runs) or deploy/rbac/role.yaml (one namespace)';

function describeSubject(subject: RequestSubject): string {
  return subject.namespace === undefined ? 'cluster-wide' : `in namespace ${subject.namespace}`;
}

export function errorFromStatus(
  httpStatus: number,
  status: ApiStatus | undefined,
  subject: RequestSubject,
  identity: ServerIdentity,
): ClusterError {
  const serverMessage = status?.message ?? `HTTP ${httpStatus}`;
  const details = { verb: subject.verb, resource: subject.resource, namespace: subject.namespace };
  const what = subject.name === undefined ? subject.resource : `${subject.resource} ${subject.name}`;
  switch (httpStatus) {
    case 401:
      return new ClusterError(
        `unauthorized: ${identity.server} (context ${identity.context}) rejected netcheck's credentials`,
        { ...details, reason: 'Unauthorized' },
        { hint: 'refresh the credentials in your kubeconfig' },
      );
    case 403: {
      if (/violates PodSecurity/i.test(serverMessage)) {
        return new ClusterError(
          `${what} rejected by PodSecurity admission ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'PodSecurity' },
          { hint: 'use an image that runs as non-root, or relax the namespace pod-security.kubernetes.io/enforce label' },
        );
      }
      if (/exceeded quota/i.test(serverMessage)) {
        return new ClusterError(
          `${what} exceeds a ResourceQuota ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'QuotaExceeded' },
          { hint: 'raise the quota or wait for other pods in the namespace to finish' },
        );
      }
      if (/usage per (Container|Pod)|LimitRange|limit to request ratio/i.test(serverMessage)) {
        return new ClusterError(
          `${what} rejected by a LimitRange ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'AdmissionDenied' },
          { hint: 'the probe pod asks for cpu 10m-250m and memory 48Mi-128Mi (src/probe/pod-spec.ts); relax the namespace LimitRange or probe from another namespace' },
        );
      }
      if (/security context constraint/i.test(serverMessage)) {
        return new ClusterError(
          `${what} rejected by OpenShift SecurityContextConstraints ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'AdmissionDenied' },
          { hint: 'the probe pod runs as UID 65534; grant the namespace\'s service account an SCC that allows it (e.g. nonroot-v2)' },
        );
      }
      // RBAC says `... is forbidden: User "x" cannot <verb> resource ...`; any other `is forbidden: <why>` is an
      // admission plugin refusing this object (a webhook, a policy engine), which concerns this pod only.
      if (/admission webhook/i.test(serverMessage) || /is forbidden: (?!User ")\S/.test(serverMessage)) {
        return new ClusterError(
          `${what} denied by admission ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'AdmissionDenied' },
        );
      }
      return new ClusterError(
        `forbidden: netcheck needs \`${subject.verb} ${subject.resource}\` ${describeSubject(subject)}`,
        { ...details, reason: 'Forbidden' },
        { hint: rbacHint },
      );
    }
    case 404:
      if (status?.details?.kind === 'namespaces' || (subject.resource === 'namespaces' && subject.verb === 'get')) {
        const ns = status?.details?.name ?? subject.namespace ?? subject.name ?? '?';
        return new ClusterError(`namespace ${ns} not found`, { ...details, namespace: ns, reason: 'NamespaceNotFound' });
      }
      return new ClusterError(`${what} not found ${describeSubject(subject)}`, { ...details, reason: 'NotFound' });
    case 409:
      return new ClusterError(`${what} already exists ${describeSubject(subject)}`, { ...details, reason: 'AlreadyExists' });
    case 410:
      return new ClusterError(`resource version expired while watching ${subject.resource}`, { ...details, reason: 'Gone' });
    case 422:
      return new ClusterError(`the API server rejected ${what} as invalid: ${serverMessage}`, { ...details, reason: 'Invalid' });
    case 429:
      return new ClusterError(
        `the API server ${identity.server} kept throttling netcheck (429) on \`${subject.verb} ${subject.resource}\``,
        { ...details, reason: 'TooManyRequests' },
      );
    default:
      if (httpStatus >= 500) {
        return new ClusterError(
          `the API server ${identity.server} failed \`${subject.verb} ${subject.resource}\` ${describeSubject(subject)}: ${serverMessage}`,
          { ...details, reason: 'ServerError' },
        );
      }
      return new ClusterError(
        `\`${subject.verb} ${subject.resource}\` ${describeSubject(subject)} failed: ${serverMessage}`,
        { ...details, reason: status?.reason ?? `HTTP${httpStatus}` },
      );
  }
}

/**
 * A failure confined to one namespace (RBAC there, or the namespace missing): it fails the cells that need that
 * namespace, not the run. Cluster-wide failures (unreachable, unauthorized, throttled) still stop the run.
 */
export function isNamespaceScoped(error: unknown): error is ClusterError {
  return error instanceof ClusterError && error.namespace !== undefined && (error.reason === 'Forbidden' || error.reason === 'NamespaceNotFound');
}

/**
 * One line for a cell that could not run because of a namespace-scoped failure, naming the verb, the resource and
 * what to grant, e.g. "cannot create pods in seldon-system: RBAC forbids `create pods` — grant
 * deploy/rbac/role.yaml in seldon-system".
 */
export function describeNamespaceFailure(error: ClusterError, options: { didYouMean?: string } = {}): string {
  const ns = error.namespace ?? '?';
  if (error.reason === 'NamespaceNotFound') {
    return `namespace ${ns} not found${options.didYouMean !== undefined ? `; did you mean ${options.didYouMean}?` : ''}`;
  }
  if (error.reason === 'Forbidden' && error.verb !== undefined && error.resource !== undefined) {
    return `cannot ${error.verb} ${error.resource} in ${ns}: RBAC forbids \`${error.verb} ${error.resource}\` — grant deploy/rbac/role.yaml in ${ns} (or deploy/rbac/clusterrole.yaml)`;
  }
  return error.message;
}

export function unreachableError(code: string, subject: RequestSubject, identity: ServerIdentity, cause: unknown): ClusterError {
  return new ClusterError(
    `API server ${identity.server} (context ${identity.context}) unreachable: ${code}`,
    { verb: subject.verb, resource: subject.resource, namespace: subject.namespace, reason: 'Unreachable' },
    { hint: 'check the server address, VPN and --context', cause },
  );
}

export function timeoutError(ms: number, subject: RequestSubject, identity: ServerIdentity): ClusterError {
  return new ClusterError(
    `API server ${identity.server} (context ${identity.context}) did not answer \`${subject.verb} ${subject.resource}\` within ${ms} ms`,
    { verb: subject.verb, resource: subject.resource, namespace: subject.namespace, reason: 'Timeout' },
  );
}

export function tlsError(code: string, subject: RequestSubject, identity: ServerIdentity, cause: unknown): ClusterError {
  return new ClusterError(
    `API server ${identity.server} (context ${identity.context}): TLS verification failed: ${code}`,
    { verb: subject.verb, resource: subject.resource, namespace: subject.namespace, reason: 'TLS' },
    { hint: 'the kubeconfig\'s certificate-authority does not match the server (or the server name differs)', cause },
  );
}
