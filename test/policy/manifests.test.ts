import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioError, UsageError } from '../../src/model/errors.js';
import { parseAddress, parseCidr, cidrContains } from '../../src/policy/cidr.js';
import { podFromWorkload, serviceFromObject, snapshotFromObjects } from '../../src/policy/from-objects.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { PodInfo } from '../../src/policy/types.js';
import { readInputFiles } from '../../src/scenario/files.js';

const load = (text: string) => snapshotFromManifestFiles([{ path: 'm.yaml', text }]);

describe('snapshotFromManifestFiles errors name file:line:column', () => {
  const cases: Array<{ name: string; text: string; message: string }> = [
    { name: 'malformed YAML', text: 'kind: Pod\nmetadata: {name: a\n', message: 'm.yaml:3:1: invalid YAML' },
    {
      name: 'port out of range, in the second document',
      text: 'kind: ConfigMap\n---\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  ingress:\n  - ports:\n    - port: 70000\n',
      message: 'm.yaml:8:13: NetworkPolicy: spec.ingress[0].ports[0].port: port 70000 is outside 1-65535',
    },
    {
      name: 'bad operator inside a List item',
      text: 'kind: List\nitems:\n- kind: NetworkPolicy\n  metadata: {name: p}\n  spec:\n    podSelector:\n      matchExpressions:\n      - {key: app, operator: Equals}\n',
      message: 'm.yaml:8:30: NetworkPolicy: spec.podSelector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist, got "Equals"',
    },
    {
      name: 'ipBlock combined with a selector',
      text: 'kind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}\n',
      message: 'm.yaml:6:7: NetworkPolicy: spec.egress[0].to[0]: ipBlock cannot be combined with podSelector or namespaceSelector',
    },
    { name: 'missing name', text: 'kind: Pod\nmetadata:\n  namespace: a\n', message: 'm.yaml:3:3: Pod: metadata.name: is required' },
    {
      name: 'bad protocol on a container port',
      text: 'kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - ports:\n        - {containerPort: 80, protocol: ICMP}\n',
      message: 'm.yaml:8:41: Deployment: spec.template.spec.containers[0].ports[0].protocol: protocol must be TCP, UDP or SCTP, got "ICMP"',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let error: unknown;
      try {
        load(c.text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScenarioError);
      expect((error as Error).message.startsWith(c.message), (error as Error).message).toBe(true);
    });
  }
});

