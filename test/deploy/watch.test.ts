/**
 * netcheck on watch as shipped: the alert rules under Prometheus' own rule tester (`promtool test rules`), the Helm
 * chart under a real Helm (`helm lint`, `helm template`; built from the Go module proxy at a pinned version, cached
 * like the cluster's components), and the kustomizations (kubectl's built-in kustomize).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { builtHelm } from '../cluster-kit/build.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const CHART = join(DEPLOY, 'helm', 'netcheck');
const RULES = join(DEPLOY, 'watch', 'alerts.rules.yaml');

const has = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const promtool = has('promtool');
const kubectl = has('kubectl');
const helm = await builtHelm().catch(() => undefined);
if (!promtool) console.warn("deploy/watch: promtool tests skipped — Debian's prometheus package is not installed (.ci/run installs it)");
if (helm === undefined) console.warn('deploy/helm: helm tests skipped — helm is not built (npm run cluster -- build)');

function run(argv: string[], input?: string): { status: number | null; out: string } {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

const dir = mkdtempSync(join(tmpdir(), 'netcheck-deploy-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `helm template` of the chart with these values, as objects. */
function template(values: Record<string, unknown> = {}): Doc[] {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  const { status, out } = run([helm as string, 'template', 'nc', CHART, '-n', 'monitoring', '-f', file]);
  expect(status, out).toBe(0);
  return parseAllDocuments(out).map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

const containerOf = (spec: { containers: Array<{ args: string[] }> }) => spec.containers[0] as { args: string[]; volumeMounts: Array<{ mountPath: string }> };

describe.skipIf(!promtool)('deploy/watch/alerts.rules.yaml under promtool', () => {
  it('passes `promtool check rules`', () => {
    const { status, out } = run(['promtool', 'check', 'rules', RULES]);
    expect(status, out).toBe(0);
    expect(out).toMatch(/SUCCESS: 6 rules found/);
  });

  it('passes its unit tests (`promtool test rules deploy/watch/alerts.test.yaml`): page on data-plane and DNS after two failing runs, ticket on a policy gap, stale, absent, cannot probe', () => {
    const { status, out } = run(['promtool', 'test', 'rules', join(DEPLOY, 'watch', 'alerts.test.yaml')]);
    expect(status, out).toBe(0);
    expect(out).toMatch(/SUCCESS/);
  });

  it('a rule test that expects the wrong thing fails (the tester is not a rubber stamp)', () => {
    const broken = readFileSync(join(DEPLOY, 'watch', 'alerts.test.yaml'), 'utf8').replace('severity: page, scenario: financial-ml, source: serving', 'severity: ticket, scenario: financial-ml, source: serving').replace('- alerts.rules.yaml', `- ${RULES}`);
    const file = join(dir, 'broken.test.yaml');
    writeFileSync(file, broken);
    const { status, out } = run(['promtool', 'test', 'rules', file]);
    expect(status).not.toBe(0);
    expect(out).toMatch(/NetcheckDNSFault/);
  });
});

describe.skipIf(helm === undefined)('deploy/helm/netcheck under a real helm', () => {
  it('`helm lint` is clean in every mode', () => {
    for (const set of ['mode=watch', 'mode=job', 'mode=cronjob', 'mode=watch,serviceMonitor.enabled=true,alerts.prometheusRule=true', 'rbac.scope=namespaces,rbac.namespaces={financial-ml,seldon-system}']) {
      const { status, out } = run([helm as string, 'lint', CHART, '--strict', '--set', set]);
      expect(status, `${set}: ${out}`).toBe(0);
      expect(out, set).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('watch (the default): a Deployment running `netcheck watch`, its Service on the metrics port, the rule ConfigMap; no ServiceMonitor unless asked', () => {
    const docs = template();
    expect(docs.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    const deployment = docs.find((d) => d.kind === 'Deployment') as Doc & { spec: { template: { spec: { containers: Array<{ args: string[] }>; serviceAccountName: string } } } };
    expect(containerOf(deployment.spec.template.spec).args).toEqual(['watch', 'financial-ml', '--every', '300s', '--listen', ':9464', '--budget', '120s', '--no-progress']);
    expect(deployment.spec.template.spec.serviceAccountName).toBe('nc-netcheck');
    const service = docs.find((d) => d.kind === 'Service') as Doc & { spec: { ports: Array<{ port: number; targetPort: string }> } };
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' }]);
    const monitored = template({ serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' } }, alerts: { prometheusRule: true } });
    const monitor = monitored.find((d) => d.kind === 'ServiceMonitor') as Doc & { metadata: { labels: Record<string, string> }; spec: { endpoints: Array<{ port: string }> } };
    expect(monitor.metadata.labels['release']).toBe('kube-prometheus');
    expect(monitor.spec.endpoints[0]?.port).toBe('metrics');
    const rule = monitored.find((d) => d.kind === 'PrometheusRule') as Doc & { spec: unknown };
    expect(rule.spec).toEqual(parse(readFileSync(RULES, 'utf8')));
  });

  it('job and cronjob run `netcheck run`; the schedule and the extra flags are values', () => {
    const job = template({ mode: 'job', probeImage: 'registry.local/node:22', extraArgs: ['--per-node'] }).find((d) => d.kind === 'Job') as Doc & { spec: { backoffLimit: number; template: { spec: { containers: Array<{ args: string[] }> } } } };
    expect(containerOf(job.spec.template.spec).args).toEqual(['run', 'financial-ml', '--budget', '120s', '--no-progress', '--image', 'registry.local/node:22', '--per-node']);
    expect(job.spec.backoffLimit).toBe(0);
    const docs = template({ mode: 'cronjob', schedule: '0 * * * *' });
    expect(docs.map((d) => d.kind)).not.toContain('Deployment');
    const cron = docs.find((d) => d.kind === 'CronJob') as Doc & { spec: { schedule: string; concurrencyPolicy: string; jobTemplate: { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } } } };
    expect([cron.spec.schedule, cron.spec.concurrencyPolicy]).toEqual(['0 * * * *', 'Forbid']);
    expect(containerOf(cron.spec.jobTemplate.spec.template.spec).args.slice(0, 2)).toEqual(['run', 'financial-ml']);
  });

  it('an inline scenario becomes a ConfigMap that the pod mounts and netcheck reads; an existing ConfigMap is mounted as is', () => {
    const inline = 'apiVersion: netcheck.io/v1alpha1\nkind: Scenario\nmetadata: { name: mine }\n';
    const docs = template({ scenario: { inline } });
    const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'nc-netcheck-scenario') as Doc & { data: Record<string, string> };
    expect(configMap.data['scenario.yaml']).toBe(inline);
    const deployment = docs.find((d) => d.kind === 'Deployment') as Doc & { spec: { template: { spec: { containers: Array<{ args: string[] }>; volumes: Array<{ name: string; configMap?: { name: string } }> } } } };
    const spec = deployment.spec.template.spec;
    expect(containerOf(spec).args[1]).toBe('/etc/netcheck/scenario/scenario.yaml');
    expect(containerOf(spec).volumeMounts.map((m) => m.mountPath)).toContain('/etc/netcheck/scenario');
    expect(spec.volumes.find((v) => v.name === 'scenario')?.configMap?.name).toBe('nc-netcheck-scenario');
    const theirs = template({ scenario: { configMap: 'platform-scenario' } });
    expect(theirs.some((d) => d.metadata.name === 'nc-netcheck-scenario')).toBe(false);
    const theirSpec = (theirs.find((d) => d.kind === 'Deployment') as typeof deployment).spec.template.spec;
    expect(theirSpec.volumes.find((v) => v.name === 'scenario')?.configMap?.name).toBe('platform-scenario');
  });

  it('rights: the ClusterRole of deploy/rbac/clusterrole.yaml, or a Role per namespace with the rules of deploy/rbac/role.yaml', () => {
    const rulesOf = (file: string, kind: string) => (parseAllDocuments(readFileSync(join(DEPLOY, 'rbac', file), 'utf8')).map((d) => d.toJS() as Doc).find((d) => d.kind === kind) as Doc & { rules: unknown }).rules;
    const clusterRole = template().find((d) => d.kind === 'ClusterRole') as Doc & { rules: unknown };
    expect(clusterRole.rules).toEqual(rulesOf('clusterrole.yaml', 'ClusterRole'));
    const docs = template({ rbac: { scope: 'namespaces', namespaces: ['financial-ml', 'seldon-system'] } });
    expect(docs.some((d) => d.kind === 'ClusterRole')).toBe(false);
    const roles = docs.filter((d) => d.kind === 'Role') as Array<Doc & { rules: unknown }>;
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['financial-ml', 'seldon-system']);
    for (const role of roles) expect(role.rules).toEqual(rulesOf('role.yaml', 'Role'));
    const bindings = docs.filter((d) => d.kind === 'RoleBinding') as Array<Doc & { subjects: Array<{ name: string; namespace: string }> }>;
    expect(bindings.map((b) => b.subjects)).toEqual([[{ kind: 'ServiceAccount', name: 'nc-netcheck', namespace: 'monitoring' }], [{ kind: 'ServiceAccount', name: 'nc-netcheck', namespace: 'monitoring' }]]);
    const { status, out } = run([helm as string, 'template', 'nc', CHART, '--set', 'rbac.scope=namespaces']);
    expect(status).not.toBe(0);
    expect(out).toMatch(/rbac.scope=namespaces needs rbac.namespaces/);
  });

  it('deploy/watch/alerts.rules.yaml is the chart\'s rule file with the default values; the interval and `for:` are values', () => {
    const configMap = template().find((d) => d.kind === 'ConfigMap') as Doc & { data: Record<string, string> };
    expect(configMap.data['netcheck.rules.yaml']).toBe(readFileSync(RULES, 'utf8'));
    const fast = template({ watch: { everySeconds: 10 }, alerts: { for: '20s' } }).find((d) => d.kind === 'ConfigMap') as typeof configMap;
    const groups = (parse(fast.data['netcheck.rules.yaml'] as string) as { groups: Array<{ rules: Array<{ alert: string; expr: string; for: string }> }> }).groups;
    const byName = new Map(groups[0]?.rules.map((r) => [r.alert, r]));
    expect(byName.get('NetcheckDNSFault')?.for).toBe('20s');
    expect(byName.get('NetcheckStale')?.expr).toBe('time() - netcheck_last_run_timestamp_seconds > 30');
    expect(byName.get('NetcheckCannotProbe')?.expr).toBe('sum by (reason) (increase(netcheck_run_errors_total[30s])) > 0');
  });
});

describe.skipIf(!kubectl)('kustomize (kubectl kustomize)', () => {
  it('deploy/ still renders the one-shot Job; deploy/watch/ the watch Deployment, its Service, the ClusterRole bound to its ServiceAccount, and the rules', () => {
    const job = run(['kubectl', 'kustomize', DEPLOY]);
    expect(job.status, job.out).toBe(0);
    expect(parseAllDocuments(job.out).map((d) => (d.toJS() as Doc).kind)).toContain('Job');
    const watch = run(['kubectl', 'kustomize', join(DEPLOY, 'watch')]);
    expect(watch.status, watch.out).toBe(0);
    const docs = parseAllDocuments(watch.out).map((d) => d.toJS() as Doc);
    expect(docs.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Namespace', 'Service', 'ServiceAccount']);
    const rules = docs.find((d) => d.kind === 'ConfigMap') as Doc & { data: Record<string, string> };
    expect(rules.data['netcheck.rules.yaml']).toBe(readFileSync(RULES, 'utf8'));
    const deployment = docs.find((d) => d.kind === 'Deployment') as Doc & { spec: { template: { spec: { serviceAccountName: string; containers: Array<{ image: string; args: string[] }> } } } };
    const binding = docs.find((d) => d.kind === 'ClusterRoleBinding') as Doc & { subjects: Array<{ name: string; namespace: string }> };
    expect(binding.subjects).toContainEqual({ kind: 'ServiceAccount', name: deployment.spec.template.spec.serviceAccountName, namespace: deployment.metadata.namespace });
    expect(deployment.spec.template.spec.containers[0]?.args.slice(0, 4)).toEqual(['watch', 'financial-ml', '--every', '300s']);
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('kube-netcheck:0.1.0');
  });
});
