/** The offline commands end to end through the real CLI entry point (a child process), checking exit codes. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const small = 'test/fixtures/policy/small';
const clean = 'test/fixtures/policy/clean';
const admin = 'test/fixtures/policy/admin';

function netcheck(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('netcheck analyze / explain / lint', () => {
  const cases: Array<{ args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }> = [
    { args: ['lint', '--manifests', small], code: 1, stdout: /ERROR +NC001 shop\/baseline/ },
    { args: ['lint', '--manifests', clean], code: 0, stdout: /^no findings/ },
    { args: ['analyze', '--manifests', small, '--port', 'pg'], code: 0, stdout: /B3 web +│ -  │ ✓/ },
    {
      args: ['explain', '--manifests', small, '--from', 'shop/web', '--to', 'kube-system/coredns', '--port', '53', '--protocol', 'udp'],
      code: 0,
      stdout: /DENIED: shop\/web -> kube-system\/coredns on 53\/UDP[\s\S]*namespace kube-system has no label `name`/,
    },
    {
      args: ['explain', '--manifests', small, '--from', 'kube-system/coredns', '--to', '192.168.1.50', '--port', '80'],
      code: 0,
      stdout: /LoadBalancer IP of service shop\/web[\s\S]*via endpoint shop\/web \(targetPort http\):\nALLOWED/,
    },
    {
      // A port name the destination does not declare is a typo: one line, exit 2, not a DENIED verdict.
      args: ['explain', '--manifests', 'scenarios/financial-ml/manifests', '--from', 'financial-ml/financial-predictor', '--to', 'mlflow/mlflow', '--port', 'http-x'],
      code: 2,
      stderr: /^netcheck: no port http-x on mlflow\/mlflow \(its pods declare: http 5000\/TCP\); did you mean http$/m,
    },
    {
      args: ['explain', '--manifests', admin, '--from', 'monitoring/prometheus', '--to', 'shop/web', '--port', '8080'],
      code: 0,
      stdout: /^ALLOWED[\s\S]*ingress to shop\/web: allowed by AdminNetworkPolicy cluster-control \(priority 20\) ingress\[0\] 'allow-from-monitoring': Allow/,
    },
    {
      args: ['explain', '--manifests', admin, '--from', 'billing/api', '--to', 'shop/web', '--port', '8080'],
      code: 0,
      stdout: /^DENIED[\s\S]*egress from billing\/api: DENIED by Calico GlobalNetworkPolicy deny-billing-egress \(order 100\) egress\[0\]: Deny/,
    },
    {
      args: ['explain', '--manifests', admin, '--from', 'shop/web', '--to', 'billing/api', '--port', '8080'],
      code: 0,
      // web-hardening is a stored crd.projectcalico.org/v1 object without types: felix applies it to both directions.
      stdout: /^DENIED[\s\S]*egress from shop\/web: DENIED at the end of Calico's default tier: Calico NetworkPolicy shop\/web-hardening \(order 10\) applied/,
    },
    { args: ['lint', '--manifests', admin], code: 0, stdout: /^(?![\s\S]*NC011)[\s\S]*0 error\(s\), 2 warning\(s\)/ },
    // Calico's Deny for billing/api egress (order 100) and its end-of-tier drop for shop/web; prometheus is admitted by the ANP.
    { args: ['analyze', '--manifests', admin], code: 0, stdout: /A1 api +│ ✗  │ ✗  │ ✗[\s\S]*B1 prometheus │ ✓  │ ✓  │ ✓[\s\S]*C1 web +│ ✗  │ ✗  │ ✗/ },
    { args: ['explain', '--manifests', small, '--from', 'shop/wbe', '--to', 'shop/db', '--port', '5432'], code: 2, stderr: /--from shop\/wbe: no such pod.*did you mean shop\/web/ },
    { args: ['analyze', '--manifests', small, '--protocol', 'ICMP'], code: 2, stderr: /--protocol ICMP: use TCP, UDP or SCTP/ },
    { args: ['analyze', '--manifests', small, '--port', '70000'], code: 2, stderr: /--port 70000/ },
    { args: ['analyze', '--manifests', small, '-o', 'yaml'], code: 2, stderr: /-o yaml: unknown output format/ },
    { args: ['analyze', '--manifests', 'test/fixtures/policy/nope'], code: 2, stderr: /cannot read test\/fixtures\/policy\/nope/ },
    { args: ['analyze'], code: 2, stderr: /--manifests/ },
  ];
  for (const c of cases) {
    it(`${c.args.join(' ')} → exit ${c.code}`, () => {
      const r = netcheck(...c.args);
      expect(r.code, r.stderr).toBe(c.code);
      if (c.stdout) expect(r.stdout).toMatch(c.stdout);
      if (c.stderr) expect(r.stderr).toMatch(c.stderr);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    });
  }

  it('analyze -o json prints exactly one JSON document with one cell per pair and port', () => {
    const r = netcheck('analyze', '--manifests', small, '-o', 'json', '--port', '5432');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { cells: Array<{ from: string; to: string; allowed: boolean; egress: unknown }>; skipped: Record<string, number> };
    expect(doc.cells).toHaveLength(16);
    expect(doc.skipped).toEqual({ ConfigMap: 1 });
    expect(doc.cells.find((c) => c.from === 'shop/web' && c.to === 'shop/db')).toMatchObject({ allowed: true });
  });
});
