/**
 * Bad input through the built CLI (dist/, as users run it): every mistake is one line naming the flag, file or
 * resource and what to do, exit 2, no stack trace. KUBECONFIG points nowhere, so a case that reached the cluster
 * would fail differently: that is how the tests know output paths are checked before anything is probed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');
const M = 'scenarios/financial-ml/manifests';
const tmp = mkdtempSync(join(tmpdir(), 'netcheck-bad-input-'));
const emptyDir = join(tmp, 'empty');
mkdirSync(emptyDir);
const emptyKubeconfig = join(tmp, 'empty-kubeconfig');
writeFileSync(emptyKubeconfig, '');
const contextlessKubeconfig = join(tmp, 'contextless-kubeconfig');
writeFileSync(contextlessKubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
const helmValues = join(tmp, 'values.yaml');
writeFileSync(helmValues, 'replicaCount: 2\nimage: { repository: web }\n');
const emptyManifest = join(tmp, 'empty-manifest.yaml');
writeFileSync(emptyManifest, '---\n');
const scenarioFile = 'scenarios/financial-ml/scenario.yaml';
const badYaml = join(tmp, 'bad.yaml');
writeFileSync(badYaml, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: [\n');
const scenario = (name: string, body: string): string => {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `apiVersion: netcheck.io/v1alpha1\nkind: Scenario\nmetadata: { name: t }\n${body}`);
  return file;
};
const sourcesAndTargets = 'sources:\n  a: { namespace: x, labels: { app: a } }\ntargets:\n  web: { service: web, namespace: x, port: 80 }\n';
const typoKey = scenario('typo-key', 'sources:\n  a: { namespace: x, labels: { app: a } }\ntargets:\n  web: { service: web, namespace: x, prot: 80 }\nmatrix:\n  a: { allow: [web] }\n');
const typoTarget = scenario('typo-target', `${sourcesAndTargets}matrix:\n  a: { allow: [webb] }\n`);
const badDuration = scenario('bad-duration', `${sourcesAndTargets}defaults: { timeout: 0s }\nmatrix:\n  a: { allow: [web] }\n`);
const badManifests = scenario('bad-manifests', `${sourcesAndTargets}manifests: [./nowhere]\nmatrix:\n  a: { allow: [web] }\n`);
const badKnown = scenario('bad-known', `${sourcesAndTargets}matrix:\n  a: { allow: [web] }\nknown: [{ from: a, to: nope, reason: x }]\n`);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function netcheck(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KUBECONFIG: join(tmp, 'no-kubeconfig') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cases: Array<{ args: string[]; stderr: RegExp }> = [
  // missing required flags and positionals
  { args: ['analyze'], stderr: /^netcheck: analyze needs --manifests PATH, or --kubeconfig\/--context to read the live cluster$/m },
  { args: ['explain', '--from', 'a/b', '--to', 'c/d', '--port', '80'], stderr: /^netcheck: explain needs --manifests PATH, or --kubeconfig\/--context to read the live cluster$/m },
  { args: ['analyze', '--manifests', M, '--kubeconfig', '/nonexistent'], stderr: /^netcheck: --manifests and --kubeconfig: give one: --manifests to read files, or --kubeconfig to read the live cluster$/m },
  { args: ['explain', '-f', M, '--context', 'x', '--from', 'a/b', '--to', 'c/d', '--port', '80'], stderr: /^netcheck: --manifests and --context: give one: --manifests to read files, or --context to read the live cluster$/m },
  { args: ['lint'], stderr: /^netcheck: lint needs --manifests PATH$/m },
  { args: ['explain', '--manifests', M], stderr: /^netcheck: explain needs --from NAMESPACE\/POD, --to NAMESPACE\/POD\|IP and --port NUMBER\|NAME$/m },
  { args: ['explain', '--manifests', M, '--from', 'a/b', '--to', 'c/d'], stderr: /^netcheck: explain needs --port NUMBER\|NAME$/m },
  { args: ['validate'], stderr: /^netcheck: validate needs a scenario: a file, a directory holding scenario\.yaml, or a built-in name/m },
  { args: ['run'], stderr: /^netcheck: run needs a scenario/m },
  { args: [], stderr: /^netcheck: name a command, or a built-in scenario/m },
  // unknown flags and typos: reported before "missing", with a suggestion
  { args: ['analyze', '--manifest', M], stderr: /^netcheck: --manifest: unknown flag for analyze; did you mean --manifests\?$/m },
  { args: ['lint', '--manifest', M], stderr: /^netcheck: --manifest: unknown flag for lint; did you mean --manifests\?$/m },
  { args: ['analyze', '--manifests', M, '--ports', '80'], stderr: /^netcheck: --ports: unknown flag for analyze; did you mean --port\?$/m },
  { args: ['explain', '--manifests', M, '--from', 'a/b', '--to', 'c/d', '--ports', '80'], stderr: /^netcheck: --ports: unknown flag for explain; did you mean --port\?$/m },
  { args: ['explain', '--manifests', M, '--from', 'a/b', '--to', 'c/d', '--port', '80', '-o', 'json'], stderr: /^netcheck: -o: unknown flag for explain$/m },
  { args: ['lint', '--manifests', M, '--port', '80'], stderr: /^netcheck: --port: unknown flag for lint$/m },
  { args: ['validate', 'financial-ml', '--bogus'], stderr: /^netcheck: --bogus: unknown flag for validate$/m },
  { args: ['run', 'financial-ml', '--ports', '3'], stderr: /^netcheck: --ports: unknown flag for run$/m },
  { args: ['run', 'financial-ml', '--budjet', '3s'], stderr: /^netcheck: --budjet: unknown flag for run; did you mean --budget\?$/m },
  { args: ['cleanup', '--all-namespace'], stderr: /^netcheck: --all-namespace: unknown flag for cleanup; did you mean --all-namespaces\?$/m },
  { args: ['financial-ml', '--bogus'], stderr: /^netcheck: --bogus: unknown flag for netcheck$/m },
  { args: ['finacial-ml'], stderr: /^netcheck: unknown command or built-in scenario "finacial-ml"; did you mean `netcheck financial-ml`\?$/m },
  { args: ['lnit', '--manifests', M], stderr: /^netcheck: unknown command or built-in scenario "lnit"; did you mean `netcheck lint`\?$/m },
  { args: ['financial-ml', 'extra'], stderr: /^netcheck: unexpected argument after financial-ml: extra$/m },
  { args: ['validate', 'financial-ml', 'extra'], stderr: /^netcheck: validate: unexpected argument extra$/m },
  // bad values
  { args: ['analyze', '--manifests', M, '--port', '0'], stderr: /^netcheck: --port 0: port numbers run from 1 to 65535$/m },
  { args: ['analyze', '--manifests', M, '--port', '70000'], stderr: /^netcheck: --port 70000: port numbers run from 1 to 65535$/m },
  { args: ['analyze', '--manifests', M, '--port', 'http-x'], stderr: /^netcheck: --port http-x: no pod in the manifests declares a port of that name; did you mean http\?$/m },
  { args: ['analyze', '--manifests', M, '--port'], stderr: /^netcheck: --port: needs a value$/m },
  { args: ['analyze', '--manifests', M, '--protocol', 'ICMP'], stderr: /^netcheck: --protocol ICMP: use TCP, UDP or SCTP$/m },
  { args: ['analyze', '--manifests', M, '-o', 'xml'], stderr: /^netcheck: -o xml: unknown output format; use table, json or ndjson$/m },
  { args: ['analyze', '--manifests', M, '-o'], stderr: /^netcheck: -o: needs a value$/m },
  { args: ['explain', '--manifests', M, '--from', 'financial-ml/financial-predictor', '--to', 'mlflow/mlflow', '--port', '0'], stderr: /^netcheck: --port 0: port numbers run from 1 to 65535$/m },
  { args: ['explain', '--manifests', M, '--from', 'financial-predictor', '--to', 'mlflow/mlflow', '--port', '80'], stderr: /^netcheck: --from financial-predictor: no such pod or workload in the manifests \(give NAMESPACE\/POD, NAMESPACE\/WORKLOAD or an IP address\); did you mean financial-ml\/financial-predictor/m },
  { args: ['explain', '--manifests', M, '--from', 'financial-mlops-pytorch/training-controller', '--to', 'financial-ml/financial-predictor', '--port', 'htp'], stderr: /^netcheck: no port htp on financial-ml\/financial-predictor \(its pods declare: http 8080\/TCP\); did you mean http$/m },
  { args: ['explain', '--manifests', M, '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', 'htp'], stderr: /^netcheck: no port htp on service financial-ml\/seldon-mesh \(it declares: http 80\/TCP\); did you mean http$/m },
  { args: ['lint', '--manifests', M, '-o', 'junit'], stderr: /^netcheck: -o junit: name the file, e\.g\. -o junit=lint\.xml$/m },
  { args: ['lint', '--manifests', M, '-o', 'xml'], stderr: /^netcheck: -o xml: unknown format "xml"\n  hint: formats: table, json, junit, sarif$/m },
  { args: ['run', 'financial-ml', '-o', 'xml'], stderr: /^netcheck: -o xml: unknown format "xml"$/m },
  { args: ['run', 'financial-ml', '-o', 'junit'], stderr: /^netcheck: -o junit: name the file, e.g. -o junit=netcheck\.xml$/m },
  { args: ['run', 'financial-ml', '-o', 'table', '-o', 'json'], stderr: /^netcheck: -o table and -o json would both print to stdout; send one to a file \(-o json=FILE\)$/m },
  { args: ['run', 'financial-ml', '-o', 'json=/nonexistent/dir/x.json'], stderr: /^netcheck: -o json=\/nonexistent\/dir\/x\.json: directory \/nonexistent\/dir does not exist$/m },
  { args: ['financial-ml', '-o', 'json=/nonexistent/dir/x.json'], stderr: /^netcheck: -o json=\/nonexistent\/dir\/x\.json: directory \/nonexistent\/dir does not exist$/m },
  { args: ['run', 'financial-ml', '-o', `json=${tmp}`], stderr: /is a directory; name a file in it$/m },
  { args: ['run', 'financial-ml', '--timeout', '0s'], stderr: /^netcheck: --timeout 0s: not a positive duration$/m },
  { args: ['run', 'financial-ml', '--budget', '-1s'], stderr: /^netcheck: --budget -1s: not a positive duration$/m },
  { args: ['run', 'financial-ml', '--budget', '1h30'], stderr: /^netcheck: --budget 1h30: not a positive duration\n  hint: e\.g\. 500ms, 2s, 1m30s, 1h$/m },
  { args: ['watch', 'financial-ml', '--every', '5'], stderr: /^netcheck: --every 5: not a positive duration$/m },
  { args: ['watch', 'financial-ml', '--listen', '9464'], stderr: /^netcheck: --listen 9464: not HOST:PORT\n  hint: e\.g\. --listen :9464 \(every address\) or --listen 127\.0\.0\.1:9464$/m },
  { args: ['watch', 'financial-ml', '--budget', '0s'], stderr: /^netcheck: --budget 0s: not a positive duration$/m },
  { args: ['watch', 'financial-ml', '--in-pod'], stderr: /^netcheck: --in-pod: not with watch \(every run would add an ephemeral container to the workload's pod, and the API cannot remove one\)\n  hint: .*netcheck probe --in-pod/m },
  { args: ['run', 'financial-ml', '--retries', '-1'], stderr: /^netcheck: --retries -1: must be a whole number ≥ 0\n  hint: e\.g\. --retries 2$/m },
  { args: ['run', 'financial-ml', '--retries', 'x'], stderr: /^netcheck: --retries x: must be a whole number ≥ 0\n  hint: e\.g\. --retries 2$/m },
  { args: ['financial-ml', '--retries=-1'], stderr: /^netcheck: --retries -1: must be a whole number ≥ 0\n  hint: e\.g\. --retries 2$/m },
  // a switch given a value: yargs alone would read anything but `true` as false
  { args: ['run', 'financial-ml', '--per-node=maybe'], stderr: /^netcheck: --per-node=maybe: --per-node is a switch; give it alone, or =true or =false$/m },
  { args: ['financial-ml', '--per-node=TRUE'], stderr: /^netcheck: --per-node=TRUE: --per-node is a switch; give it alone, or =true or =false$/m },
  { args: ['run', 'financial-ml', '--progress=no'], stderr: /^netcheck: --progress=no: --progress is a switch; give it alone, or =true or =false$/m },
  { args: ['cleanup', '-A=yes'], stderr: /^netcheck: -A=yes: -A is a switch; give it alone, or =true or =false$/m },
  { args: ['cleanup', '--all-namespaces=1'], stderr: /^netcheck: --all-namespaces=1: --all-namespaces is a switch; give it alone, or =true or =false$/m },
  // paths and files
  { args: ['analyze', '--manifests', '/nonexistent'], stderr: /^netcheck: cannot read \/nonexistent: no such file or directory$/m },
  { args: ['lint', '--manifests', emptyDir], stderr: /^netcheck: --manifests .*empty: no \.yaml, \.yml or \.json files found$/m },
  { args: ['analyze', '--manifests', scenarioFile], stderr: /^netcheck: scenarios\/financial-ml\/scenario\.yaml is a netcheck Scenario, not Kubernetes manifests; its manifests are scenarios\/financial-ml\/manifests\n  hint: give --manifests scenarios\/financial-ml\/manifests$/m },
  { args: ['lint', '-f', scenarioFile], stderr: /^netcheck: scenarios\/financial-ml\/scenario\.yaml is a netcheck Scenario, not Kubernetes manifests; its manifests are scenarios\/financial-ml\/manifests$/m },
  { args: ['explain', '--manifests', scenarioFile, '--from', 'a/b', '--to', 'c/d', '--port', '80'], stderr: /^netcheck: scenarios\/financial-ml\/scenario\.yaml is a netcheck Scenario, not Kubernetes manifests; its manifests are scenarios\/financial-ml\/manifests$/m },
  { args: ['analyze', '--manifests', typoTarget], stderr: /typo-target\.yaml is a netcheck Scenario, not Kubernetes manifests\n  hint: `netcheck validate .*typo-target\.yaml` says what is wrong with it$/m },
  { args: ['analyze', '--manifests', helmValues], stderr: /^netcheck: --manifests .*values\.yaml: the file holds no Kubernetes objects \(no document with apiVersion and kind\)$/m },
  { args: ['lint', '--manifests', emptyManifest, helmValues], stderr: /^netcheck: --manifests .*empty-manifest\.yaml .*values\.yaml: its 2 files hold no Kubernetes objects/m },
  { args: ['analyze', '--manifests', badYaml], stderr: /^netcheck: .*bad\.yaml:4:9: invalid YAML: /m },
  { args: ['validate', badYaml], stderr: /^netcheck: .*bad\.yaml:4:9: YAML syntax error: /m },
  { args: ['validate', 'nope'], stderr: /^netcheck: nope: no such file, and no built-in scenario of that name$/m },
  { args: ['validate', emptyDir], stderr: /^netcheck: .*empty: directory holds no scenario\.yaml$/m },
  { args: ['run', 'nope'], stderr: /^netcheck: nope: no such file, and no built-in scenario of that name$/m },
  // kubeconfigs that lead nowhere
  { args: ['cleanup', '--kubeconfig', emptyKubeconfig], stderr: /^netcheck: kubeconfig .*empty-kubeconfig is empty$/m },
  { args: ['cleanup', '--kubeconfig', contextlessKubeconfig], stderr: /^netcheck: kubeconfig .*contextless-kubeconfig defines no contexts$/m },
  { args: ['cleanup', '--kubeconfig', tmp], stderr: /^netcheck: kubeconfig .* is a directory; name the file in it/m },
  { args: ['cleanup', '--kubeconfig', badYaml], stderr: /^netcheck: kubeconfig .*bad\.yaml:5:7: not valid YAML: bad indentation of a mapping entry$/m },
  // scenario mistakes, each at file:line:column
  { args: ['validate', typoKey], stderr: /typo-key\.yaml:7:38: unknown key `prot` in target `web`; did you mean `port`\?$/m },
  { args: ['validate', typoTarget], stderr: /typo-target\.yaml:9:\d+: matrix\.a\.allow: unknown target `webb`; did you mean `web`\?$/m },
  { args: ['validate', badDuration], stderr: /bad-duration\.yaml:8:\d+: `defaults\.timeout`: bad duration `0s`/m },
  { args: ['validate', badManifests], stderr: /^netcheck: .*bad-manifests\.yaml: manifests: cannot read .*nowhere: no such file or directory$/m },
  { args: ['validate', badKnown], stderr: /bad-known\.yaml:10:\d+: known: unknown target `nope`$/m },
];

// Values that must get past the flag checks: each run stops at the report directory, which is checked after them.
const missingDir = '-o=json=/nonexistent/dir/x.json';
const accepted: Array<{ args: string[] }> = [
  { args: ['run', 'financial-ml', '--budget', '1h', missingDir] },
  { args: ['run', 'financial-ml', '--budget', '1m30s', '--timeout', '2.5s', missingDir] },
  { args: ['run', 'financial-ml', '--budget', '1h2m3s', '--settle', '500ms', missingDir] },
  { args: ['financial-ml', '--per-node=true', '--progress=false', '--retries', '0', missingDir] },
  { args: ['run', 'financial-ml', '--per-node=false', '--no-progress', missingDir] },
];

describe('good values pass the flag checks', () => {
  it.each(accepted)('netcheck $args', ({ args }) => {
    const r = netcheck(args);
    expect(r.stderr).toMatch(/^netcheck: -o json=\/nonexistent\/dir\/x\.json: directory \/nonexistent\/dir does not exist$/m);
    expect(r.code).toBe(2);
  });
});

describe('a directory holding a scenario beside its manifests', () => {
  it('is analyzed, the scenario skipped like any other kind', () => {
    const r = netcheck(['analyze', '--manifests', 'scenarios/financial-ml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/7 pods, \d+ cells/);
    expect(r.stdout).toMatch(/skipped kinds: Scenario ×1/);
  });
});

describe('bad input: one line, exit 2, no stack trace', () => {
  it.each(cases)('netcheck $args', ({ args, stderr }) => {
    const r = netcheck(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(stderr);
    // One message line, optionally one hint line.
    expect(r.stderr.trimEnd().split('\n').filter((line) => !line.startsWith('  hint: '))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
