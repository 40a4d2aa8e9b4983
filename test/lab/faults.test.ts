/**
 * API-level fault injection (403, PodSecurity, image pull failure, API down, watch cut, slow start) through
 * @kubernetes/client-node, and the data-plane faults passed through in the state the data plane receives.
 */
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDataPlane } from './fake-data-plane.js';
import { startTestLab, statusOf, useFakeLab, waitFor } from './lab-fixture.js';
import type { Faults } from './types.js';

const getLab = useFakeLab({ faults: {} });

const NO_FAULTS: { [K in keyof Required<Faults>]: undefined } = {
  cniIgnoresPolicies: undefined,
  cniIgnoresPoliciesOnNodes: undefined,
  brokenNode: undefined,
  dnsDropped: undefined,
  servicesWithoutEndpoints: undefined,
  forbid: undefined,
  podSecurityRestricted: undefined,
  imagePullFailure: undefined,
  apiDownAfterRequests: undefined,
  watchCutAfterEvents: undefined,
  slowPodStartMs: undefined,
};

afterEach(async () => {
  await getLab().lab.setFaults(NO_FAULTS);
});

function core(): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(getLab().lab.kubeconfigPath);
  return kc.makeApiClient(k8s.CoreV1Api);
}

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(getLab().lab.kubeconfigPath);
  return kc;
}

type SecurityContext = k8s.V1SecurityContext;

function pod(name: string, options: { podSc?: k8s.V1PodSecurityContext; sc?: SecurityContext; spec?: Partial<k8s.V1PodSpec>; image?: string } = {}): k8s.V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      ...(options.podSc ? { securityContext: options.podSc } : {}),
      containers: [{ name: 'probe', image: options.image ?? 'node:20-alpine', command: ['node', '-e', 'setTimeout(()=>{},60000)'], ...(options.sc ? { securityContext: options.sc } : {}) }],
      ...options.spec,
    },
  };
}

async function ensureNamespace(name: string): Promise<void> {
  await core().createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  });
}

describe('forbid: 403 worded like RBAC', () => {
  const cases: Array<{ rule: NonNullable<Faults['forbid']>[number]; call: (c: k8s.CoreV1Api) => Promise<unknown>; message: string }> = [
    {
      rule: { verb: 'create', resource: 'pods', namespace: 'financial-ml' },
      call: (c) => c.createNamespacedPod({ namespace: 'financial-ml', body: pod('x') }),
      message: 'pods "x" is forbidden: User "netcheck" cannot create resource "pods" in API group "" in the namespace "financial-ml"',
    },
    {
      rule: { verb: 'list', resource: 'pods' },
      call: (c) => c.listPodForAllNamespaces(),
      message: 'pods is forbidden: User "netcheck" cannot list resource "pods" in API group "" at the cluster scope',
    },
    {
      rule: { verb: 'get', resource: 'pods/log', namespace: 'financial-ml' },
      call: (c) => c.readNamespacedPodLog({ name: 'anything', namespace: 'financial-ml' }),
      message: 'pods "anything" is forbidden: User "netcheck" cannot get resource "pods/log" in API group "" in the namespace "financial-ml"',
    },
    {
      rule: { verb: 'delete', resource: 'pods' },
      call: (c) => c.deleteNamespacedPod({ name: 'gone', namespace: 'default' }),
      message: 'pods "gone" is forbidden: User "netcheck" cannot delete resource "pods" in API group "" in the namespace "default"',
    },
  ];
  it.each(cases)('$rule.verb $rule.resource', async ({ rule, call, message }) => {
    await ensureNamespace('financial-ml');
    await getLab().lab.setFaults({ forbid: [rule] });
    expect(await statusOf(call(core()))).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden', message });
  });

  it('only matches the namespace it names', async () => {
    await getLab().lab.setFaults({ forbid: [{ verb: 'create', resource: 'pods', namespace: 'financial-ml' }] });
    const created = await core().createNamespacedPod({ namespace: 'default', body: pod('allowed-elsewhere') });
    expect(created.metadata!.name).toBe('allowed-elsewhere');
  });

  it('forbids watch as its own verb', async () => {
    await getLab().lab.setFaults({ forbid: [{ verb: 'watch', resource: 'pods' }] });
    const result = await new Promise<unknown>((resolve) => {
      void new k8s.Watch(kubeConfig()).watch('/api/v1/pods', {}, () => undefined, resolve).catch(resolve);
    });
    expect(String(result)).toMatch(/403|Forbidden/);
    // list is still allowed
    await core().listPodForAllNamespaces();
  });
});

