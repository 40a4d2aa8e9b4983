/**
 * deploy/ grants what netcheck asks the API for (src/cluster), and nothing it does not need.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const deploy = join(import.meta.dirname, '..', '..', 'deploy');

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
type Doc = { kind: string; metadata: { name: string; namespace?: string }; rules?: Rule[]; roleRef?: { kind: string; name: string }; subjects?: Array<{ kind: string; name: string; namespace?: string }> };

function read(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(deploy, file), 'utf8')).map((d) => d.toJS() as Doc);
}

function grants(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}

/** Every (group, resource, verb) the cluster layer issues; cluster-scoped ones are marked. */
const used: Array<{ group: string; resource: string; verb: string; clusterScoped?: boolean }> = [
  ...['create', 'get', 'list', 'watch', 'delete'].map((verb) => ({ group: '', resource: 'pods', verb })),
  { group: '', resource: 'pods/log', verb: 'get' },
  // --in-pod / probe --from NS/POD: the agent as an ephemeral container of the workload's own pod (client.ts addEphemeralContainer).
  { group: '', resource: 'pods/ephemeralcontainers', verb: 'patch' },
  { group: '', resource: 'events', verb: 'list' },
  { group: '', resource: 'services', verb: 'list' },
  { group: 'discovery.k8s.io', resource: 'endpointslices', verb: 'list' },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verb: 'list' },
  { group: '', resource: 'namespaces', verb: 'list', clusterScoped: true },
  { group: '', resource: 'namespaces', verb: 'get', clusterScoped: true },
  { group: '', resource: 'nodes', verb: 'list', clusterScoped: true },
  ...['deployments', 'statefulsets', 'daemonsets', 'replicasets'].map((resource) => ({ group: 'apps', resource, verb: 'get' })),
  { group: 'batch', resource: 'jobs', verb: 'get' },
  // Cluster-wide, to name the CNI (inventory.ts); a Role-only run does without.
  { group: 'apps', resource: 'daemonsets', verb: 'list', clusterScoped: true },
  // Read cluster-wide, where the API serves them (inventory.ts readPoliciesBeyondNetworkPolicy).
  ...['adminnetworkpolicies', 'baselineadminnetworkpolicies', 'clusternetworkpolicies'].map((resource) => ({ group: 'policy.networking.k8s.io', resource, verb: 'list', clusterScoped: true })),
  ...['projectcalico.org', 'crd.projectcalico.org'].flatMap((group) => ['globalnetworkpolicies', 'networkpolicies'].map((resource) => ({ group, resource, verb: 'list', clusterScoped: true }))),
];

const clusterRole = read('rbac/clusterrole.yaml');
const role = read('rbac/role.yaml');

describe('deploy/rbac/clusterrole.yaml', () => {
  const rules = clusterRole.find((d) => d.kind === 'ClusterRole')?.rules ?? [];
  it.each(used)('grants $verb $group/$resource', ({ group, resource, verb }) => {
    expect(grants(rules, group, resource, verb)).toBe(true);
  });

  it.each([
    ['', 'pods/exec', 'create'],
    ['', 'secrets', 'get'],
    ['', 'pods', 'deletecollection'],
    ['', 'pods', 'update'],
    ['networking.k8s.io', 'networkpolicies', 'create'],
  ])('does not grant %s/%s %s', (group, resource, verb) => {
    expect(grants(rules, group, resource, verb)).toBe(false);
  });

  it('grants nothing netcheck does not call', () => {
    const granted = rules.flatMap((r) => r.apiGroups.flatMap((group) => r.resources.flatMap((resource) => r.verbs.map((verb) => `${verb} ${group}/${resource}`))));
    const needed = new Set(used.map((u) => `${u.verb} ${u.group}/${u.resource}`));
    expect(granted.filter((g) => !needed.has(g))).toEqual([]);
  });

  it('is bound to the Job\'s ServiceAccount', () => {
    const binding = clusterRole.find((d) => d.kind === 'ClusterRoleBinding');
    expect(binding?.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'netcheck' });
    expect(binding?.subjects).toContainEqual({ kind: 'ServiceAccount', name: 'netcheck', namespace: 'netcheck' });
  });
});

describe('deploy/rbac/role.yaml', () => {
  const doc = role.find((d) => d.kind === 'Role');
  const rules = doc?.rules ?? [];
  it.each(used.filter((u) => !u.clusterScoped))('grants $verb $group/$resource in its namespace', ({ group, resource, verb }) => {
    expect(grants(rules, group, resource, verb)).toBe(true);
  });

  // A Role cannot grant cluster-scoped resources; netcheck degrades instead (inventory `unknown`).
  it.each(used.filter((u) => u.clusterScoped))('leaves $verb $resource out', ({ group, resource, verb }) => {
    expect(grants(rules, group, resource, verb)).toBe(false);
  });

  it('grants nothing netcheck does not call', () => {
    const granted = rules.flatMap((r) => r.apiGroups.flatMap((group) => r.resources.flatMap((resource) => r.verbs.map((verb) => `${verb} ${group}/${resource}`))));
    const needed = new Set(used.filter((u) => !u.clusterScoped).map((u) => `${u.verb} ${u.group}/${u.resource}`));
    expect(granted.filter((g) => !needed.has(g))).toEqual([]);
  });

  it('Role and RoleBinding share one namespace', () => {
    const binding = role.find((d) => d.kind === 'RoleBinding');
    expect(binding?.metadata.namespace).toBe(doc?.metadata.namespace);
    expect(binding?.roleRef).toMatchObject({ kind: 'Role', name: doc?.metadata.name });
  });
});

describe('deploy/job.yaml', () => {
  const docs = parseAllDocuments(readFileSync(join(deploy, 'job.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const job = docs.find((d) => d.kind === 'Job');
  it('runs as the bound ServiceAccount in the namespace the binding names', () => {
    expect(job?.metadata.namespace).toBe('netcheck');
    expect(job?.spec.template.spec.serviceAccountName).toBe('netcheck');
  });
  it('passes PodSecurity restricted (its namespace enforces it)', () => {
    const spec = job?.spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of spec.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
    expect(docs.find((d) => d.kind === 'Namespace')?.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
