/**
 * `netcheck analyze` on a synthetic 50-pod, 8-namespace manifests directory (through the built CLI): the table
 * fits 120 columns, and the footer names one port only when every destination shares it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'netcheck-analyze-width-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const namespaces = ['team-alpha', 'team-beta', 'payments-prod', 'payments-staging', 'data-platform', 'ingress-nginx', 'monitoring', 'kube-system'];

function writeManifests(pods: number, portOf: (i: number) => number): string {
  const docs = namespaces.map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns}, labels: { name: ${ns} } }\n`);
  for (let i = 0; i < pods; i++) {
    const ns = namespaces[i % namespaces.length];
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: { name: service-workload-${String(i).padStart(2, '0')}, namespace: ${ns}, labels: { tier: t${i % 3} } }\n` +
        `spec: { containers: [{ name: c, image: x, ports: [{ containerPort: ${portOf(i)} }] }] }\n`,
    );
  }
  for (const ns of namespaces.slice(0, 4)) {
    docs.push(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny-all, namespace: ${ns} }\nspec: { podSelector: {}, policyTypes: [Ingress, Egress] }\n`);
    docs.push(
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: allow-ingress-nginx, namespace: ${ns} }\n` +
        `spec: { podSelector: { matchLabels: { tier: t1 } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: ingress-nginx } } }] }] }\n`,
    );
  }
  const sub = mkdtempSync(join(dir, 'm-'));
  writeFileSync(join(sub, 'all.yaml'), docs.join('---\n'));
  return sub;
}

function analyze(manifests: string): string {
  const r = spawnSync(process.execPath, [cli, 'analyze', '--manifests', manifests], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('analyze table width', () => {
  const cases = [
    { name: '50 pods, one shared port', portOf: () => 8080, footer: /^port: 8080\/TCP$/m, legend: /A1 service-workload-\d+,/ },
    { name: '50 pods, ports differ per pod', portOf: (i: number) => (i % 2 === 0 ? 5432 : 8080), footer: undefined, legend: /\[(5432|8080)\/TCP\]/ },
  ];
  it.each(cases)('$name: every line ≤ 120 columns, compact header, honest footer', ({ portOf, footer, legend }) => {
    const out = analyze(writeManifests(50, portOf));
    const widths = out.split('\n').map((line) => [...line].length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(120);
    expect(out.split('\n')[0]).toMatch(/^from \\ to +│ A +│ B +│ C +│ D +│ E +│ F +│ G +│ H$/);
    expect(out).toMatch(/\(columns in this order\)/);
    expect(out).toMatch(legend);
    if (footer) expect(out).toMatch(footer);
    else expect(out).not.toMatch(/^port: /m);
    expect(out).toMatch(/50 pods, 2500 cells/);
  });
});