describe('snapshotFromManifestFiles content', () => {
  it('reads multi-document files, Lists, JSON; skips and counts unknown kinds; records sources', () => {
    const { snapshot, skipped } = snapshotFromManifestFiles([
      { path: 'a.yaml', text: '---\nkind: ConfigMap\n---\n\n---\nkind: List\nitems:\n- kind: Secret\n- kind: Pod\n  metadata: {name: p, namespace: x, labels: {app: p}}\n' },
      { path: 'b.json', text: JSON.stringify({ kind: 'Service', metadata: { name: 's', namespace: 'y' }, spec: { selector: { app: 'p' }, ports: [{ port: 80, targetPort: 'http' }] } }) },
    ]);
    expect(skipped).toEqual({ ConfigMap: 1, Secret: 1 });
    expect(snapshot.pods).toMatchObject([{ namespace: 'x', name: 'p', source: 'a.yaml:9' }]);
    expect(snapshot.services[0]?.ports).toEqual([{ port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(snapshot.namespaces).toEqual([
      { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } },
      { name: 'y', labels: { 'kubernetes.io/metadata.name': 'y' } },
    ]);
  });

  it('declared namespaces keep their labels and always get kubernetes.io/metadata.name', () => {
    const { snapshot } = load('kind: Namespace\nmetadata: {name: a, labels: {name: a, kubernetes.io/metadata.name: wrong}}\n');
    expect(snapshot.namespaces).toEqual([{ name: 'a', labels: { name: 'a', 'kubernetes.io/metadata.name': 'a' } }]);
  });
});

describe('typed lists (kubectl get -o yaml, API server lists): items take the list\'s item kind', () => {
  // Items of a NamespaceList/PodList carry no kind; apimachinery's decoder gives them the list's item kind.
  const namespaceList = [
    'apiVersion: v1',
    'kind: NamespaceList',
    'items:',
    '- metadata: {name: a, labels: {team: a}}',
    '- metadata: {name: b}',
  ].join('\n');
  const podList = [
    'apiVersion: v1',
    'kind: PodList',
    'items:',
    '- metadata: {name: client, namespace: a, labels: {app: client}}',
    '  spec: {containers: [{ports: [{containerPort: 80}]}]}',
    '- metadata: {name: server, namespace: b, labels: {app: server}}',
    '  spec: {containers: [{ports: [{containerPort: 80}]}]}',
  ].join('\n');
  const policyList = [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicyList',
    'items:',
    '- metadata: {name: from-team-a, namespace: b}',
    '  spec:',
    '    podSelector: {}',
    '    ingress:',
    '    - from:',
    '      - namespaceSelector: {matchLabels: {team: a}}',
  ].join('\n');

  it('a NamespaceList item keeps the labels a namespaceSelector rule needs, so the flow stays allowed', () => {
    const { snapshot, skipped } = snapshotFromManifestFiles([
      { path: 'ns.yaml', text: namespaceList },
      { path: 'pods.yaml', text: podList },
      { path: 'netpol.yaml', text: policyList },
    ]);
    expect(skipped).toEqual({});
    expect(snapshot.namespaces.find((n) => n.name === 'a')?.labels).toEqual({ team: 'a', 'kubernetes.io/metadata.name': 'a' });
    expect(snapshot.pods.map((p) => [`${p.namespace}/${p.name}`, p.source])).toEqual([['a/client', 'pods.yaml:4'], ['b/server', 'pods.yaml:6']]);
    expect(snapshot.policies.map((p) => p.name)).toEqual(['from-team-a']);
    const engine = createPolicyEngine(snapshot);
    const [client, server] = snapshot.pods as [PodInfo, PodInfo];
    const verdict = engine.evaluateFlow({ kind: 'pod', pod: client }, { kind: 'pod', pod: server }, 80);
    expect(verdict.allowed, verdict.summary).toBe(true);
    expect(verdict.ingress.admittedBy.map((a) => a.policy)).toEqual(['b/from-team-a']);
  });

  it('snapshotFromObjects (objects already parsed) does the same', () => {
    const s = snapshotFromObjects([{ apiVersion: 'v1', kind: 'NamespaceList', items: [{ metadata: { name: 'a', labels: { team: 'a' } } }] }]);
    expect(s.namespaces).toEqual([{ name: 'a', labels: { team: 'a', 'kubernetes.io/metadata.name': 'a' } }]);
  });

  it('an item that names its own kind keeps it', () => {
    const { snapshot, skipped } = load('kind: PodList\nitems:\n- kind: ConfigMap\n  metadata: {name: c}\n- metadata: {name: p, namespace: x}\n');
    expect(skipped).toEqual({ ConfigMap: 1 });
    expect(snapshot.pods.map((p) => p.name)).toEqual(['p']);
  });

  it('a generic List whose items have kinds keeps working; a List item without kind is still reported', () => {
    const { snapshot, skipped } = load(
      'apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n  metadata: {name: a, labels: {team: a}}\n- metadata: {name: nameless-kind}\n',
    );
    expect(snapshot.namespaces).toEqual([{ name: 'a', labels: { team: 'a', 'kubernetes.io/metadata.name': 'a' } }]);
    expect(skipped).toEqual({ '(no kind)': 1 });
  });

  it('errors inside a typed list item point at the item', () => {
    expect(() => load('kind: PodList\nitems:\n- metadata: {name: p}\n  spec:\n    containers:\n    - ports:\n      - {containerPort: 0}\n')).toThrow(
      /^m\.yaml:7:\d+: Pod: spec\.containers\[0\]\.ports\[0\]\.containerPort: port 0 is outside 1-65535/,
    );
  });
});

describe('from-objects converters', () => {
  it.each([
    ['Deployment', { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } }],
    ['StatefulSet', { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } }],
    ['DaemonSet', { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } }],
    ['ReplicaSet', { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } }],
    ['Job', { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } }],
    ['CronJob', { spec: { jobTemplate: { spec: { template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ ports: [{ containerPort: 80, name: 'http' }] }] } } } } } }],
  ])('%s → one representative pod', (kind, body) => {
    const pod = podFromWorkload({ kind, metadata: { name: 'w', namespace: 'n' }, ...body }, 'f.yaml:1');
    expect(pod).toEqual({
      namespace: 'n',
      name: 'w',
      labels: { app: 'w' },
      ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
      owner: `${kind.toLowerCase()}/w`,
      // The pods a replicated workload stands for (spec.replicas, defaulted to 1 as the API server does): analyze's pod counts.
      ...(['Deployment', 'StatefulSet', 'ReplicaSet'].includes(kind) ? { replicas: 1 } : {}),
      source: 'f.yaml:1',
    });
  });

  it('Service LoadBalancer IPs from spec, both MetalLB annotations and status, deduplicated', () => {
    const svc = serviceFromObject({
      metadata: { name: 'mlflow', namespace: 'mlflow', annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.168.1.208, 192.168.1.250', 'metallb.io/loadBalancerIPs': '192.168.1.251' } },
      spec: { type: 'LoadBalancer', loadBalancerIP: '192.168.1.208', clusterIP: '10.43.0.10', selector: { app: 'mlflow' }, ports: [{ port: 5000 }] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.1.252' }] } },
    });
    expect(svc.loadBalancerIPs).toEqual(['192.168.1.208', '192.168.1.250', '192.168.1.251', '192.168.1.252']);
    expect(svc.ports).toEqual([{ port: 5000, targetPort: 5000, protocol: 'TCP' }]);
    expect(svc.clusterIP).toBe('10.43.0.10');
  });

  it('Pod honours status.podIP, nodeName and named container ports', () => {
    const s = snapshotFromObjects([
      { kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'node-1', containers: [{ ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }] }] }, status: { podIP: '10.1.2.3' } },
    ]);
    expect(s.pods[0]).toEqual({ namespace: 'n', name: 'p', labels: {}, ip: '10.1.2.3', node: 'node-1', ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }] });
  });
});

