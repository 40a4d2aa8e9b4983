/**
 * The lab API through the real kubectl (v1.32): discovery, server-side tables, create -f (server-side field
 * validation via the OpenAPI v3 stub), logs, delete, watch, label — the commands on-call engineers use.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubectlWith, useFakeLab, waitFor } from './lab-fixture.js';

const getLab = useFakeLab();
const scratch = mkdtempSync(join(tmpdir(), 'netcheck-kubectl-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const kubectl = kubectlWith(() => getLab().lab.kubeconfigPath);

function manifest(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

const helloPod = `apiVersion: v1
kind: Pod
metadata:
  name: hello
  labels: {app: hello}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: node:20-alpine
    command: ["node", "-e", "console.log('hello from kubectl'); setTimeout(()=>{}, 60000)"]
`;

describe('kubectl against the lab', () => {
  it('get ns,pods,svc,networkpolicies -A prints server-side columns', async () => {
    await kubectl('create', 'namespace', 'shop');
    const policy = manifest('netpol.yaml', `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`);
    expect((await kubectl('create', '-f', policy)).stdout).toContain('networkpolicy.networking.k8s.io/deny-all created');
    const { stdout, code } = await kubectl('get', 'ns,pods,svc,networkpolicies', '-A');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
    expect(stdout).toMatch(/namespace\/kube-system\s+Active/);
    expect(stdout).toMatch(/NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(stdout).toMatch(/kube-system\s+pod\/coredns-\S+\s+1\/1\s+Running\s+0/);
    expect(stdout).toMatch(/NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    expect(stdout).toMatch(/kube-system\s+service\/kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP/);
    expect(stdout).toMatch(/shop\s+networkpolicy.networking.k8s.io\/deny-all\s+app=web/);
  });

  it('create -f, logs, get -o wide, delete', async () => {
    const created = await kubectl('create', '-f', manifest('hello.yaml', helloPod));
    expect(created).toMatchObject({ code: 0, stdout: 'pod/hello created\n' });
    await waitFor('hello log', async () => ((await kubectl('logs', 'hello')).stdout.includes('hello from kubectl') ? true : undefined));
    expect((await kubectl('logs', 'pod/hello')).stdout).toBe('hello from kubectl\n');
    const wide = await kubectl('get', 'pods', '-o', 'wide');
    expect(wide.stdout).toMatch(/hello\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+lab-node-[ab]/);
    const again = await kubectl('create', '-f', join(scratch, 'hello.yaml'));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Error from server (AlreadyExists): error when creating');
    const deleted = await kubectl('delete', 'pod', 'hello');
    expect(deleted).toMatchObject({ code: 0, stdout: 'pod "hello" deleted\n' });
    const gone = await kubectl('get', 'pod', 'hello');
    expect(gone.stderr).toContain('Error from server (NotFound): pods "hello" not found');
  });

  it('logs -f streams until the container exits', async () => {
    const path = manifest('count.yaml', helloPod.replace('name: hello', 'name: count').replace(
      `"console.log('hello from kubectl'); setTimeout(()=>{}, 60000)"`,
      `"let i=0; const t=setInterval(()=>{console.log('n'+i); if(++i===3) clearInterval(t)}, 200)"`,
    ));
    await kubectl('create', '-f', path);
    await waitFor('count running', async () => ((await kubectl('get', 'pod', 'count', '-o', 'jsonpath={.status.phase}')).stdout !== 'Pending' ? true : undefined));
    const followed = await kubectl('logs', '-f', 'count');
    expect(followed.stdout).toBe('n0\nn1\nn2\n');
    expect((await kubectl('get', 'pod', 'count', '-o', 'jsonpath={.status.phase}')).stdout).toBe('Succeeded');
  });

  it('get pods -w prints the list, then changes', async () => {
    await kubectl('create', 'namespace', 'watched');
    await kubectl('create', '-f', manifest('w.yaml', helloPod.replace('name: hello', 'name: watched-pod').replace('metadata:', 'metadata:\n  namespace: watched')));
    await waitFor('watched-pod running', async () => ((await kubectl('get', 'pod', '-n', 'watched', 'watched-pod', '-o', 'jsonpath={.status.phase}')).stdout === 'Running' ? true : undefined));
    const child = spawn('kubectl', ['--kubeconfig', getLab().lab.kubeconfigPath, 'get', 'pods', '-n', 'watched', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor('the listed pod', () => (/watched-pod\s+1\/1\s+Running/.test(out) ? true : undefined));
      await kubectl('delete', 'pod', '-n', 'watched', 'watched-pod');
      await waitFor('the deletion in the watch output', () => (out.trim().split('\n').length >= 3 ? true : undefined));
    } finally {
      child.kill('SIGTERM');
    }
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines[1]).toMatch(/^watched-pod\s+1\/1\s+Running\s+0/);
    expect(lines.slice(2).every((l) => l.startsWith('watched-pod'))).toBe(true);
  });

  it('label ns adds and removes labels', async () => {
    await kubectl('create', 'namespace', 'labelled');
    expect((await kubectl('label', 'ns', 'labelled', 'name=labelled')).stdout).toBe('namespace/labelled labeled\n');
    expect((await kubectl('get', 'ns', 'labelled', '--show-labels')).stdout).toMatch(/kubernetes.io\/metadata.name=labelled,name=labelled/);
    await getLab().lab.settle();
    expect(getLab().dataPlane.lastState!.snapshot.namespaces.find((n) => n.name === 'labelled')!.labels.name).toBe('labelled');
    expect((await kubectl('label', 'ns', 'labelled', 'name-')).stdout).toBe('namespace/labelled unlabeled\n');
    expect((await kubectl('get', 'ns', '-l', 'name=labelled')).stderr).toContain('No resources found');
  });

  it('reports PodSecurity rejections as kubectl users see them', async () => {
    await kubectl('create', 'namespace', 'locked');
    await getLab().lab.setFaults({ podSecurityRestricted: ['locked'] });
    try {
      const result = await kubectl('create', '-n', 'locked', '-f', join(scratch, 'hello.yaml'));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('Error from server (Forbidden): error when creating');
      expect(result.stderr).toContain('pods "hello" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false');
    } finally {
      await getLab().lab.setFaults({ podSecurityRestricted: undefined });
    }
  });
});
