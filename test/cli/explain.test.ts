/**
 * `netcheck explain` from manifests through the built CLI: a client outside the cluster is judged by the ingress
 * ipBlock rules (not refused as "not policed"), a LoadBalancer address maps to its Service's pods with what kube-proxy
 * does to the source address, and a mistyped port name is a one-line error (exit 2), not a DENIED verdict.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { built, MAIN, MANIFESTS } from '../e2e/built-cli.js';

const root = join(import.meta.dirname, '..', '..');
const EXTERNAL = 'test/fixtures/policy/external';

function explain(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'explain', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: '/nonexistent' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('explain: a client outside the cluster', () => {
  it('is admitted by the ipBlock holding its address, named with its policy and rule', () => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.5', '--to', 'shop/web', '--port', 'http');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('ALLOWED: 203.0.113.5 -> shop/web on 8080/TCP');
    expect(r.stdout).toContain('  egress from 203.0.113.5: not policed (203.0.113.5 is not a pod).');
    expect(r.stdout).toContain('    - shop/from-partners ingress[0] (from ipBlock 203.0.113.0/24 except 203.0.113.128/25) port http/TCP');
    expect(r.stdout).toContain('    - shop/from-partners ingress[0] ipBlock 203.0.113.0/24 except 203.0.113.128/25: admits 203.0.113.5');
  });

  it('is denied when its address is in the except range, naming the isolating policy and the excepted block', () => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.200', '--to', 'shop/web', '--port', '8080');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('DENIED: 203.0.113.200 -> shop/web on 8080/TCP');
    expect(r.stdout).toContain('ingress to shop/web: DENIED; isolated by shop/from-partners, and no rule admits it.');
    expect(r.stdout).toContain('shop/from-partners ingress[0]: ipBlock 203.0.113.0/24 except 203.0.113.128/25: 203.0.113.200 is in the excepted 203.0.113.128/25');
    expect(r.stdout).toContain('ipBlock 203.0.113.0/24 except 203.0.113.128/25: does not hold 203.0.113.200');
  });

  it('toward a LoadBalancer address with externalTrafficPolicy Local: the endpoint pods, the client address kept', () => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.5', '--to', '192.168.1.60', '--port', '80');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^192\.168\.1\.60 is the LoadBalancer IP of service shop\/web-local/);
    expect(r.stdout).toContain('via endpoint shop/web (targetPort http):\nALLOWED: 203.0.113.5 -> shop/web on 8080/TCP');
    expect(r.stdout).toContain("externalTrafficPolicy Local: kube-proxy keeps the client's address, so the ingress rules above see 203.0.113.5 itself.");
  });

  it('toward a LoadBalancer address with externalTrafficPolicy Cluster: the masquerade to a node address is said and judged', () => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.5', '--to', '192.168.1.61', '--port', '80');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('externalTrafficPolicy Cluster: kube-proxy masquerades traffic to 192.168.1.61 to the address of the node that received it');
    expect(r.stdout).toContain("    - from the endpoint's own node: allowed (NetworkPolicy always admits a pod's own node)");
    expect(r.stdout).toContain("    - from another node (the node addresses not known from manifests): DENIED: isolated by shop/from-partners, and no rule admits the node's address");
  });

  it("the scenario's own known gap ci-runner -> inference-lb: no financial-ml policy has an ipBlock", () => {
    const r = explain('-f', MANIFESTS, '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', '80');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('not policed)');
    expect(r.stdout).toContain('DENIED: 203.0.113.5 -> financial-ml/seldon-envoy on 9000/TCP');
    expect(r.stdout).toContain('203.0.113.5 is outside the pod network, so only an ingress ipBlock can admit it, and no policy isolating financial-ml/seldon-envoy has an ipBlock: no address outside the cluster is admitted.');
  });

  it('two addresses: neither end is policed', () => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.5', '--to', '198.51.100.7', '--port', '443');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('NOT POLICED: 203.0.113.5 -> 198.51.100.7: neither end is a pod in the manifests, so no NetworkPolicy applies.\n');
  });

  it('a Service IP as the source is refused: traffic does not come from it', () => {
    const r = explain('-f', EXTERNAL, '--from', '192.168.1.60', '--to', 'shop/web', '--port', '8080');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^netcheck: --from 192\.168\.1\.60: that is the LoadBalancer IP of service shop\/web-local, not where traffic comes from/m);
  });
});

describe.skipIf(!built)('explain: a port name the destination does not declare', () => {
  it.each([
    [['--to', 'shop/web', '--port', 'metrix'], 'no port metrix on shop/web (its pods declare: http 8080/TCP, metrics 9090/TCP); did you mean metrics'],
    [['--to', '192.168.1.61', '--port', 'htp'], 'no port htp on service shop/web-cluster (it declares: http 80/TCP); did you mean http'],
    [['--to', 'shop/web', '--port', 'grpc'], 'no port grpc on shop/web (its pods declare: http 8080/TCP, metrics 9090/TCP)'],
    [['--to', '198.51.100.7', '--port', 'http'], '--port http: 198.51.100.7 is no pod or Service of the cluster, so it has no named ports; give a number'],
  ])('%j: one line, exit 2', (args, line) => {
    const r = explain('-f', EXTERNAL, '--from', '203.0.113.5', ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`netcheck: ${line}`);
  });
});
