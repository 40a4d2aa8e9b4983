/** The post-judgement causes (attribute-causes.ts, image-pull.ts, policy-gaps.ts) and the findings' owner and next command. */
import { describe, expect, it } from 'vitest';
import { attributeBrokenNode, attributeMissingServices, findBrokenNode, missingService, onlyPeerOf } from '../../src/diagnose/attribute-causes.js';
import { diagnoseCells, diagnoseRun, type TargetKinds } from '../../src/diagnose/diagnose-run.js';
import { buildRunContext, scenarioArgument, serviceOfHost, type RunContext } from '../../src/diagnose/run-context.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import type { ClusterSnapshot } from '../../src/policy/types.js';
import { platformSnapshot, podSource, runnerSource, scenario, verdict } from '../run/scenario-builder.js';
import type { Target } from '../../src/scenario/types.js';

const location = { file: '/tmp/scenario.yaml', line: 1, column: 1 };
const targets: Target[] = [
  { kind: 'dns', name: 'cluster-dns', host: 'kube-dns.kube-system.svc.cluster.local', protocol: 'UDP', location },
  { kind: 'service', name: 'mlflow', service: 'mlflow', namespace: 'financial-ml', port: 5000, protocol: 'TCP', location },
  { kind: 'service', name: 'scheduler', service: 'scheduler', namespace: 'seldon-system', port: 9005, protocol: 'TCP', location },
  { kind: 'service', name: 'nosuch', service: 'nosuch', namespace: 'financial-ml', port: 8080, protocol: 'TCP', location },
  { kind: 'service', name: 'typo', service: 'mlfow', namespace: 'financial-ml', port: 5000, protocol: 'TCP', location },
  { kind: 'service', name: 'gone', service: 'api', namespace: 'financial-mll', port: 80, protocol: 'TCP', location },
  { kind: 'address', name: 'mlflow-lb', address: '192.168.1.208', port: 5000, protocol: 'TCP', location },
];
const kinds: TargetKinds = Object.fromEntries(targets.map((t) => [t.name, t.kind]));
const sources = [podSource('serving', 'financial-ml'), podSource('seldon', 'seldon-system'), runnerSource('ci-runner')];

/** The platform with CoreDNS and mlflow on node-b, the scheduler on node-a. */
function placed(options: { kubeSystemLabeled?: boolean } = {}): ClusterSnapshot {
  const s = platformSnapshot(options);
  const node: Record<string, string> = { 'coredns-1': 'node-b', 'mlflow-1': 'node-b', 'scheduler-1': 'node-a' };
  return { ...s, pods: s.pods.map((p) => ({ ...p, node: node[p.name] ?? 'node-a' })) };
}

function context(snapshot: ClusterSnapshot = placed(), run: Partial<Pick<RunContext, 'perNode' | 'namespacesListed'>> = {}): RunContext {
  return buildRunContext(scenario(sources, targets, []), snapshot, { scenarioArg: 'financial-ml', perNode: run.perNode ?? false, image: 'node:22-alpine', namespacesListed: run.namespacesListed ?? true });
}

const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });
const lookupTimeout = (source: string, target: string, node: string): CellVerdict =>
  fail({ source, target, node, outcome: { kind: 'dns-timeout' }, classification: 'dns', reason: 'did not resolve', findings: ['policies allow this source to reach cluster DNS: the DNS service itself is down, or its packets are dropped'] });
const resolved = (source: string, node: string): CellVerdict => verdict({ source, target: 'cluster-dns', node, outcome: { kind: 'resolved', addresses: ['10.96.0.10'] } as CellVerdict['outcome'] });

describe('run context', () => {
  it('reads the Service a DNS name, a service target and a LoadBalancer address stand for', () => {
    expect(serviceOfHost('kube-dns.kube-system.svc.cluster.local')).toEqual({ namespace: 'kube-system', name: 'kube-dns' });
    expect(serviceOfHost('mlflow.mlflow')).toEqual({ namespace: 'mlflow', name: 'mlflow' });
    expect(serviceOfHost('example.com.au')).toBeUndefined();
    const c = context();
    expect(c.targets['mlflow-lb']).toEqual({ kind: 'address', service: { namespace: 'financial-ml', name: 'mlflow' }, namespace: 'financial-ml' });
    expect(c.sourceNamespaces).toEqual({ serving: 'financial-ml', seldon: 'seldon-system' });
  });

  it('names a packaged scenario by its name, any other by its file', () => {
    expect(scenarioArgument({ name: 'financial-ml', file: '/usr/lib/node_modules/kube-netcheck/scenarios/financial-ml/scenario.yaml' })).toBe('financial-ml');
    expect(scenarioArgument({ name: 'mine', file: '/home/me/netcheck.yaml' })).toBe('/home/me/netcheck.yaml');
  });
});