describe('PodSecurity restricted', () => {
  const compliantPod: k8s.V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  const compliantContainer: SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  const cases: Array<{ what: string; build: (name: string) => k8s.V1Pod; violations: string | undefined }> = [
    { what: 'compliant pod', build: (n) => pod(n, { podSc: compliantPod, sc: compliantContainer }), violations: undefined },
    {
      what: 'container-level runAsNonRoot and Localhost seccomp',
      build: (n) => pod(n, { sc: { ...compliantContainer, runAsNonRoot: true, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } }),
      violations: undefined,
    },
    { what: 'NET_BIND_SERVICE may be added', build: (n) => pod(n, { podSc: compliantPod, sc: { ...compliantContainer, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }), violations: undefined },
    {
      what: 'only allowPrivilegeEscalation missing',
      build: (n) => pod(n, { podSc: compliantPod, sc: { capabilities: { drop: ['ALL'] } } }),
      violations: 'allowPrivilegeEscalation != false (container "probe" must set securityContext.allowPrivilegeEscalation=false)',
    },
    {
      what: 'no security context at all',
      build: (n) => pod(n),
      violations:
        'allowPrivilegeEscalation != false (container "probe" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "probe" must set securityContext.capabilities.drop=["ALL"]), ' +
        'runAsNonRoot != true (pod or container "probe" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "probe" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    },
    {
      what: 'extra capability',
      build: (n) => pod(n, { podSc: compliantPod, sc: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }),
      violations: 'unrestricted capabilities (container "probe" must not include "NET_ADMIN" in securityContext.capabilities.add)',
    },
    {
      what: 'hostNetwork and privileged',
      build: (n) => pod(n, { podSc: compliantPod, sc: { ...compliantContainer, privileged: true }, spec: { hostNetwork: true } }),
      violations: 'host namespaces (hostNetwork=true), privileged (container "probe" must not set securityContext.privileged=true)',
    },
    {
      what: 'hostPath volume',
      build: (n) => pod(n, { podSc: compliantPod, sc: compliantContainer, spec: { volumes: [{ name: 'h', hostPath: { path: '/' } }] } }),
      violations: 'hostPath volumes (volume "h"), restricted volume types (volume "h" uses restricted volume type "hostPath")',
    },
    {
      what: 'safe sysctl for low ports',
      build: (n) => pod(n, { podSc: { ...compliantPod, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] }, sc: compliantContainer }),
      violations: undefined,
    },
    {
      what: 'unsafe sysctl',
      build: (n) => pod(n, { podSc: { ...compliantPod, sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] }, sc: compliantContainer }),
      violations: 'forbidden sysctls (net.core.somaxconn)',
    },
    {
      what: 'runAsNonRoot false at pod level',
      build: (n) => pod(n, { podSc: { ...compliantPod, runAsNonRoot: false }, sc: compliantContainer }),
      violations: 'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)',
    },
  ];
  it.each(cases)('$what', async ({ what, build, violations }) => {
    await ensureNamespace('restricted');
    await getLab().lab.setFaults({ podSecurityRestricted: ['restricted'] });
    const name = what.replace(/[^a-z]+/gi, '-').toLowerCase().replace(/^-|-$/g, '');
    const body = build(name);
    if (violations === undefined) {
      const created = await core().createNamespacedPod({ namespace: 'restricted', body });
      expect(created.metadata!.name).toBe(name);
      return;
    }
    const status = await statusOf(core().createNamespacedPod({ namespace: 'restricted', body }));
    expect(status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(status.message).toBe(`pods "${name}" is forbidden: violates PodSecurity "restricted:latest": ${violations}`);
    // Namespaces not listed keep admitting the same pod.
    const elsewhere = await core().createNamespacedPod({ namespace: 'default', body: { ...body, metadata: { name: `ok-${name}`.slice(0, 60) } } });
    expect(elsewhere.metadata!.name).toBeDefined();
  });
});

describe('faults at start', () => {
  it('seeded workloads run in a restricted namespace; pods created afterwards are checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netcheck-faults-test-'));
    try {
      writeFileSync(
        join(dir, 'app.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: locked}\nspec:\n  template:\n    metadata: {labels: {app: app}}\n    spec: {containers: [{name: app, image: app:1}]}\n',
      );
      const lab = await startTestLab({ manifests: [dir], faults: { podSecurityRestricted: ['locked'] } }, { createDataPlane: () => new FakeDataPlane() });
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      const c = kc.makeApiClient(k8s.CoreV1Api);
      const seeded = await c.listNamespacedPod({ namespace: 'locked' });
      expect(seeded.items.map((p) => p.status!.phase)).toEqual(['Running']);
      expect((await statusOf(c.createNamespacedPod({ namespace: 'locked', body: pod('late') }))).code).toBe(403);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image pull failure', () => {
  it('keeps the pod Pending: ErrImagePull, then ImagePullBackOff, with kubelet-style events', async () => {
    await getLab().lab.setFaults({ imagePullFailure: ['registry.example/netcheck:missing'] });
    await core().createNamespacedPod({ namespace: 'default', body: pod('unpullable', { image: 'registry.example/netcheck:missing' }) });
    const reasons = new Set<string>();
    const backOff = await waitFor('ImagePullBackOff', async () => {
      const p = await core().readNamespacedPod({ name: 'unpullable', namespace: 'default' });
      const reason = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason) reasons.add(reason);
      return reason === 'ImagePullBackOff' ? p : undefined;
    });
    expect(backOff.status!.phase).toBe('Pending');
    expect(reasons).toContain('ImagePullBackOff');
    const events = await core().listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=unpullable' });
    const warnings = events.items.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`);
    expect(warnings).toContain('BackOff: Back-off pulling image "registry.example/netcheck:missing"');
    expect(warnings.some((w) => w.startsWith('Failed: Failed to pull image "registry.example/netcheck:missing": rpc error'))).toBe(true);
    expect(warnings).toContain('Failed: Error: ErrImagePull');
    const logStatus = await statusOf(core().readNamespacedPodLog({ name: 'unpullable', namespace: 'default' }));
    expect(logStatus.message).toBe('container "probe" in pod "unpullable" is waiting to start: trying and failing to pull image');
  });
});

describe('API down after N requests', () => {
  it('destroys connections once the budget is used up', async () => {
    await getLab().lab.setFaults({ apiDownAfterRequests: 2 });
    await core().listNamespace();
    await core().listNamespace();
    const error = await core().listNamespace().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(k8s.ApiException);
    expect(String((error as Error).message)).toMatch(/socket hang up|ECONNRESET|other side closed|fetch failed|network/i);
  });
});

describe('watch cut after N events', () => {
  it('ends the stream after that many events', async () => {
    await getLab().lab.setFaults({ watchCutAfterEvents: 2 });
    const events: string[] = [];
    const done = await new Promise<unknown>((resolve) => {
      void new k8s.Watch(kubeConfig()).watch('/api/v1/namespaces', {}, (type, obj: k8s.V1Namespace) => events.push(`${type} ${obj.metadata!.name}`), resolve);
    });
    expect(events).toHaveLength(2);
    expect(done).toBeDefined();
  });
});

describe('slow pod start', () => {
  it('holds a scheduled pod in ContainerCreating before it runs', async () => {
    await getLab().lab.setFaults({ slowPodStartMs: 1500 });
    await core().createNamespacedPod({ namespace: 'default', body: pod('slowpoke') });
    const creating = await waitFor('ContainerCreating', async () => {
      const p = await core().readNamespacedPod({ name: 'slowpoke', namespace: 'default' });
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating' ? p : undefined;
    });
    expect(creating.status!.phase).toBe('Pending');
    const running = await waitFor('Running', async () => {
      const p = await core().readNamespacedPod({ name: 'slowpoke', namespace: 'default' });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(running.status!.podIP).toBeDefined();
  });
});

describe('data-plane faults pass through', () => {
  it('sends cniIgnoresPolicies, cniIgnoresPoliciesOnNodes, brokenNode, dnsDropped in the state, and withholds endpoints of listed services', async () => {
    const c = core();
    await ensureNamespace('noep');
    const p = pod('backend');
    p.metadata!.labels = { app: 'backend' };
    await c.createNamespacedPod({ namespace: 'noep', body: p });
    await c.createNamespacedService({ namespace: 'noep', body: { metadata: { name: 'backend' }, spec: { selector: { app: 'backend' }, ports: [{ port: 80 }] } } });
    await waitFor('endpoints', async () => ((await c.readNamespacedEndpoints({ name: 'backend', namespace: 'noep' })).subsets?.length ? true : undefined));

    await getLab().lab.setFaults({ cniIgnoresPolicies: true, cniIgnoresPoliciesOnNodes: ['lab-node-a'], brokenNode: 'lab-node-b', dnsDropped: true, servicesWithoutEndpoints: ['noep/backend'] });
    const state = getLab().dataPlane.lastState!;
    expect(state.faults).toMatchObject({ cniIgnoresPolicies: true, cniIgnoresPoliciesOnNodes: ['lab-node-a'], brokenNode: 'lab-node-b', dnsDropped: true });
    expect(state.services.find((s) => s.name === 'backend')!.ports[0]!.endpoints).toEqual([]);
    const ep = await c.readNamespacedEndpoints({ name: 'backend', namespace: 'noep' });
    expect(ep.subsets ?? []).toEqual([]);
  });
});
