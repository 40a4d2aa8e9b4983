import { describe, expect, it } from 'vitest';
import { describeNamespaceFailure, errorFromStatus, isNamespaceScoped, type ApiStatus, type RequestSubject } from '../../src/cluster/api-errors.js';
import { ExitCode } from '../../src/model/errors.js';

const identity = { server: 'https://10.0.0.1:6443', context: 'prod' };
const createPods: RequestSubject = { verb: 'create', resource: 'pods', namespace: 'financial-ml', name: 'netcheck-x-p0' };

describe('errorFromStatus: one line that names what is missing', () => {
  const cases: Array<{ name: string; code: number; status?: ApiStatus; subject?: RequestSubject; reason: string; message: RegExp; hint?: RegExp }> = [
    {
      name: 'RBAC denial names verb, resource and namespace',
      code: 403,
      status: { reason: 'Forbidden', message: 'pods is forbidden: User "ci" cannot create resource "pods" in API group "" in the namespace "financial-ml"' },
      reason: 'Forbidden',
      message: /^forbidden: netcheck needs `create pods` in namespace financial-ml$/,
      hint: /deploy\/rbac\/clusterrole\.yaml/,
    },
    {
      name: 'cluster-wide RBAC denial',
      code: 403,
      status: { message: 'nodes is forbidden' },
      subject: { verb: 'list', resource: 'nodes' },
      reason: 'Forbidden',
      message: /^forbidden: netcheck needs `list nodes` cluster-wide$/,
    },
    {
      name: 'PodSecurity admission is not an RBAC problem',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true' },
      reason: 'PodSecurity',
      message: /pods netcheck-x-p0 rejected by PodSecurity admission in namespace financial-ml: .*runAsNonRoot/,
    },
    {
      name: 'quota',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: exceeded quota: compute, requested: limits.cpu=250m' },
      reason: 'QuotaExceeded',
      message: /exceeds a ResourceQuota in namespace financial-ml/,
    },
    {
      name: 'LimitRange minimum is not an RBAC problem',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum memory usage per Container is 64Mi, but limit is 128Mi]' },
      reason: 'AdmissionDenied',
      message: /rejected by a LimitRange in namespace financial-ml: .*minimum cpu usage per Container is 50m/,
      hint: /LimitRange/,
    },
    {
      name: 'OpenShift SCC (restricted-v2 rejects a fixed UID outside the namespace range)',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: unable to validate against any security context constraint: [provider "restricted-v2": Forbidden: not usable by user or serviceaccount, spec.containers[0].securityContext.runAsUser: Invalid value: 65534: must be in the ranges: [1000680000, 1000689999]]' },
      reason: 'AdmissionDenied',
      message: /rejected by OpenShift SecurityContextConstraints/,
      hint: /65534/,
    },
    {
      name: 'another admission plugin (policy engine) is not an RBAC problem',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: node(s) selector conflicts with its namespace node label selector' },
      reason: 'AdmissionDenied',
      message: /^pods netcheck-x-p0 denied by admission in namespace financial-ml: .*node\(s\) selector conflicts/,
    },
    {
      name: 'RBAC denial naming the object is still RBAC',
      code: 403,
      status: { message: 'pods "netcheck-x-p0" is forbidden: User "ci" cannot create resource "pods" in API group "" in the namespace "financial-ml"' },
      reason: 'Forbidden',
      message: /^forbidden: netcheck needs `create pods`/,
    },
    {
      name: 'missing namespace on create',
      code: 404,
      status: { reason: 'NotFound', message: 'namespaces "financial-ml" not found', details: { name: 'financial-ml', kind: 'namespaces' } },
      reason: 'NamespaceNotFound',
      message: /^namespace financial-ml not found$/,
    },
    {
      name: 'missing object',
      code: 404,
      status: { reason: 'NotFound', details: { name: 'mlflow', kind: 'deployments' } },
      subject: { verb: 'get', resource: 'deployments', namespace: 'financial-ml', name: 'mlflow' },
      reason: 'NotFound',
      message: /^deployments mlflow not found in namespace financial-ml$/,
    },
    { name: 'unauthorized names server and context', code: 401, reason: 'Unauthorized', message: /https:\/\/10\.0\.0\.1:6443 \(context prod\)/ },
    { name: 'expired watch', code: 410, reason: 'Gone', message: /resource version expired/ },
    { name: 'server error', code: 503, status: { message: 'etcd leader changed' }, reason: 'ServerError', message: /failed `create pods` in namespace financial-ml: etcd leader changed/ },
  ];
  it.each(cases)('$name', (c) => {
    const error = errorFromStatus(c.code, c.status, c.subject ?? createPods, identity);
    expect(error.reason).toBe(c.reason);
    expect(error.message).toMatch(c.message);
    expect(error.message).not.toContain('\n');
    expect(error.exitCode).toBe(ExitCode.Infrastructure);
    if (c.hint) expect(error.hint).toMatch(c.hint);
  });
});

describe('namespace-scoped failures: they fail the cells of that namespace, not the run', () => {
  const status403 = { message: 'pods is forbidden: User "ci" cannot create resource "pods" in API group "" in the namespace "seldon-system"' };
  it('a 403 in a namespace names the verb, the resource and what to grant there', () => {
    const error = errorFromStatus(403, status403, { verb: 'create', resource: 'pods', namespace: 'seldon-system' }, identity);
    expect(isNamespaceScoped(error)).toBe(true);
    expect(describeNamespaceFailure(error)).toBe('cannot create pods in seldon-system: RBAC forbids `create pods` — grant deploy/rbac/role.yaml in seldon-system (or deploy/rbac/clusterrole.yaml)');
  });
  it('a missing namespace says so, with a suggestion when given', () => {
    const error = errorFromStatus(404, { details: { kind: 'namespaces', name: 'financial-mll' } }, { verb: 'create', resource: 'pods', namespace: 'financial-mll' }, identity);
    expect(isNamespaceScoped(error)).toBe(true);
    expect(describeNamespaceFailure(error, { didYouMean: 'financial-ml' })).toBe('namespace financial-mll not found; did you mean financial-ml?');
  });
  it('cluster-wide refusals, admission and an unreachable API server are not namespace-scoped', () => {
    expect(isNamespaceScoped(errorFromStatus(403, { message: 'nodes is forbidden' }, { verb: 'list', resource: 'nodes' }, identity))).toBe(false);
    expect(isNamespaceScoped(errorFromStatus(403, { message: 'pods "p" is forbidden: violates PodSecurity "restricted:latest"' }, createPods, identity))).toBe(false);
    expect(isNamespaceScoped(errorFromStatus(401, undefined, createPods, identity))).toBe(false);
    expect(isNamespaceScoped(new Error('x'))).toBe(false);
  });
});
