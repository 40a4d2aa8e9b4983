/**
 * The lab API server through @kubernetes/client-node: CRUD, selectors, Status errors, watches with
 * resourceVersion, logs, and the pod lifecycle the kubelet drives. Runs on the in-memory data plane; the
 * Linux data plane is exercised end to end in lab.test.ts.
 */
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeDataPlane } from './fake-data-plane.js';
import { startTestLab, statusOf, useFakeLab, waitFor } from './lab-fixture.js';

const getLab = useFakeLab();

function clients(): { core: k8s.CoreV1Api; net: k8s.NetworkingV1Api; discovery: k8s.DiscoveryV1Api; kc: k8s.KubeConfig } {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(getLab().lab.kubeconfigPath);
  return { core: kc.makeApiClient(k8s.CoreV1Api), net: kc.makeApiClient(k8s.NetworkingV1Api), discovery: kc.makeApiClient(k8s.DiscoveryV1Api), kc };
}

function nodePod(name: string, namespace: string, script: string, extra: Partial<k8s.V1PodSpec> = {}, labels: Record<string, string> = {}): k8s.V1Pod {
  return {
    metadata: { name, namespace, labels },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'node:20-alpine', command: ['node', '-e', script] }], ...extra },
  };
}

async function ensureNamespace(core: k8s.CoreV1Api, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name, labels } } });
  } catch (error) {
    if (!(error instanceof k8s.ApiException && error.code === 409)) throw error;
  }
}

async function podPhase(core: k8s.CoreV1Api, namespace: string, name: string, phases: string[]): Promise<k8s.V1Pod> {
  return waitFor(`pod ${namespace}/${name} in ${phases.join('|')}`, async () => {
    const pod = await core.readNamespacedPod({ name, namespace });
    return phases.includes(pod.status?.phase ?? '') ? pod : undefined;
  });
}

describe('built-in objects', () => {
  it('has system namespaces with the metadata.name label, two Ready nodes, kubernetes and kube-dns services', async () => {
    const { core } = clients();
    const namespaces = await core.listNamespace();
    const byName = new Map(namespaces.items.map((n) => [n.metadata!.name!, n]));
    for (const ns of ['default', 'kube-system']) expect(byName.get(ns)?.metadata?.labels?.['kubernetes.io/metadata.name']).toBe(ns);
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata!.name)).toEqual(['lab-node-a', 'lab-node-b']);
    expect(nodes.items[0]!.metadata!.labels!['kubernetes.io/hostname']).toBe('lab-node-a');
    expect((await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' })).spec!.clusterIP).toBe('10.96.0.1');
    const dns = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
    expect(dns.spec!.clusterIP).toBe(getLab().dataPlane.dnsServiceIP);
    const dnsPods = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' });
    expect(dnsPods.items).toHaveLength(1);
    const spec = [...getLab().dataPlane.running.values()].find((s) => s.role === 'dns');
    expect(spec?.name).toBe(dnsPods.items[0]!.metadata!.name);
  });
});

