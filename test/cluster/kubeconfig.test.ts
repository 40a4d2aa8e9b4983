import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveKubeconfig } from '../../src/cluster/kubeconfig.js';
import { UsageError } from '../../src/model/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'netcheck-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(file: string, contexts: Array<{ name: string; server: string; namespace?: string }>, current?: string): string {
  const path = join(dir, file);
  const lines = ['apiVersion: v1', 'kind: Config', `current-context: ${current ?? ''}`, 'clusters:'];
  for (const c of contexts) lines.push(`- name: ${c.name}`, '  cluster:', `    server: ${c.server}`);
  lines.push('users:');
  for (const c of contexts) lines.push(`- name: ${c.name}`, '  user:', `    token: t-${c.name}`);
  lines.push('contexts:');
  for (const c of contexts) {
    lines.push(`- name: ${c.name}`, '  context:', `    cluster: ${c.name}`, `    user: ${c.name}`);
    if (c.namespace) lines.push(`    namespace: ${c.namespace}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const a = kubeconfig('a.yaml', [{ name: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' }, { name: 'dev', server: 'https://dev:6443' }], 'prod');
const b = kubeconfig('b.yaml', [{ name: 'prod', server: 'https://shadowed:6443' }, { name: 'lab', server: 'http://127.0.0.1:1' }], 'lab');
const home = join(dir, 'home');
mkdirSync(join(home, '.kube'), { recursive: true });
kubeconfig(join('home', '.kube', 'config'), [{ name: 'homectx', server: 'https://home:6443' }], 'homectx');
const emptyHome = join(dir, 'empty-home');
mkdirSync(emptyHome);

describe('resolveKubeconfig: which file, which context', () => {
  const cases: Array<{ name: string; kubeconfig?: string; context?: string; env?: Record<string, string>; home?: string; expect: { context: string; server: string; namespace: string } }> = [
    { name: '--kubeconfig, current-context', kubeconfig: a, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: '--kubeconfig + --context', kubeconfig: a, context: 'dev', expect: { context: 'dev', server: 'https://dev:6443', namespace: 'default' } },
    { name: '--kubeconfig beats KUBECONFIG', kubeconfig: a, env: { KUBECONFIG: b }, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: 'KUBECONFIG list: first current-context and first definition win', env: { KUBECONFIG: [a, b].join(delimiter) }, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: 'KUBECONFIG list: contexts from later files are usable', env: { KUBECONFIG: [a, b].join(delimiter) }, context: 'lab', expect: { context: 'lab', server: 'http://127.0.0.1:1', namespace: 'default' } },
    { name: 'KUBECONFIG skips missing entries', env: { KUBECONFIG: [join(dir, 'missing.yaml'), b].join(delimiter) }, expect: { context: 'lab', server: 'http://127.0.0.1:1', namespace: 'default' } },
    { name: '~/.kube/config', home, expect: { context: 'homectx', server: 'https://home:6443', namespace: 'default' } },
  ];
  it.each(cases)('$name', (c) => {
    const resolved = resolveKubeconfig({ kubeconfig: c.kubeconfig, context: c.context, env: c.env ?? {}, home: c.home ?? emptyHome });
    expect({ context: resolved.context, server: resolved.server, namespace: resolved.namespace }).toEqual(c.expect);
  });
});

describe('resolveKubeconfig: bad input is a usage error that says what exists', () => {
  const cases: Array<{ name: string; kubeconfig?: string; context?: string; env?: Record<string, string>; message: RegExp; hint?: RegExp }> = [
    { name: 'unknown context lists the available ones', kubeconfig: a, context: 'staging', message: /context "staging" not found/, hint: /available contexts: dev, prod/ },
    { name: 'missing --kubeconfig file', kubeconfig: join(dir, 'nope.yaml'), message: /nope\.yaml does not exist/ },
    { name: 'KUBECONFIG naming only missing files', env: { KUBECONFIG: join(dir, 'nope.yaml') }, message: /none of the files in KUBECONFIG/ },
    { name: 'nothing at all', env: {}, message: /no kubeconfig found/, hint: /--kubeconfig/ },
  ];
  it.each(cases)('$name', (c) => {
    let error: unknown;
    try {
      resolveKubeconfig({ kubeconfig: c.kubeconfig, context: c.context, env: c.env ?? {}, home: emptyHome });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(c.message);
    if (c.hint) expect((error as UsageError).hint).toMatch(c.hint);
  });
});
