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
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const empty = file('empty.yaml', '');
const blank = file('blank.yaml', '\n  \n');
const noContexts = file('no-contexts.yaml', 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
const notYaml = file('not-yaml.yaml', 'apiVersion: v1\nclusters: [\n');
const notKubeconfig = file('not-kubeconfig.yaml', 'contexts:\n- name: x\n');
const noCurrent = kubeconfig('no-current.yaml', [{ name: 'one', server: 'https://one:6443' }, { name: 'two', server: 'https://two:6443' }]);
const danglingCurrent = kubeconfig('dangling.yaml', [{ name: 'one', server: 'https://one:6443' }], 'gone');
const subdir = join(dir, 'kube-dir');
mkdirSync(subdir);

describe('resolveKubeconfig: which file, which context', () => {
  const cases: Array<{ name: string; kubeconfig?: string; context?: string; env?: Record<string, string>; home?: string; expect: { context: string; server: string; namespace: string } }> = [
    { name: '--kubeconfig, current-context', kubeconfig: a, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: '--kubeconfig + --context', kubeconfig: a, context: 'dev', expect: { context: 'dev', server: 'https://dev:6443', namespace: 'default' } },
    { name: '--kubeconfig beats KUBECONFIG', kubeconfig: a, env: { KUBECONFIG: b }, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: 'KUBECONFIG list: first current-context and first definition win', env: { KUBECONFIG: [a, b].join(delimiter) }, expect: { context: 'prod', server: 'https://prod:6443', namespace: 'financial-ml' } },
    { name: 'KUBECONFIG list: contexts from later files are usable', env: { KUBECONFIG: [a, b].join(delimiter) }, context: 'lab', expect: { context: 'lab', server: 'http://127.0.0.1:1', namespace: 'default' } },
    { name: 'KUBECONFIG skips missing entries', env: { KUBECONFIG: [join(dir, 'missing.yaml'), b].join(delimiter) }, expect: { context: 'lab', server: 'http://127.0.0.1:1', namespace: 'default' } },
    { name: '~/.kube/config', home, expect: { context: 'homectx', server: 'https://home:6443', namespace: 'default' } },
    { name: 'KUBECONFIG list: an empty file is skipped', env: { KUBECONFIG: [empty, b].join(delimiter) }, expect: { context: 'lab', server: 'http://127.0.0.1:1', namespace: 'default' } },
  ];
  it.each(cases)('$name', (c) => {
    const resolved = resolveKubeconfig({ kubeconfig: c.kubeconfig, context: c.context, env: c.env ?? {}, home: c.home ?? emptyHome });
    expect({ context: resolved.context, server: resolved.server, namespace: resolved.namespace }).toEqual(c.expect);
  });
});

describe('resolveKubeconfig: bad input is a usage error that says what exists', () => {
  const cases: Array<{ name: string; kubeconfig?: string; context?: string; env?: Record<string, string>; message: RegExp; hint?: RegExp }> = [
    { name: 'unknown --context lists the available ones', kubeconfig: a, context: 'staging', message: /^--context staging: kubeconfig .*a\.yaml defines no context of that name$/, hint: /^available contexts: dev, prod; pass --context NAME$/ },
    { name: 'current-context naming no context', kubeconfig: danglingCurrent, message: /^current-context "gone": kubeconfig .*dangling\.yaml defines no context of that name$/, hint: /available contexts: one; .*kubectl config use-context NAME/ },
    { name: 'no current-context', kubeconfig: noCurrent, message: /^kubeconfig .*no-current\.yaml sets no current-context$/, hint: /^pass --context NAME \(available: one, two\)/ },
    { name: 'missing --kubeconfig file', kubeconfig: join(dir, 'nope.yaml'), message: /nope\.yaml does not exist$/, hint: /--kubeconfig or KUBECONFIG/ },
    { name: 'empty file', kubeconfig: empty, message: /^kubeconfig .*empty\.yaml is empty$/, hint: /--kubeconfig or KUBECONFIG/ },
    { name: 'blank file', kubeconfig: blank, message: /^kubeconfig .*blank\.yaml is empty$/ },
    { name: 'KUBECONFIG list of empty files', env: { KUBECONFIG: [empty, blank].join(delimiter) }, message: /^kubeconfig .*empty\.yaml.*blank\.yaml are empty$/ },
    { name: 'no contexts', kubeconfig: noContexts, message: /^kubeconfig .*no-contexts\.yaml defines no contexts$/, hint: /kubectl config set-context/ },
    { name: 'not YAML: file:line:column', kubeconfig: notYaml, message: /^kubeconfig .*not-yaml\.yaml:3:1: not valid YAML: unexpected end of the stream within a flow collection$/ },
    { name: 'YAML but not a kubeconfig', kubeconfig: notKubeconfig, message: /^kubeconfig .*not-kubeconfig\.yaml is not a valid kubeconfig: contexts\[0\]\.context is missing$/ },
    { name: 'a directory', kubeconfig: subdir, message: /^kubeconfig .*kube-dir is a directory; name the file in it \(e\.g\. .*kube-dir\/config\)$/ },
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
    expect((error as UsageError).message).not.toContain('\n');
    if (c.hint) expect((error as UsageError).hint).toMatch(c.hint);
  });
});

describe('resolveKubeconfig: in a pod', () => {
  // A Role-only in-cluster Job must read the inventory of its ServiceAccount's namespace, not "default".
  it('the namespace is the ServiceAccount\'s (serviceaccount/namespace), the server the Service env', () => {
    const account = join(dir, 'serviceaccount');
    mkdirSync(account, { recursive: true });
    writeFileSync(join(account, 'token'), 'tok');
    writeFileSync(join(account, 'ca.crt'), '');
    writeFileSync(join(account, 'namespace'), 'netcheck\n');
    const resolved = resolveKubeconfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, home: emptyHome, serviceAccountDir: account });
    expect({ context: resolved.context, server: resolved.server, namespace: resolved.namespace, source: resolved.source }).toEqual({
      context: 'in-cluster',
      server: 'https://10.96.0.1:443',
      namespace: 'netcheck',
      source: 'in-cluster service account',
    });
  });
});