describe('a Service that does not exist (item 1)', () => {
  it('says which Service or namespace is missing, with a did-you-mean; only when the inventory can tell', () => {
    const c = context();
    expect(missingService({ namespace: 'financial-ml', name: 'mlflow' }, c)).toBeUndefined();
    expect(missingService({ namespace: 'financial-ml', name: 'mlfow' }, c)).toBe('service financial-ml/mlfow does not exist; did you mean `mlflow`?');
    expect(missingService({ namespace: 'financial-mll', name: 'api' }, c)).toBe('namespace financial-mll does not exist; did you mean `financial-ml`?');
    // Namespaces not listed (namespace-scoped rights): a namespace not seen may exist.
    expect(missingService({ namespace: 'financial-mll', name: 'api' }, context(placed(), { namespacesListed: false }))).toBeUndefined();
    // Services of that namespace not readable: no claim.
    const hidden = { ...placed(), unknown: ['services in namespaces financial-ml, other (forbidden: list services)'] };
    expect(missingService({ namespace: 'financial-ml', name: 'mlfow' }, context(hidden))).toBeUndefined();
  });

  it('NXDOMAIN for a missing Service: the cell says it does not exist, and the run finding is not "DNS looks down"', () => {
    const nx = (target: string): CellVerdict => fail({ source: 'serving', target, node: 'node-a', outcome: { kind: 'dns-nxdomain' }, classification: 'dns', reason: 'did not resolve (dns-nxdomain): a DNS fault', findings: ['policies allow this source to reach cluster DNS: the DNS service itself is down, or its packets are dropped'] });
    const { cells, findings } = diagnoseCells([nx('nosuch'), nx('typo'), nx('gone')], kinds, context());
    expect(cells.map((c) => c.reason)).toEqual([
      'service financial-ml/nosuch does not exist: its name cannot resolve (DNS answered NXDOMAIN; DNS itself works)',
      'service financial-ml/mlfow does not exist; did you mean `mlflow`?: its name cannot resolve (DNS answered NXDOMAIN; DNS itself works)',
      'namespace financial-mll does not exist; did you mean `financial-ml`?: its name cannot resolve (DNS answered NXDOMAIN; DNS itself works)',
    ]);
    for (const c of cells) expect(c.findings?.join()).not.toMatch(/DNS service itself is down/);
    expect(findings.map((f) => [f.text.split(':')[0], f.owner, f.next])).toEqual([
      ['service financial-ml/nosuch does not exist', 'application team', 'kubectl get services -n financial-ml'],
      ['service financial-ml/mlfow does not exist; did you mean `mlflow`?', 'application team', 'kubectl get services -n financial-ml'],
      ['namespace financial-mll does not exist; did you mean `financial-ml`?', 'application team', 'kubectl get namespaces'],
    ]);
    expect(findings.map((f) => f.text).join('\n')).not.toMatch(/DNS looks down/);
  });

  it('SERVFAIL (the search list ends at an upstream the cluster cannot reach) for a missing Service: the same', () => {
    const servfail = fail({ source: 'serving', target: 'nosuch', outcome: { kind: 'dns-servfail' }, classification: 'dns', reason: 'x' });
    const [out] = attributeMissingServices([servfail], context());
    expect(out!.reason).toBe('service financial-ml/nosuch does not exist: its name cannot resolve (DNS answered SERVFAIL; DNS itself works)');
  });

  it('a timeout for a missing Service is left alone (DNS did not answer)', () => {
    const timeout = lookupTimeout('serving', 'nosuch', 'node-a');
    expect(attributeMissingServices([timeout], context())).toEqual([timeout]);
  });

  it('NXDOMAIN is never counted as DNS down, even for a Service the inventory knows', () => {
    const nx = (target: string): CellVerdict => fail({ source: 'serving', target, outcome: { kind: 'dns-nxdomain' }, classification: 'dns', reason: 'x' });
    expect(diagnoseRun([nx('mlflow'), nx('scheduler')], kinds).map((f) => f.text)).toEqual([]);
  });
});

