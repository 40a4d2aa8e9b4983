import type { OtherPolicy } from '../../src/policy/types.js';
import { describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { assessCellPolicy } from '../../src/run/policy-view.js';
import { platformSnapshot, podSource, runnerSource, targets } from './scenario-builder.js';

describe('assessCellPolicy (with the real policy engine)', () => {
  const snapshot = platformSnapshot();
  const engine = createPolicyEngine(snapshot);
  const serving = podSource('serving', 'financial-ml');
  const outsider = podSource('outsider', 'other');

  it.each([
    { name: 'DNS from an isolated namespace, admitted by the kube-system rule', source: serving, target: targets.dns('dns'), view: 'allow', line: /egress: allowed by/ },
    { name: 'intra-namespace service', source: serving, target: targets.service('m', 'mlflow', 'financial-ml', 5000), view: 'allow', line: /allowed/ },
    { name: 'other namespace into the isolated one', source: outsider, target: targets.service('m', 'mlflow', 'financial-ml', 5000), view: 'deny', line: /ingress: denied, isolated by financial-ml\/financial-ml-baseline/ },
    { name: 'serving to a non-platform namespace', source: serving, target: targets.listener('l', 'other', 8080), view: 'deny', line: /egress: denied/ },
    { name: 'LB address judged toward endpoint pods', source: outsider, target: targets.address('lb', '192.168.1.208', 5000), view: 'deny', line: /DNATs before policy/ },
    { name: 'external address allowed out is unknown', source: outsider, target: targets.address('x', '198.51.100.9', 443), view: 'unknown', line: /outside the cluster/ },
    { name: 'external address denied out', source: serving, target: targets.address('x', '198.51.100.9', 443), view: 'deny', line: /egress: denied/ },
    { name: 'runner to an LB whose endpoints admit only selectors: denied whatever the address', source: runnerSource(), target: targets.address('lb', '192.168.1.208', 5000), view: 'deny', line: /no address outside the cluster is admitted/ },
  ] as const)('$name → $view', ({ source, target, view, line }) => {
    const a = assessCellPolicy(engine, snapshot, source, {}, undefined, target);
    expect(a.view).toBe(view);
    expect(a.explanation.join('\n')).toMatch(line);
  });

  it('runner to an endpoint behind an ipBlock rule: unknown until the runner address is known', () => {
    const withBlock = platformSnapshot();
    withBlock.policies.push({ name: 'office', namespace: 'financial-ml', podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] });
    const e = createPolicyEngine(withBlock);
    const lb = targets.address('lb', '192.168.1.208', 5000);
    expect(assessCellPolicy(e, withBlock, runnerSource(), {}, undefined, lb).view).toBe('unknown');
    expect(assessCellPolicy(e, withBlock, runnerSource(), {}, undefined, lb, { runnerAddress: '203.0.113.5' }).view).toBe('allow');
    expect(assessCellPolicy(e, withBlock, runnerSource(), {}, undefined, lb, { runnerAddress: '198.51.100.5' }).view).toBe('deny');
  });

  it('a Service with an empty selector has hand-managed endpoints: undecided, not every pod in its namespace', () => {
    const withEmpty = platformSnapshot();
    const mlflow = withEmpty.services.find((s) => s.name === 'mlflow');
    if (!mlflow) throw new Error('fixture');
    mlflow.selector = {};
    const a = assessCellPolicy(createPolicyEngine(withEmpty), withEmpty, serving, {}, undefined, targets.service('m', 'mlflow', mlflow.namespace, 5000));
    expect(a.view).toBe('unknown');
    expect(a.explanation.join('\n')).toMatch(/no selector: its endpoints are managed by hand/);
  });

  // Issue 15 item 1: no endpoint pod, no policy verdict — the same for an application Service and for cluster DNS,
  // whatever the policies and the port, and no pod invented from the selector to judge against.
  it.each([
    { name: 'an application Service with a named targetPort', service: 'scheduler', target: targets.service('s', 'scheduler', 'seldon-system', 9005), reason: 'seldon-system/scheduler selects no pods (selector app=nothing-matches-this)' },
    { name: 'cluster DNS', service: 'kube-dns', target: targets.dns('dns'), reason: 'kube-system/kube-dns selects no pods (selector app=nothing-matches-this)' },
    { name: 'cluster DNS over TCP', service: 'kube-dns', target: targets.dns('dns', 'kubernetes.default', 'TCP'), reason: 'kube-system/kube-dns selects no pods (selector app=nothing-matches-this)' },
  ] as const)('a Service whose selector matches no pod: $name is unknown, one reason, no stand-in pod', ({ service, target, reason }) => {
    for (const source of [serving, outsider]) {
      const orphaned = platformSnapshot();
      const found = orphaned.services.find((s) => s.name === service);
      if (!found) throw new Error('fixture');
      found.selector = { app: 'nothing-matches-this' };
      found.readyEndpoints = 0;
      const a = assessCellPolicy(createPolicyEngine(orphaned), orphaned, source, {}, undefined, target);
      expect(a.view).toBe('unknown');
      expect(a.explanation).toEqual([`${reason}: it has no endpoints, so no pod's policies decide this flow`]);
      expect(a.flows).toEqual([]);
      expect(a.service).toEqual({ namespace: found.namespace, name: found.name, selectedPods: 0, readyEndpoints: 0 });
    }
  });

  it('names the missing namespace label in the explanation when kube-system is unlabeled', () => {
    const bare = platformSnapshot({ kubeSystemLabeled: false });
    const a = assessCellPolicy(createPolicyEngine(bare), bare, serving, {}, undefined, targets.dns('dns'));
    expect(a.view).toBe('deny');
    expect(a.explanation[0]).toMatch(/egress: denied/);
    expect(a.explanation[0]).toMatch(/kube-system/);
  });

  it('reports the service and its endpoints for service targets', () => {
    const a = assessCellPolicy(engine, snapshot, serving, {}, undefined, targets.service('e', 'empty', 'financial-ml', 80));
    expect(a.service).toEqual({ namespace: 'financial-ml', name: 'empty', selectedPods: 0, readyEndpoints: 0 });
    expect(a.explanation.join('\n')).toMatch(/selects no pods/);
  });
});