describe('cidr', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.208/32', '192.168.1.208', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::/0', '::1', true],
    ['::ffff:0:0/96', '::ffff:10.0.0.1', true],
    ['fd00::/8', 'fd12:3456:789a:1::1', true],
  ] as const)('%s contains %s = %s', (cidr, ip, expected) => {
    const c = parseCidr(cidr);
    const a = parseAddress(ip);
    expect(c && a && cidrContains(c, a)).toBe(expected);
  });
  it.each(['10.0.0.0/33', '10.0.0/8', '300.0.0.0/8', '2001:db8::/129', '1::2::3/64', 'x'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('readInputFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads files and directories recursively, sorted, filtering extensions inside directories', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'b.yaml'), 'b');
    writeFileSync(join(dir, 'a.yml'), 'a');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    writeFileSync(join(dir, 'sub', 'c.json'), '{}');
    const files = await readInputFiles([dir]);
    expect(files.map((f) => f.path)).toEqual([join(dir, 'a.yml'), join(dir, 'b.yaml'), join(dir, 'sub', 'c.json')]);
    expect((await readInputFiles([join(dir, 'notes.txt')])).map((f) => f.text)).toEqual(['x']);
  });

  it('a missing path is a UsageError naming it', async () => {
    await expect(readInputFiles([join(dir, 'nope.yaml')])).rejects.toThrow(UsageError);
    await expect(readInputFiles([join(dir, 'nope.yaml')])).rejects.toThrow(/nope\.yaml/);
  });
});