describe('a broken node (items 2 and 13)', () => {
  it('the node hosting CoreDNS: lookups from every node, and connections to it, are its; the rerun with --per-node is next', () => {
    const cells = [
      lookupTimeout('serving', 'cluster-dns', 'node-a'),
      lookupTimeout('serving', 'mlflow', 'node-a'),
      lookupTimeout('seldon', 'cluster-dns', 'node-b'),
      // The runner reaches the scheduler (node-a) by its LoadBalancer... here: mlflow's LB on node-b gets nothing.
      fail({ source: 'ci-runner', target: 'mlflow-lb', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: 'the data plane drops it' }),
      verdict({ source: 'seldon', target: 'scheduler', node: 'node-a', outcome: { kind: 'connected' } }),
    ];
    const broken = findBrokenNode(cells, context());
    expect(broken).toMatchObject({ node: 'node-b', working: ['node-a'], hostsAllDns: true });
    const { cells: out, findings } = diagnoseCells(cells, kinds, context());
    for (const c of out.slice(0, 4)) expect(c.classification).toBe('data-plane');
    expect(out[0]!.reason).toBe('dns-timeout: CoreDNS runs only on node node-b, so name lookups from every node go through it, whose data plane drops traffic (checks through node-a work): not DNS, not the policies');
    expect(out[2]!.reason).toMatch(/^dns-timeout: its probe ran on node node-b/);
    expect(out[3]!.reason).toMatch(/its destination runs on node node-b/);
    expect(out[0]!.findings).toBeUndefined();
    expect(findings.map((f) => f.text)).toEqual([
      'data plane broken on node node-b: 4 check(s) through it get no answer while checks through node-a work; it also hosts CoreDNS: name lookups from every node fail through it' +
        ' — rerun with --per-node to compare every node (netcheck run financial-ml --per-node)',
    ]);
    expect(findings[0]).toMatchObject({ owner: 'platform team', next: 'netcheck run financial-ml --per-node' });
  });

  it('with --per-node the next command looks at the node instead', () => {
    const cells = [
      lookupTimeout('serving', 'cluster-dns', 'node-a'),
      lookupTimeout('seldon', 'cluster-dns', 'node-b'),
      fail({ source: 'ci-runner', target: 'mlflow-lb', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: 'x' }),
      verdict({ source: 'seldon', target: 'scheduler', node: 'node-a' }),
    ];
    const [f] = diagnoseCells(cells, kinds, context(placed(), { perNode: true })).findings;
    expect(f!.next).toBe('kubectl describe node node-b; kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=node-b');
    expect(f!.text).not.toMatch(/rerun/);
  });

  it('a source node whose lookups time out while another node resolves through the same CoreDNS: the node, not DNS', () => {
    const cells = [lookupTimeout('serving', 'cluster-dns', 'node-a'), lookupTimeout('serving', 'mlflow', 'node-a'), resolved('seldon', 'node-b')];
    const { cells: out, findings } = diagnoseCells(cells, kinds, context());
    expect(out[0]).toMatchObject({ classification: 'data-plane' });
    expect(out[0]!.reason).toMatch(/its probe ran on node node-a.*\(lookups from other nodes resolve through the same CoreDNS\)/);
    // Everything node-a's probes needed is on node-b, and nothing on node-a answered: the node or the path to node-b.
    expect(findings.map((f) => f.text)).toEqual([expect.stringMatching(/^data plane broken on node node-a: 2 check\(s\) .*; or the path between node node-a and node node-b is: /)]);
    expect(findings[0]!.text).not.toMatch(/hosts CoreDNS/);
  });

  it('the node or the path to its one peer only while nothing within the node answered', () => {
    const failing = [lookupTimeout('serving', 'cluster-dns', 'node-a'), lookupTimeout('serving', 'mlflow', 'node-a')];
    expect(onlyPeerOf('node-a', failing, [...failing, resolved('seldon', 'node-b')], context())).toBe('node-b');
    const withinA = verdict({ source: 'serving', target: 'scheduler', node: 'node-a', outcome: { kind: 'connected' } });
    expect(onlyPeerOf('node-a', failing, [...failing, withinA], context())).toBeUndefined();
    const failedWithinA = fail({ source: 'serving', target: 'scheduler', node: 'node-a', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: 'x' });
    expect(onlyPeerOf('node-a', [...failing, failedWithinA], failing, context())).toBeUndefined();
  });

  it('probes that never ran on a node (no CNI there) are not counted as its data plane dropping them', () => {
    const notRun = (target: string): CellVerdict => fail({ source: 'serving', target, node: 'node-b', outcome: { kind: 'error', message: 'probe did not run' } as CellVerdict['outcome'], classification: 'probe', reason: 'probe did not run' });
    const cells = [notRun('mlflow'), notRun('scheduler'), verdict({ source: 'serving', target: 'mlflow', node: 'node-a' }), verdict({ source: 'serving', target: 'scheduler', node: 'node-a' })];
    expect(diagnoseCells(cells, kinds, context(placed(), { perNode: true })).findings.map((f) => f.text).join('\n')).not.toMatch(/data plane broken/);
  });

  it('CoreDNS down (lookups fail from every node, connections work): DNS, not a node', () => {
    const cells = [
      lookupTimeout('serving', 'cluster-dns', 'node-a'),
      lookupTimeout('seldon', 'cluster-dns', 'node-b'),
      lookupTimeout('serving', 'mlflow', 'node-a'),
      verdict({ source: 'ci-runner', target: 'mlflow-lb', outcome: { kind: 'http', status: 200 } as CellVerdict['outcome'] }),
    ];
    expect(findBrokenNode(cells, context())).toBeUndefined();
    expect(attributeBrokenNode(cells, context()).cells).toEqual(cells);
    const { findings } = diagnoseCells(cells, kinds, context());
    expect(findings.map((f) => f.text)).toEqual([expect.stringMatching(/^cluster DNS looks down or unreachable: 3 of 3/)]);
    expect(findings[0]).toMatchObject({ owner: 'platform team', next: 'kubectl get pods,endpointslices -n kube-system -l k8s-app=kube-dns -o wide' });
  });

  it('CoreDNS Ready (kube-dns has ready endpoints) all on one node, lookups from a working node time out: that node', () => {
    const withReady = (ready: number | undefined): ClusterSnapshot => {
      const s = placed();
      return { ...s, services: s.services.map((sv) => (sv.name === 'kube-dns' ? { ...sv, ...(ready !== undefined ? { readyEndpoints: ready } : {}) } : sv)) };
    };
    const cells = [
      lookupTimeout('serving', 'cluster-dns', 'node-a'),
      lookupTimeout('seldon', 'cluster-dns', 'node-b'),
      verdict({ source: 'serving', target: 'scheduler', node: 'node-a', outcome: { kind: 'connected' } }),
    ];
    expect(findBrokenNode(cells, context(withReady(1)))).toMatchObject({ node: 'node-b', hostsAllDns: true });
    // No ready endpoint, or not known: CoreDNS itself may be down.
    expect(findBrokenNode(cells, context(withReady(0)))).toBeUndefined();
    expect(findBrokenNode(cells, context(withReady(undefined)))).toBeUndefined();
  });

  it('no node is proven to work: nothing is blamed on a node', () => {
    const cells = [lookupTimeout('serving', 'cluster-dns', 'node-a'), fail({ source: 'ci-runner', target: 'mlflow-lb', outcome: { kind: 'timeout' }, classification: 'data-plane', reason: 'x' })];
    expect(findBrokenNode(cells, context())).toBeUndefined();
  });
});

