/**
 * Synthetic clusters at platform scale, written as ordinary YAML (one file per kind) for `analyze-scale`.
 * Deterministic (seeded): the same files on every run and machine.
 *
 * - `deployments`: Deployments with 1–5 replicas and a Service each, in many namespaces, with the policy mix a
 *   platform has: per-namespace default-deny, namespace isolation (allow from the same namespace), cross-namespace
 *   allows (namespaceSelector + podSelector), egress to ipBlock with except, named ports and endPort ranges.
 * - `standalone`: bare Pods with addresses (no workload to group them by), shaped like engine-matrix.bench.ts:
 *   random app/tier/version labels, two declared ports each, random peers and ports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScaleShape {
  kind: 'deployments' | 'standalone';
  pods: number;
  namespaces: number;
  policies: number;
}

export interface WrittenCluster {
  dir: string;
  /** Pods the manifests stand for (replicas counted). */
  pods: number;
  /** Pod objects netcheck builds (one per workload or Pod). */
  podObjects: number;
  policies: number;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const APPS = Array.from({ length: 20 }, (_, i) => `app${i}`);
const TIERS = ['frontend', 'backend', 'data'];

function namespacesYaml(count: number, r: () => number): string {
  const envs = ['prod', 'dev', 'staging'];
  return Array.from({ length: count }, (_, i) => {
    const env = envs[Math.floor(r() * envs.length)];
    return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns${i}\n  labels:\n    team: team${i % 7}\n    env: ${env}\n${i % 3 === 0 ? `    name: ns${i}\n` : ''}`;
  }).join('---\n');
}

function portsYaml(indent: string, http: number): string {
  return `${indent}ports:\n${indent}- name: http\n${indent}  containerPort: ${http}\n${indent}- name: metrics\n${indent}  containerPort: 9090\n`;
}

function selectorYaml(indent: string, key: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return `${indent}${key}: {}\n`;
  return `${indent}${key}:\n${indent}  matchLabels:\n${entries.map(([k, v]) => `${indent}    ${k}: ${v}\n`).join('')}`;
}

function writeDeployments(dir: string, shape: ScaleShape, r: () => number): WrittenCluster {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const workloads: string[] = [];
  const services: string[] = [];
  const apps: Array<{ ns: number; app: string }> = [];
  let pods = 0;
  for (let i = 0; pods < shape.pods; i++) {
    const ns = i % shape.namespaces;
    const replicas = Math.min(1 + Math.floor(r() * 5), shape.pods - pods);
    pods += replicas;
    const app = `w${i}`;
    apps.push({ ns, app });
    const tier = pick(TIERS);
    const http = pick([80, 8080]);
    workloads.push(
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\n  namespace: ns${ns}\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels:\n      app: ${app}\n` +
        `  template:\n    metadata:\n      labels:\n        app: ${app}\n        tier: ${tier}\n        role: ${pick(APPS)}\n    spec:\n      containers:\n      - name: main\n        image: registry.example/${app}:1\n${portsYaml('        ', http)}`,
    );
    services.push(
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${app}\n  namespace: ns${ns}\nspec:\n  selector:\n    app: ${app}\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n`,
    );
  }
  const policies: string[] = [];
  const policy = (ns: number, name: string, body: string): void => {
    policies.push(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ns${ns}\nspec:\n${body}`);
  };
  for (let ns = 0; ns < shape.namespaces && policies.length < shape.policies; ns++) {
    policy(ns, 'default-deny', '  podSelector: {}\n  policyTypes: [Ingress, Egress]\n');
    if (policies.length < shape.policies) {
      policy(ns, 'same-namespace', '  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n  egress:\n  - to:\n    - podSelector: {}\n  - to:\n    - namespaceSelector: {}\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - port: 53\n      protocol: UDP\n');
    }
  }
  for (let i = 0; policies.length < shape.policies; i++) {
    const target = pick(apps);
    const kind = i % 4;
    if (kind === 0) {
      // Cross-namespace allow on a named port: a tier of a team's namespaces may reach this app.
      policy(target.ns, `allow-${target.app}-${i}`, `${selectorYaml('  ', 'podSelector', { app: target.app })}  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          team: team${Math.floor(r() * 7)}\n      podSelector:\n        matchLabels:\n          tier: ${pick(TIERS)}\n    ports:\n    - port: http\n`);
    } else if (kind === 1) {
      // Egress to another namespace's app (by the `name` label some namespaces carry), on a port range.
      const other = pick(apps);
      policy(target.ns, `egress-${target.app}-${i}`, `${selectorYaml('  ', 'podSelector', { app: target.app })}  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ns${other.ns}\n      podSelector:\n        matchLabels:\n          app: ${other.app}\n    ports:\n    - port: 8000\n      endPort: 9100\n`);
    } else if (kind === 2) {
      // Egress to the outside world except the private ranges.
      policy(target.ns, `internet-${target.app}-${i}`, `${selectorYaml('  ', 'podSelector', { tier: pick(TIERS) })}  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n    ports:\n    - port: 443\n`);
    } else {
      // Metrics scraped from the monitoring namespace, by role.
      policy(target.ns, `metrics-${target.app}-${i}`, `${selectorYaml('  ', 'podSelector', { role: pick(APPS) })}  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          env: ${pick(['prod', 'dev', 'staging'])}\n    ports:\n    - port: metrics\n    - port: 9000\n      endPort: 9095\n`);
    }
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'namespaces.yaml'), namespacesYaml(shape.namespaces, r));
  writeFileSync(join(dir, 'deployments.yaml'), workloads.join('---\n'));
  writeFileSync(join(dir, 'services.yaml'), services.join('---\n'));
  writeFileSync(join(dir, 'policies.yaml'), policies.join('---\n'));
  return { dir, pods, podObjects: workloads.length, policies: policies.length };
}