describe('a pod to a LoadBalancer IP: kube-proxy masquerades it to the node (externalTrafficPolicy: Cluster)', () => {
  // The seldon-envoy pattern: an LB whose endpoint namespace admits only namespaceSelector peers.
  const snapshot = {
    namespaces: [{ name: 'shop', labels: { name: 'shop' } }],
    pods: [{ namespace: 'shop', name: 'envoy', labels: { app: 'envoy' }, ip: '10.244.2.7', node: 'node-b', ports: [{ containerPort: 9000, protocol: 'TCP' as const }] }],
    services: [
      { namespace: 'shop', name: 'mesh', type: 'LoadBalancer' as const, selector: { app: 'envoy' }, loadBalancerIPs: ['192.168.1.209'], ports: [{ port: 80, targetPort: 9000, protocol: 'TCP' as const }] },
      { namespace: 'shop', name: 'mesh-local', type: 'LoadBalancer' as const, externalTrafficPolicy: 'Local' as const, selector: { app: 'envoy' }, loadBalancerIPs: ['192.168.1.210'], ports: [{ port: 80, targetPort: 9000, protocol: 'TCP' as const }] },
    ],
    policies: [{ name: 'from-shop', namespace: 'shop', podSelector: {}, policyTypes: ['Ingress' as const], ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'shop' } } }] }] }],
    nodes: [
      { name: 'node-a', labels: {}, addresses: ['172.30.0.10'] },
      { name: 'node-b', labels: {}, addresses: ['172.30.0.11'] },
    ],
  };
  const engine = createPolicyEngine(snapshot);
  const client = podSource('client', 'shop');
  const lb = targets.address('lb', '192.168.1.209', 80);
  const view = (node: string | undefined, target = lb) => assessCellPolicy(engine, snapshot, client, { app: 'client' }, node, target);

  it('from another node: the ingress sees that node\'s address, which a namespaceSelector never admits', () => {
    const v = view('node-a');
    expect(v.view).toBe('deny');
    expect(v.explanation.join('\n')).toMatch(/ingress: denied, isolated by shop\/from-shop/);
    expect(v.explanation.join('\n')).toMatch(/masquerades a pod's traffic to this LoadBalancer IP to the address of its node node-a/);
  });
  it('from the endpoint\'s own node: always admitted (traffic from a pod\'s node)', () => {
    const v = view('node-b');
    expect(v.view).toBe('allow');
    expect(v.explanation.join('\n')).toMatch(/ingress: allowed, from the endpoint's own node/);
  });
  it('before the probe has a node: judged as from another node, and says it depends', () => {
    expect(view(undefined).view).toBe('deny');
    expect(view(undefined).explanation.join('\n')).toMatch(/from another node than the endpoint's, or from the endpoint's own \(always admitted\)/);
  });
  it('externalTrafficPolicy: Local keeps the client\'s address: judged from the pod, whatever the node', () => {
    expect(view('node-a', targets.address('lb-local', '192.168.1.210', 80)).view).toBe('allow');
  });
});