describe('DNS blocked by policy (item 3)', () => {
  it('names the policy and the label kube-system lacks, with the fix as next command for the platform team', () => {
    const cells = [
      fail({ source: 'serving', target: 'cluster-dns', node: 'node-a', policy: 'deny', outcome: { kind: 'dns-timeout' }, classification: 'policy-gap', reason: 'x' }),
      fail({ source: 'serving', target: 'mlflow', node: 'node-a', outcome: { kind: 'dns-timeout' }, classification: 'dns', reason: 'x', findings: ["policy denies this source's DNS lookups: egress: denied"] }),
    ];
    const { findings, cells: out } = diagnoseCells(cells, kinds, context(placed({ kubeSystemLabeled: false })));
    expect(out).toEqual(cells);
    expect(findings.map((f) => f.text)).toEqual([
      'DNS is blocked by policy: 2 cells from serving cannot reach kube-system port 53: financial-ml/financial-ml-baseline admits DNS only to a namespace labelled name=kube-system, ' +
        'and kube-system lacks name=kube-system — fix: kubectl label namespace kube-system name=kube-system',
    ]);
    expect(findings[0]).toMatchObject({ owner: 'platform team', next: 'kubectl label namespace kube-system name=kube-system' });
  });
});

describe('image pull failures (item 8)', () => {
  it('one finding with the --image hint; each cell reason short', () => {
    const registry = 'ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "reg.example/x:1": failed to resolve reference "reg.example/x:1": reg.example/x:1: not found';
    const stopped = (source: string, target: string, node: string): CellVerdict =>
      fail({ source, target, node, outcome: { kind: 'error', message: 'not run' } as CellVerdict['outcome'], classification: 'probe', reason: `probe did not run: probe pod financial-ml/netcheck-r-p0 could not start: ${registry}` });
    const cells = [stopped('serving', 'mlflow', 'node-a'), stopped('serving', 'scheduler', 'node-a'), stopped('seldon', 'mlflow', 'node-b')];
    const { cells: out, findings } = diagnoseCells(cells, kinds, { ...context(), image: 'reg.example/x:1' });
    expect(out[0]!.reason).toBe('probe did not run: pod financial-ml/netcheck-r-p0 could not pull its image (ErrImagePull): see the findings');
    expect(out[0]!.outcome).toEqual({ kind: 'error', message: 'pod financial-ml/netcheck-r-p0 could not pull its image (ErrImagePull)' });
    expect(findings).toEqual([
      {
        text:
          'the probe image reg.example/x:1 could not be pulled on node(s) node-a, node-b: ErrImagePull (reg.example/x:1: not found); 3 check(s) did not run — ' +
          'give --image with an image your nodes can pull (any image with node 18+), or --image-pull-secret NAME',
        cells: [
          { source: 'serving', target: 'mlflow', node: 'node-a' },
          { source: 'serving', target: 'scheduler', node: 'node-a' },
          { source: 'seldon', target: 'mlflow', node: 'node-b' },
        ],
        owner: 'platform team',
        next: 'netcheck run financial-ml --image <an image with node 18+ your nodes can pull> [--image-pull-secret NAME]',
        cause: 'the probe image reg.example/x:1 could not be pulled',
      },
    ]);
  });
});

