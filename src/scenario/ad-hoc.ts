/**
 * `netcheck probe --from NS[/WORKLOAD] --to TARGET:PORT`: one check without a scenario file, as a one-cell
 * Scenario that runs through the same path as `netcheck run` (same reports, verdicts and exit codes). Pure.
 *
 * --from: `runner` (this machine) · `NS` (a probe pod with no labels of its own in NS) · `NS/NAME` (a pod carrying
 *   the labels of Deployment NAME) · `NS/KIND/NAME` (KIND one of CLONABLE_KINDS).
 * --to:   `SERVICE.NS:PORT` · `SERVICE.NS.svc[.cluster.local]:PORT` · `NS/SERVICE:PORT` (a Service, by name, as apps
 *   reach it; PORT a number or the Service port's name) · `IP:PORT` / `[IPv6]:PORT` / `HOST:PORT` (an address:
 *   a LoadBalancer, something outside the cluster; a host name with three or more labels that does not end in
 *   `.svc` or `.svc.cluster.local`) · `dns:NAME` (a DNS lookup only).
 */
import { UsageError } from '../model/errors.js';
import type { Protocol } from '../policy/types.js';
import { CLONABLE_KINDS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './parse.js';
import { intentOf, type ExpectedCell, type Scenario, type Source, type Target } from './types.js';
import { checkAddress, checkDnsLabel, checkDnsSubdomain, checkPortName, checkPortNumber } from './values.js';

export interface AdHocProbe {
  from: string;
  to: string;
  /** `--expect`, default allow. */
  expect?: string;
  /** `--http PATH`: an HTTP GET of PATH instead of a TCP connect (any status counts as connected). */
  http?: string;
  /** `--protocol TCP|UDP` (a dns: target: the transport of the query). */
  protocol?: string;
}

const FROM_EXAMPLES = 'e.g. --from financial-ml, --from financial-ml/financial-predictor, --from financial-ml/statefulset/NAME, --from runner';
const TO_EXAMPLES = 'e.g. --to seldon-scheduler.seldon-system:9005, --to seldon-system/seldon-scheduler:9005, --to 192.168.1.208:5000, --to dns:kube-dns.kube-system.svc.cluster.local';

/** Where an ad-hoc cell "is" in error messages and reports: the command line. */
const AT = { file: 'netcheck probe' };

function bad(flag: string, value: string, why: string, examples: string): UsageError {
  return new UsageError(`--${flag} ${value}: ${why}`, { hint: examples });
}

export function parseAdHocSource(from: string): Source {
  const text = from.trim();
  if (text === 'runner') return { kind: 'runner', name: 'runner', location: AT };
  const parts = text.split('/');
  const [namespace = '', ...rest] = parts;
  const nsProblem = checkDnsLabel(namespace);
  if (namespace === '' || nsProblem !== undefined) throw bad('from', from, `not a namespace${nsProblem ? ` (${nsProblem})` : ''}`, FROM_EXAMPLES);
  if (rest.length === 0) return { kind: 'pod', name: text, namespace, labels: {}, location: AT };
  const [kind, name] = rest.length === 1 ? ['deployment', rest[0] ?? ''] : [String(rest[0]).toLowerCase(), rest[1] ?? ''];
  if (rest.length > 2) throw bad('from', from, 'too many parts: NS, NS/NAME or NS/KIND/NAME', FROM_EXAMPLES);
  if (!CLONABLE_KINDS.includes(kind)) throw bad('from', from, `\`${kind}\` is not a workload kind (${CLONABLE_KINDS.join(', ')})`, FROM_EXAMPLES);
  const nameProblem = checkDnsSubdomain(name);
  if (nameProblem !== undefined) throw bad('from', from, `bad workload name: ${nameProblem}`, FROM_EXAMPLES);
  return { kind: 'pod', name: text, namespace, labels: {}, as: { kind, name }, location: AT };
}

/** `host:port` → [host, port]; `[v6]:port` too. Undefined without a port. */
function splitPort(text: string): [string, string] | undefined {
  const v6 = /^\[([^\]]+)\]:([^:]+)$/.exec(text);
  if (v6) return [v6[1] ?? '', v6[2] ?? ''];
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || text.indexOf(':') !== colon) return undefined;
  return [text.slice(0, colon), text.slice(colon + 1)];
}

function parsePort(to: string, port: string, allowName: boolean): number | string {
  if (/^\d+$/.test(port)) {
    const n = Number(port);
    const problem = checkPortNumber(n);
    if (problem) throw bad('to', to, problem, TO_EXAMPLES);
    return n;
  }
  if (!allowName) throw bad('to', to, `\`${port}\` is not a port number (a named port needs a Service target)`, TO_EXAMPLES);
  const problem = checkPortName(port);
  if (problem) throw bad('to', to, problem, TO_EXAMPLES);
  return port;
}

function parseProtocol(value: string | undefined, allowed: readonly Protocol[], fallback: Protocol): Protocol {
  if (value === undefined) return fallback;
  const upper = value.trim().toUpperCase();
  if (!(allowed as readonly string[]).includes(upper)) {
    throw new UsageError(`--protocol ${value}: not one of ${allowed.join(', ')}`, { hint: `e.g. --protocol ${allowed[allowed.length - 1]}` });
  }
  return upper as Protocol;
}