describe('selectors', () => {
  const pods: Array<[string, Record<string, string>]> = [
    ['sel-a', { app: 'web', tier: 'front' }],
    ['sel-b', { app: 'web', tier: 'back' }],
    ['sel-c', { app: 'db' }],
  ];
  const cases: Array<{ labelSelector?: string; fieldSelector?: string; want: string[] }> = [
    { labelSelector: 'app=web', want: ['sel-a', 'sel-b'] },
    { labelSelector: 'app==db', want: ['sel-c'] },
    { labelSelector: 'app!=web', want: ['sel-c'] },
    { labelSelector: 'tier in (front, middle)', want: ['sel-a'] },
    { labelSelector: 'tier notin (front)', want: ['sel-b', 'sel-c'] },
    { labelSelector: 'tier', want: ['sel-a', 'sel-b'] },
    { labelSelector: '!tier', want: ['sel-c'] },
    { labelSelector: 'app=web,tier=back', want: ['sel-b'] },
    { fieldSelector: 'metadata.name=sel-b', want: ['sel-b'] },
    { fieldSelector: 'metadata.name!=sel-b', want: ['sel-a', 'sel-c'] },
    { fieldSelector: 'metadata.namespace=selectors', want: ['sel-a', 'sel-b', 'sel-c'] },
  ];
  it.each(cases)('labelSelector=$labelSelector fieldSelector=$fieldSelector', async ({ labelSelector, fieldSelector, want }) => {
    const { core } = clients();
    await ensureNamespace(core, 'selectors');
    for (const [name, labels] of pods) {
      await core.createNamespacedPod({ namespace: 'selectors', body: nodePod(name, 'selectors', 'setTimeout(()=>{}, 60000)', {}, labels) }).catch(() => undefined);
    }
    const list = await core.listNamespacedPod({ namespace: 'selectors', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) });
    expect(list.items.map((p) => p.metadata!.name)).toEqual(want);
  });

  it('selects by status.phase and spec.nodeName across all namespaces', async () => {
    const { core } = clients();
    const running = await waitFor('selector pods running', async () => {
      const list = await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running,metadata.namespace=selectors' });
      return list.items.length === 3 ? list : undefined;
    });
    const node = running.items[0]!.spec!.nodeName!;
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node},metadata.namespace=selectors` });
    expect(onNode.items.length).toBeGreaterThan(0);
    expect(onNode.items.every((p) => p.spec!.nodeName === node)).toBe(true);
  });

  it('deletes a collection by label selector', async () => {
    const { core } = clients();
    await core.deleteCollectionNamespacedPod({ namespace: 'selectors', labelSelector: 'app=web' });
    const left = await core.listNamespacedPod({ namespace: 'selectors' });
    expect(left.items.map((p) => p.metadata!.name)).toEqual(['sel-c']);
  });
});

describe('writes', () => {
  it('names objects from generateName, replaces with PUT, and refuses a stale resourceVersion (409 Conflict)', async () => {
    const { core } = clients();
    const created = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { generateName: 'gen-' }, spec: nodePod('x', 'default', 'setTimeout(()=>{},60000)').spec! } });
    expect(created.metadata!.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(created.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata!.creationTimestamp).toBeInstanceOf(Date);

    await ensureNamespace(core, 'put-me');
    const ns = await core.readNamespace({ name: 'put-me' });
    const stale = structuredClone(ns);
    ns.metadata!.labels = { ...ns.metadata!.labels, tier: 'gold' };
    const replaced = await core.replaceNamespace({ name: 'put-me', body: ns });
    expect(replaced.metadata!.labels).toEqual({ 'kubernetes.io/metadata.name': 'put-me', tier: 'gold' });
    expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(stale.metadata!.resourceVersion));
    const conflict = await statusOf(core.replaceNamespace({ name: 'put-me', body: stale }));
    expect(conflict).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('lists events across namespaces', async () => {
    const { core } = clients();
    const events = await waitFor('scheduling events', async () => {
      const list = await core.listEventForAllNamespaces({ fieldSelector: 'reason=Scheduled' });
      return list.items.length > 0 ? list : undefined;
    });
    expect(events.items[0]!.message).toMatch(/^Successfully assigned \S+\/\S+ to lab-node-[ab]$/);
  });
});

describe('Status errors', () => {
  const cases: Array<{ what: string; call: (core: k8s.CoreV1Api) => Promise<unknown>; code: number; reason: string; message: RegExp; field?: string }> = [
    { what: 'missing pod', call: (core) => core.readNamespacedPod({ name: 'nope', namespace: 'default' }), code: 404, reason: 'NotFound', message: /^pods "nope" not found$/ },
    { what: 'missing namespace on create', call: (core) => core.createNamespacedPod({ namespace: 'ghost', body: nodePod('x', 'ghost', '') }), code: 404, reason: 'NotFound', message: /^namespaces "ghost" not found$/ },
    { what: 'duplicate namespace', call: (core) => core.createNamespace({ body: { metadata: { name: 'default' } } }), code: 409, reason: 'AlreadyExists', message: /^namespaces "default" already exists$/ },
    {
      what: 'pod without containers',
      call: (core) => core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'empty' }, spec: { containers: [] } } }),
      code: 422,
      reason: 'Invalid',
      message: /^Pod "empty" is invalid: spec.containers: Required value$/,
      field: 'spec.containers',
    },
    {
      what: 'bad pod name',
      call: (core) => core.createNamespacedPod({ namespace: 'default', body: nodePod('Bad_Name', 'default', '') }),
      code: 422,
      reason: 'Invalid',
      message: /^Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
      field: 'metadata.name',
    },
    {
      what: 'container without image',
      call: (core) => core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'noimage' }, spec: { containers: [{ name: 'c' }] } } }),
      code: 422,
      reason: 'Invalid',
      message: /spec.containers\[0\].image: Required value/,
      field: 'spec.containers[0].image',
    },
  ];
  it.each(cases)('$what → $code $reason', async ({ call, code, reason, message, field }) => {
    const status = await statusOf(call(clients().core));
    expect(status).toMatchObject({ kind: 'Status', code, reason });
    expect(status.message).toMatch(message);
    if (field) expect(status.details?.causes?.map((c) => c.field)).toContain(field);
  });
});

describe('watch', () => {
  function collect(kc: k8s.KubeConfig, path: string, query: Record<string, string | boolean>): { events: Array<{ type: string; object: any }>; done: Promise<unknown>; abort: () => void } {
    const events: Array<{ type: string; object: any }> = [];
    let abortController: AbortController | undefined;
    let resolveDone: (value: unknown) => void = () => undefined;
    const done = new Promise((resolve) => (resolveDone = resolve));
    void new k8s.Watch(kc)
      .watch(path, query, (type, object) => events.push({ type, object }), (err) => resolveDone(err ?? 'closed'))
      .then((c) => (abortController = c));
    return { events, done, abort: () => abortController?.abort() };
  }

  it('sends ADDED for existing objects without a resourceVersion, then live events', async () => {
    const { core, kc } = clients();
    await ensureNamespace(core, 'watch-a');
    await core.createNamespacedPod({ namespace: 'watch-a', body: nodePod('first', 'watch-a', 'setTimeout(()=>{},60000)') });
    const w = collect(kc, '/api/v1/namespaces/watch-a/pods', {});
    await waitFor('ADDED first', () => (w.events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'first') ? true : undefined));
    await core.deleteNamespacedPod({ name: 'first', namespace: 'watch-a' });
    await waitFor('DELETED first', () => (w.events.some((e) => e.type === 'DELETED') ? true : undefined));
    w.abort();
    expect(w.events[0]!.type).toBe('ADDED');
  });

  it('resumes after a resourceVersion: only later events, phase transitions included', async () => {
    const { core, kc } = clients();
    await ensureNamespace(core, 'watch-b');
    await core.createNamespacedPod({ namespace: 'watch-b', body: nodePod('old', 'watch-b', 'setTimeout(()=>{},60000)') });
    const list = await core.listNamespacedPod({ namespace: 'watch-b' });
    const rv = list.metadata!.resourceVersion!;
    const w = collect(kc, '/api/v1/namespaces/watch-b/pods', { resourceVersion: rv, labelSelector: 'pick=yes' });
    await core.createNamespacedPod({ namespace: 'watch-b', body: nodePod('new', 'watch-b', 'process.exit(0)', {}, { pick: 'yes' }) });
    await waitFor('new pod Succeeded in the stream', () => (w.events.some((e) => e.object.status?.phase === 'Succeeded') ? true : undefined));
    w.abort();
    expect(new Set(w.events.map((e) => e.object.metadata.name))).toEqual(new Set(['new']));
    expect(w.events[0]!.type).toBe('ADDED');
    const phases = w.events.map((e) => e.object.status?.phase);
    expect(phases.indexOf('Running')).toBeLessThan(phases.indexOf('Succeeded'));
    expect(w.events.every((e) => Number(e.object.metadata.resourceVersion) > Number(rv))).toBe(true);
  });

  it('reports an object leaving or entering a label selector as DELETED / ADDED', async () => {
    const { core, kc } = clients();
    await ensureNamespace(core, 'watch-d');
    await core.createNamespacedPod({ namespace: 'watch-d', body: nodePod('mover', 'watch-d', 'setTimeout(()=>{},60000)', {}, { team: 'a' }) });
    const rv = (await core.listNamespacedPod({ namespace: 'watch-d' })).metadata!.resourceVersion!;
    const w = collect(kc, '/api/v1/namespaces/watch-d/pods', { resourceVersion: rv, labelSelector: 'team=a' });
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await waitFor('mover running', async () => ((await core.readNamespacedPod({ name: 'mover', namespace: 'watch-d' })).status?.phase === 'Running' ? true : undefined));
    await core.patchNamespacedPod({ name: 'mover', namespace: 'watch-d', body: { metadata: { labels: { team: 'b' } } } }, merge);
    await core.patchNamespacedPod({ name: 'mover', namespace: 'watch-d', body: { metadata: { labels: { team: 'b', touched: 'yes' } } } }, merge);
    await core.patchNamespacedPod({ name: 'mover', namespace: 'watch-d', body: { metadata: { labels: { team: 'a' } } } }, merge);
    await waitFor('ADDED after DELETED', () => (w.events.filter((e) => e.type === 'ADDED').length > 0 && w.events.at(-1)!.type === 'ADDED' ? true : undefined));
    w.abort();
    const types = w.events.map((e) => e.type);
    const deleted = types.indexOf('DELETED');
    expect(deleted).toBeGreaterThanOrEqual(0);
    expect(types.slice(deleted)).toEqual(['DELETED', 'ADDED']);
    expect(w.events[deleted]!.object.metadata.labels.team).toBe('b');
  });

  it('answers a too-old resourceVersion with an in-stream 410 Expired', async () => {
    // A lab with a short history, so resourceVersion "2" is compacted away after a few writes.
    const lab = await startTestLab({}, { historyLimit: 20, createDataPlane: () => new FakeDataPlane() });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(lab.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 30; i++) {
      await core.patchNamespace({ name: 'default', body: { metadata: { labels: { churn: String(i) } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    }
    const w = collect(kc, '/api/v1/namespaces', { resourceVersion: '2' });
    await w.done;
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });
});

describe('pod lifecycle and logs', () => {
  it('runs a node command: log served, exit 0 → Succeeded with terminated.reason Completed', async () => {
    const { core } = clients();
    await core.createNamespacedPod({ namespace: 'default', body: nodePod('hello', 'default', "console.log('hello from the pod'); console.error('on stderr')") });
    const pod = await podPhase(core, 'default', 'hello', ['Succeeded', 'Failed']);
    expect(pod.status!.phase).toBe('Succeeded');
    expect(pod.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(pod.status!.podIP).toMatch(/^10\.244\./);
    const log = await core.readNamespacedPodLog({ name: 'hello', namespace: 'default' });
    expect(log).toContain('hello from the pod\n');
    expect(log).toContain('on stderr\n');
    expect(await core.readNamespacedPodLog({ name: 'hello', namespace: 'default', tailLines: 1 })).toMatch(/^[^\n]+\n$/);
  });

  it('follows a log until the container ends', async () => {
    const { core, kc } = clients();
    await core.createNamespacedPod({ namespace: 'default', body: nodePod('ticker', 'default', "let i=0; const t=setInterval(()=>{console.log('tick '+i); if(++i===3){clearInterval(t)}}, 100)") });
    await podPhase(core, 'default', 'ticker', ['Running', 'Succeeded']);
    let text = '';
    const log = new k8s.Log(kc);
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (text += c.toString()));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    await log.log('default', 'ticker', 'main', stream, { follow: true });
    await ended;
    expect(text).toBe('tick 0\ntick 1\ntick 2\n');
  });

  it('exit code 3 → Failed with terminated exitCode 3, reason Error', async () => {
    const { core } = clients();
    await core.createNamespacedPod({ namespace: 'default', body: nodePod('fails', 'default', 'process.exit(3)') });
    const pod = await podPhase(core, 'default', 'fails', ['Failed']);
    expect(pod.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('activeDeadlineSeconds kills the pod: Failed, reason DeadlineExceeded', async () => {
    const { core } = clients();
    await core.createNamespacedPod({ namespace: 'default', body: nodePod('overdue', 'default', 'setTimeout(()=>{}, 600000)', { activeDeadlineSeconds: 1 }) });
    const pod = await podPhase(core, 'default', 'overdue', ['Failed']);
    expect(pod.status!.reason).toBe('DeadlineExceeded');
    expect(getLab().dataPlane.removed).toContain(pod.metadata!.uid);
  });

  it('a non-node command fails the pod with a StartError container status saying why', async () => {
    const { core } = clients();
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'curl' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'curlimages/curl', command: ['curl', 'http://x'] }] } },
    });
    const pod = await podPhase(core, 'default', 'curl', ['Failed']);
    const terminated = pod.status!.containerStatuses![0]!.state!.terminated!;
    expect(terminated.reason).toBe('StartError');
    expect(terminated.message).toMatch(/runs only "node" commands/);
    expect(await core.readNamespacedPodLog({ name: 'curl', namespace: 'default' })).toBe('');
  });

  it('delete removes the pod from the data plane and the API at once', async () => {
    const { core } = clients();
    await core.createNamespacedPod({ namespace: 'default', body: nodePod('doomed', 'default', 'setTimeout(()=>{}, 600000)', { terminationGracePeriodSeconds: 0 }) });
    const pod = await podPhase(core, 'default', 'doomed', ['Running']);
    await core.deleteNamespacedPod({ name: 'doomed', namespace: 'default' });
    expect((await statusOf(core.readNamespacedPod({ name: 'doomed', namespace: 'default' }))).code).toBe(404);
    await waitFor('removePod', () => (getLab().dataPlane.removed.includes(pod.metadata!.uid!) ? true : undefined));
  });

  it('schedules round-robin and honours nodeSelector kubernetes.io/hostname', async () => {
    const { core } = clients();
    await ensureNamespace(core, 'sched');
    for (const name of ['s1', 's2']) await core.createNamespacedPod({ namespace: 'sched', body: nodePod(name, 'sched', 'setTimeout(()=>{},60000)') });
    await core.createNamespacedPod({ namespace: 'sched', body: nodePod('pinned', 'sched', 'setTimeout(()=>{},60000)', { nodeSelector: { 'kubernetes.io/hostname': 'lab-node-b' } }) });
    const s1 = await podPhase(core, 'sched', 's1', ['Running']);
    const s2 = await podPhase(core, 'sched', 's2', ['Running']);
    const pinned = await podPhase(core, 'sched', 'pinned', ['Running']);
    expect(s1.spec!.nodeName).not.toBe(s2.spec!.nodeName);
    expect(pinned.spec!.nodeName).toBe('lab-node-b');
    expect(pinned.status!.hostIP).toBeDefined();
  });
});

describe('services and endpoints', () => {
  it('allocates ClusterIPs, publishes LoadBalancer IPs, and lists Ready pods (named targetPort) as endpoints', async () => {
    const { core, discovery } = clients();
    await ensureNamespace(core, 'svc');
    const web = (name: string, extra: Partial<k8s.V1PodSpec> = {}): k8s.V1Pod => {
      const pod = nodePod(name, 'svc', 'setTimeout(()=>{},60000)', extra, { app: 'web' });
      pod.spec!.containers[0]!.ports = [{ name: 'http', containerPort: 8080 }];
      return pod;
    };
    await core.createNamespacedPod({ namespace: 'svc', body: web('ready') });
    // An unmet readiness gate keeps a running pod out of the endpoints (how netcheck's probes avoid receiving traffic).
    await core.createNamespacedPod({ namespace: 'svc', body: web('gated', { readinessGates: [{ conditionType: 'netcheck.io/never' }] }) });
    const svc = await core.createNamespacedService({
      namespace: 'svc',
      body: {
        metadata: { name: 'web', annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.168.1.250' } },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
      },
    });
    expect(svc.spec!.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(svc.status!.loadBalancer!.ingress![0]!.ip).toBe('192.168.1.250');
    const gated = await podPhase(core, 'svc', 'gated', ['Running']);
    expect(gated.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    const ep = await waitFor('endpoints with the ready pod', async () => {
      const e = await core.readNamespacedEndpoints({ name: 'web', namespace: 'svc' }).catch(() => undefined);
      return e?.subsets?.[0]?.addresses?.length ? e : undefined;
    });
    const readyPod = await core.readNamespacedPod({ name: 'ready', namespace: 'svc' });
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip)).toEqual([readyPod.status!.podIP]);
    expect(ep.subsets![0]!.ports![0]!.port).toBe(8080);
    const slices = await discovery.listNamespacedEndpointSlice({ namespace: 'svc', labelSelector: 'kubernetes.io/service-name=web' });
    const ready = slices.items.flatMap((s) => s.endpoints).filter((e) => e.conditions?.ready);
    expect(ready.map((e) => e.addresses[0])).toEqual([readyPod.status!.podIP]);

    // Setting the gate's condition through pods/status makes the pod Ready, hence an endpoint.
    await core.patchNamespacedPodStatus(
      { name: 'gated', namespace: 'svc', body: { status: { conditions: [{ type: 'netcheck.io/never', status: 'True' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    await waitFor('gated pod in the endpoints', async () => {
      const e = await core.readNamespacedEndpoints({ name: 'web', namespace: 'svc' });
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    await core.patchNamespacedPodStatus(
      { name: 'gated', namespace: 'svc', body: { status: { conditions: [{ type: 'netcheck.io/never', status: 'False' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    await waitFor('gated pod out of the endpoints again', async () => {
      const e = await core.readNamespacedEndpoints({ name: 'web', namespace: 'svc' });
      return e.subsets?.[0]?.addresses?.length === 1 ? e : undefined;
    });

    await getLab().lab.settle();
    const state = getLab().dataPlane.lastState!;
    const entry = state.services.find((s) => s.namespace === 'svc' && s.name === 'web')!;
    expect(entry).toMatchObject({ clusterIP: svc.spec!.clusterIP, loadBalancerIPs: ['192.168.1.250'], headless: false });
    expect(entry.ports[0]!.endpoints).toEqual([{ ip: readyPod.status!.podIP, port: 8080 }]);
  });

  it('sends the data plane namespace label changes and network policies', async () => {
    const { core, net } = clients();
    await ensureNamespace(core, 'labels');
    await core.patchNamespace({ name: 'labels', body: { metadata: { labels: { name: 'labels' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await net.createNamespacedNetworkPolicy({
      namespace: 'labels',
      body: { metadata: { name: 'deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    });
    await getLab().lab.settle();
    const snapshot = getLab().dataPlane.lastState!.snapshot;
    expect(snapshot.namespaces.find((n) => n.name === 'labels')!.labels).toEqual({ name: 'labels', 'kubernetes.io/metadata.name': 'labels' });
    expect(snapshot.policies.map((p) => `${p.namespace}/${p.name}`)).toContain('labels/deny-all');
    const invalid = await statusOf(
      net.createNamespacedNetworkPolicy({ namespace: 'labels', body: { metadata: { name: 'bad' }, spec: { podSelector: {}, policyTypes: ['Sideways' as 'Ingress'] } } }),
    );
    expect(invalid).toMatchObject({ code: 422, reason: 'Invalid' });
  });
});