describe('policy gaps grouped by cause, each with owner and next', () => {
  it('cells with the same cause are one finding; a cross-namespace one is the platform team\'s', () => {
    const gap = (source: string, target: string): CellVerdict =>
      fail({ source, target, policy: 'deny', outcome: { kind: 'timeout' }, classification: 'policy-gap', reason: 'x', policyExplanation: ['egress: denied, isolated by financial-ml/financial-ml-baseline'] });
    const cells = [gap('serving', 'scheduler'), gap('serving', 'scheduler'), gap('serving', 'mlflow')];
    const { findings } = diagnoseCells(cells, kinds, context());
    expect(findings).toEqual([
      expect.objectContaining({
        text: '2 cells: traffic from financial-ml to seldon-system — the scenario allows it, the policies block it (serving → scheduler): egress: denied, isolated by financial-ml/financial-ml-baseline',
        owner: 'platform team',
        next: 'kubectl describe networkpolicy -n seldon-system',
      }),
      expect.objectContaining({ text: expect.stringMatching(/^1 cell: traffic from financial-ml to financial-ml/), owner: 'application team' }),
    ]);
  });
});

describe('every finding carries an owner', () => {
  it('DNS down, unenforced CNI, stale known gaps', () => {
    const cells = [
      lookupTimeout('serving', 'cluster-dns', 'node-a'),
      lookupTimeout('seldon', 'cluster-dns', 'node-b'),
      fail({ source: 'serving', target: 'scheduler', policy: 'deny', expect: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane', reason: 'x' }),
      fail({ source: 'seldon', target: 'mlflow', policy: 'allow', known: 'documented', outcome: { kind: 'connected' }, classification: 'policy-gap', reason: 'known gap no longer reproduces' }),
    ];
    const findings = diagnoseRun(cells, kinds, context());
    expect(findings.length).toBeGreaterThanOrEqual(3);
    for (const f of findings) expect({ text: f.text, owner: typeof f.owner, next: typeof f.next }).toEqual({ text: f.text, owner: 'string', next: 'string' });
  });
});