function writeStandalone(dir: string, shape: ScaleShape, r: () => number): WrittenCluster {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const pods = Array.from({ length: shape.pods }, (_, i) => {
    const ip = `10.${Math.floor(i / 250)}.${i % 250}.${(i * 7) % 250}`;
    return (
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod${i}\n  namespace: ns${i % shape.namespaces}\n  labels:\n    app: ${pick(APPS)}\n    tier: ${pick(TIERS)}\n    version: v${i % 3}\n` +
      `spec:\n  containers:\n  - name: main\n    image: registry.example/pod:1\n${portsYaml('    ', pick([80, 8080]))}status:\n  podIP: ${ip}\n`
    );
  });
  const peer = (indent: string): string =>
    pick([
      () => `${indent}- podSelector:\n${indent}    matchLabels:\n${indent}      app: ${pick(APPS)}\n`,
      () => `${indent}- podSelector:\n${indent}    matchLabels:\n${indent}      tier: ${pick(TIERS)}\n`,
      () => `${indent}- namespaceSelector:\n${indent}    matchLabels:\n${indent}      team: team${Math.floor(r() * 7)}\n`,
      () => `${indent}- namespaceSelector:\n${indent}    matchLabels:\n${indent}      name: ns${Math.floor(r() * shape.namespaces)}\n${indent}  podSelector:\n${indent}    matchLabels:\n${indent}      tier: ${pick(TIERS)}\n`,
      () => `${indent}- namespaceSelector: {}\n${indent}  podSelector:\n${indent}    matchExpressions:\n${indent}    - key: app\n${indent}      operator: In\n${indent}      values: [${pick(APPS)}, ${pick(APPS)}]\n`,
      () => `${indent}- ipBlock:\n${indent}    cidr: 10.0.0.0/8\n${indent}    except: [10.${Math.floor(r() * 4)}.0.0/16]\n`,
    ])();
  const ports = (indent: string): string =>
    pick([
      '',
      `${indent}ports:\n${indent}- port: 80\n`,
      `${indent}ports:\n${indent}- port: http\n`,
      `${indent}ports:\n${indent}- port: 9000\n${indent}  endPort: 9100\n`,
      `${indent}ports:\n${indent}- port: metrics\n${indent}- port: 443\n`,
    ]);
  const policies = Array.from({ length: shape.policies }, (_, i) => {
    const types = pick(['[Ingress]', '[Egress]', '[Ingress, Egress]']);
    const selector = i % 10 === 0 ? '  podSelector: {}\n' : selectorYaml('  ', 'podSelector', { app: pick(APPS) });
    const ingress = Array.from({ length: 1 + Math.floor(r() * 3) }, () => `  - from:\n${peer('    ')}${peer('    ')}${ports('    ')}`).join('');
    const egress = Array.from({ length: 1 + Math.floor(r() * 3) }, () => `  - to:\n${peer('    ')}${ports('    ')}`).join('');
    return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: policy${i}\n  namespace: ns${i % shape.namespaces}\nspec:\n${selector}  policyTypes: ${types}\n  ingress:\n${ingress}  egress:\n${egress}`;
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'namespaces.yaml'), namespacesYaml(shape.namespaces, r));
  writeFileSync(join(dir, 'pods.yaml'), pods.join('---\n'));
  writeFileSync(join(dir, 'policies.yaml'), policies.join('---\n'));
  return { dir, pods: shape.pods, podObjects: shape.pods, policies: shape.policies };
}

export function writeScaleCluster(dir: string, shape: ScaleShape, seed = 42): WrittenCluster {
  const r = rng(seed);
  return shape.kind === 'deployments' ? writeDeployments(dir, shape, r) : writeStandalone(dir, shape, r);
}