describe('Calico policies in the policy column: decided by their rules, unknown only for what is not modelled', () => {
  const base = {
    namespaces: [{ name: 'shop', labels: { name: 'shop' } }],
    pods: [{ namespace: 'shop', name: 'api', labels: { app: 'api' }, ports: [{ containerPort: 8080, protocol: 'TCP' as const }] }],
    services: [],
    policies: [],
    nodes: [],
  };
  const gnp: OtherPolicy = { kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', name: 'deny-api', selector: "app == 'api'", order: 10, types: ['ingress'] };
  const listener = { ...targets.listener('api', 'shop', 8080), labels: { app: 'api' } };
  const view = (otherPolicies: OtherPolicy[]) => {
    const snapshot = { ...base, otherPolicies };
    return assessCellPolicy(createPolicyEngine(snapshot), snapshot, podSource('client', 'shop'), { app: 'client' }, undefined, listener);
  };

  it('a GlobalNetworkPolicy selecting the destination with no ingress rule denies at the end of the tier, and says so', () => {
    const v = view([gnp]);
    expect(v.view).toBe('deny');
    expect(v.explanation[0]).toMatch(/ingress: denied at the end of Calico's default tier, Calico GlobalNetworkPolicy deny-api \(order 10\) applied/);
  });
  it('an Allow rule for the client decides allow, naming the rule', () => {
    const v = view([{ ...gnp, ingress: [{ action: 'Allow', source: { selector: "app == 'client'" }, destination: {} }] }]);
    expect(v.view).toBe('allow');
    expect(v.explanation[0]).toMatch(/Calico GlobalNetworkPolicy deny-api \(order 10\) ingress\[0\]: Allow/);
  });
  it('a rule on what netcheck does not model (an HTTP match) makes the view unknown, naming the rule', () => {
    const v = view([{ ...gnp, ingress: [{ action: 'Allow', source: {}, destination: {}, http: { methods: ['GET'] } }] }]);
    expect(v.view).toBe('unknown');
    expect(v.explanation.join('\n')).toMatch(/deny-api \(order 10\) ingress\[0\]: Allow may match: an HTTP match needs Calico application layer policy/);
  });
  it('a Calico policy whose selector matches neither end changes nothing', () => {
    expect(view([{ ...gnp, selector: "app == 'other'" }]).view).toBe('allow');
  });
});

describe('assessCellPolicy: an admin-policy rule whose match the input cannot settle (issue 16)', () => {
  const base = {
    namespaces: [],
    pods: [{ namespace: 'shop', name: 'api', labels: { app: 'api' }, ports: [{ containerPort: 8080, protocol: 'TCP' as const }] }],
    services: [],
    policies: [],
    nodes: [],
  };
  const listener = { ...targets.listener('api', 'shop', 8080), labels: { app: 'api' } };
  const deny = (networks: string[]) => ({
    kind: 'AdminNetworkPolicy' as const,
    name: 'egress-cidr',
    priority: 5,
    subject: { namespaces: {} },
    ingress: [],
    egress: [{ name: 'deny-cidr', action: 'Deny' as const, peers: [{ networks }] }],
  });
  const view = (networks: string[]) => {
    const snapshot = { ...base, adminPolicies: [deny(networks)] };
    return assessCellPolicy(createPolicyEngine(snapshot), snapshot, podSource('client', 'shop'), { app: 'client' }, undefined, listener);
  };

  it('a narrower networks CIDR toward a pod without an address: unknown, naming the rule and what it hangs on', () => {
    const v = view(['10.0.0.0/8']);
    expect(v.view).toBe('unknown');
    expect(v.explanation[0]).toBe('the policies say allow, unless:');
    expect(v.explanation[1]).toBe("AdminNetworkPolicy egress-cidr (priority 5) egress[0] 'deny-cidr': Deny applies if the address of shop/netcheck-listener is in 10.0.0.0/8, and the input gives no address for it (no status.podIP)");
  });
  it('0.0.0.0/0 holds every pod: denied, certain', () => {
    const v = view(['0.0.0.0/0']);
    expect(v.view).toBe('deny');
    expect(v.explanation[0]).toMatch(/^egress: denied by AdminNetworkPolicy egress-cidr/);
  });
});
