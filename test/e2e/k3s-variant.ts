/**
 * The financial-ml scenario and manifests as they can run on a throwaway k3s in a container (test/e2e/k3s.test.ts).
 * Pure: YAML objects in, YAML objects out, plus one note per change so the test can say what it left out.
 *
 * - k3s already runs CoreDNS (Deployment coredns, Service kube-dns 10.43.0.10 with ports dns, dns-tcp, metrics):
 *   the manifests' kube-system workloads and Service are not applied, only the kube-system Namespace (its hand-set
 *   `name` label, which the baseline's DNS egress rule keys on; `kubectl apply` merges the label into the live one).
 * - The runner source goes: the CI machine would reach for 192.168.1.x MetalLB addresses it does not own.
 * - In-cluster cells on a LoadBalancer address are rewritten to the Service behind it, by name and port: a MetalLB
 *   address does not exist there (ServiceLB would hand out the node IP), and a pod sending to 192.168.1.x would
 *   leave the cluster. kube-proxy DNATs an LB address and the ClusterIP to the same endpoint pods and targetPort
 *   before policy applies, so the policy verdicts — and the known gaps — are the same cells.
 * - A Service target whose live Service lacks the named port is pinned to the port number the manifests give that
 *   name, or dropped when the live Service has neither (k3s's kube-dns names 9153 `metrics`, as the manifests do).
 */

import { serviceFromObject } from '../../src/policy/from-objects.js';

type Yaml = Record<string, any>;

export interface LiveService {
  namespace: string;
  name: string;
  ports: Array<{ name?: string; port: number }>;
}

export interface K3sVariant {
  scenario: Yaml;
  notes: string[];
}

/**
 * The objects to `kubectl apply`, Namespaces first (one apply creates them before what lives in them): everything
 * but what the cluster's own kube-system already runs.
 */
export function selectK3sManifests(objects: Yaml[]): Yaml[] {
  const kept = objects.filter((o) => o.kind === 'Namespace' || (o.metadata?.namespace ?? 'default') !== 'kube-system');
  return [...kept.filter((o) => o.kind === 'Namespace'), ...kept.filter((o) => o.kind !== 'Namespace')];
}

/** The manifests' LoadBalancer Service that answers on `address:port`, its addresses read as the policy engine reads them. */
function findLoadBalancer(objects: Yaml[], address: string, port: number): Yaml | undefined {
  return objects.find((o) => {
    if (o.kind !== 'Service' || o.spec?.type !== 'LoadBalancer') return false;
    const service = serviceFromObject(o);
    return service.loadBalancerIPs.includes(address) && service.ports.some((p) => p.port === port);
  });
}

function dropTarget(doc: Yaml, target: string): void {
  delete doc.targets[target];
  for (const [source, row] of Object.entries(doc.matrix as Record<string, Yaml>)) {
    for (const key of ['allow', 'deny']) {
      if (!Array.isArray(row[key])) continue;
      row[key] = row[key].filter((t: string) => t !== target);
      if (row[key].length === 0) delete row[key];
    }
    if (Object.keys(row).length === 0) delete doc.matrix[source];
  }
  doc.known = (doc.known ?? []).filter((k: Yaml) => k.to !== target);
}

/** Rewrites a parsed scenario document for k3s; `live` is the cluster's Services after the manifests are applied. */
export function buildK3sScenario(scenario: Yaml, manifests: Yaml[], live: LiveService[], manifestsDir: string): K3sVariant {
  const doc = structuredClone(scenario);
  const notes: string[] = [];
  doc.manifests = [manifestsDir];

  for (const [name, source] of Object.entries(doc.sources as Record<string, Yaml>)) {
    if (!source.runner) continue;
    delete doc.sources[name];
    delete doc.matrix[name];
    doc.known = (doc.known ?? []).filter((k: Yaml) => k.from !== name);
    notes.push(`source ${name} dropped: the runner is outside the cluster and must not reach for LoadBalancer addresses`);
  }

  for (const [name, target] of Object.entries(doc.targets as Record<string, Yaml>)) {
    if (target.address === undefined) continue;
    const lb = findLoadBalancer(manifests, String(target.address), Number(target.port));
    if (!lb) {
      dropTarget(doc, name);
      notes.push(`target ${name} dropped: ${target.address}:${target.port} is no LoadBalancer in the manifests`);
      continue;
    }
    const { address, ...rest } = target;
    doc.targets[name] = { ...rest, service: lb.metadata.name, namespace: lb.metadata.namespace ?? 'default' };
    notes.push(`target ${name} rewritten: ${address}:${target.port} -> Service ${lb.metadata.namespace}/${lb.metadata.name}:${target.port}`);
  }

  for (const [name, target] of Object.entries(doc.targets as Record<string, Yaml>)) {
    if (target.service === undefined || typeof target.port !== 'string') continue;
    const namespace = target.namespace ?? 'default';
    const service = live.find((s) => s.namespace === namespace && s.name === target.service);
    if (service?.ports.some((p) => p.name === target.port)) continue;
    const declared = manifests.find((o) => o.kind === 'Service' && o.metadata?.name === target.service && (o.metadata?.namespace ?? 'default') === namespace);
    const number = (declared?.spec?.ports ?? []).find((p: Yaml) => p.name === target.port)?.port as number | undefined;
    if (service && number !== undefined && service.ports.some((p) => p.port === number)) {
      doc.targets[name] = { ...target, port: number };
      notes.push(`target ${name}: live Service ${namespace}/${target.service} has no port named ${target.port}; using ${number}`);
    } else {
      dropTarget(doc, name);
      notes.push(`target ${name} dropped: live Service ${namespace}/${target.service} has no port ${target.port}`);
    }
  }
  return { scenario: doc, notes };
}