export function parseAdHocTarget(to: string, options: Pick<AdHocProbe, 'http' | 'protocol'> = {}): Target {
  const text = to.trim();
  const http = options.http === undefined ? undefined : parseHttpPath(options.http);
  if (text.startsWith('dns:')) {
    const host = text.slice(4).replace(/\.$/, '').toLowerCase();
    const problem = checkDnsSubdomain(host);
    if (host === '' || problem !== undefined) throw bad('to', to, `not a DNS name${problem ? ` (${problem})` : ''}`, TO_EXAMPLES);
    if (http) throw new UsageError('--http: a dns: target is a lookup, not a connection', { hint: TO_EXAMPLES });
    return { kind: 'dns', name: text, host, protocol: parseProtocol(options.protocol, ['UDP', 'TCP'], 'UDP') as 'UDP' | 'TCP', location: AT };
  }
  const split = splitPort(text);
  if (!split) throw bad('to', to, 'needs a port: TARGET:PORT (or dns:NAME for a lookup)', TO_EXAMPLES);
  const [host, portText] = split;
  const protocol = parseProtocol(options.protocol, ['TCP', 'UDP', 'SCTP'], 'TCP');
  if (http && protocol !== 'TCP') throw new UsageError(`--http with --protocol ${protocol}: HTTP runs over TCP`, { hint: 'drop --protocol, or --http' });
  const withHttp = http ? { http } : {};

  // NS/SERVICE
  const slash = host.split('/');
  if (slash.length === 2) {
    const [namespace = '', service = ''] = slash;
    const problem = checkDnsLabel(namespace) ?? checkDnsLabel(service);
    if (problem) throw bad('to', to, `NS/SERVICE: ${problem}`, TO_EXAMPLES);
    return { kind: 'service', name: text, service, namespace, port: parsePort(to, portText, true), protocol, ...withHttp, location: AT };
  }
  if (slash.length > 2) throw bad('to', to, 'too many "/": NS/SERVICE:PORT', TO_EXAMPLES);

  // An address: an IP, or a host name outside the cluster.
  const lower = host.toLowerCase();
  const labels = lower.replace(/\.$/, '').split('.');
  const inCluster = labels.length === 2 || (labels.length === 3 && labels[2] === 'svc') || (labels.length === 5 && lower.replace(/\.$/, '').endsWith('.svc.cluster.local'));
  const isIp = checkAddress(host) === undefined && (/^[\d.]+$/.test(host) || host.includes(':'));
  if (isIp || !inCluster) {
    const problem = checkAddress(host);
    if (problem) throw bad('to', to, problem, TO_EXAMPLES);
    if (labels.length < 2 && !isIp) throw bad('to', to, `\`${host}\` is neither SERVICE.NAMESPACE, NS/SERVICE, an IP address nor a host name with a domain`, TO_EXAMPLES);
    return { kind: 'address', name: text, address: host, port: parsePort(to, portText, false) as number, protocol, ...withHttp, location: AT };
  }
  // SERVICE.NS[.svc[.cluster.local]]
  const [service = '', namespace = ''] = labels;
  const problem = checkDnsLabel(service) ?? checkDnsLabel(namespace);
  if (problem) throw bad('to', to, `SERVICE.NAMESPACE: ${problem}`, TO_EXAMPLES);
  return { kind: 'service', name: text, service, namespace, port: parsePort(to, portText, true), protocol, ...withHttp, location: AT };
}

function parseHttpPath(path: string): { path: string } {
  if (!path.startsWith('/') || /\s/.test(path)) throw new UsageError(`--http ${path}: a path starting with /`, { hint: 'e.g. --http /health' });
  return { path };
}

const EXPECTATIONS = ['allow', 'deny', 'connected', 'refused', 'blocked', 'nxdomain'] as const;

/** `--expect`: allow/deny, or an outcome level as the scenario's matrix takes it (OutcomeExpectation). */
function parseExpect(value: string | undefined, target: Target): Pick<ExpectedCell, 'expect' | 'outcome'> {
  if (value === undefined) return { expect: 'allow' };
  const v = value.trim().toLowerCase();
  const known = EXPECTATIONS.find((e) => e === v);
  if (known === undefined) {
    throw new UsageError(`--expect ${value}: one of ${EXPECTATIONS.join(', ')}`, { hint: 'e.g. --expect deny (the flow must be blocked), --expect refused (rejected, not dropped)' });
  }
  if (known === 'allow' || known === 'deny') return { expect: known };
  if (known === 'nxdomain' && target.kind !== 'dns' && target.kind !== 'service') {
    throw new UsageError(`--expect nxdomain: the target is an address, not looked up by name`, { hint: 'give a name: --to dns:NAME or SERVICE.NAMESPACE:PORT' });
  }
  return { expect: intentOf(known), outcome: known };
}

/** The one-cell scenario `netcheck probe` runs: source `from` (as given) × target `to` (as given). */
export function buildAdHocScenario(input: AdHocProbe): Scenario {
  const source = parseAdHocSource(input.from);
  const target = parseAdHocTarget(input.to, input);
  const expectation = parseExpect(input.expect, target);
  return {
    name: 'probe',
    description: `netcheck probe --from ${input.from} --to ${input.to}`,
    file: AT.file,
    manifests: [],
    defaults: { timeoutMs: DEFAULT_TIMEOUT_MS, retries: DEFAULT_RETRIES },
    sources: [source],
    targets: [target],
    cells: [{ source: source.name, target: target.name, ...expectation, location: AT }],
  };
}
