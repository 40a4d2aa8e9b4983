/**
 * Scenario YAML → Scenario, pure. Every error is a ScenarioError naming file:line:column and the offending
 * key or value, with a "did you mean" for typos. The format (apiVersion netcheck.io/v1alpha1):
 *
 *   metadata: { name, description }      manifests: [dir|file...]       defaults: { timeout: 2s, retries: 1 }
 *   sources:  <name>: { namespace, labels?, as?: kind/name, node? } | { runner: true, address? }
 *   targets:  <name>: { dns, protocol? } | { service, namespace, port, protocol?, http?, via?: clusterIP }
 *                   | { namespace, labels?, port: N | {name, number}, protocol?, node? }  (a listener netcheck deploys)
 *                   | { address, port, protocol?, http? }
 *   matrix:   <source>: { allow|deny|connected|refused|blocked|nxdomain: [target...] }
 *   known:    - { from: <source>, to: <target>, reason }        (explained, expected failures)
 */
import path from 'node:path';
import { isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ScenarioError, type SourceLocation } from '../model/errors.js';
import type { Labels, Protocol } from '../policy/types.js';
import { findNearestName, formatSuggestion } from './nearest-name.js';
import { intentOf, type ExpectedCell, type Expectation, type HttpCheck, type OutcomeExpectation, type Scenario, type ScenarioDefaults, type Source, type Target } from './types.js';
import {
  checkAddress,
  checkDnsLabel,
  checkDnsSubdomain,
  checkIp,
  checkLabelKey,
  checkLabelValue,
  checkPortName,
  checkPortNumber,
  parseDurationMs,
} from './values.js';
import {
  checkKeys,
  failIf,
  findField,
  locate,
  locateOffset,
  readMap,
  readString,
  readWordAt,
  rejectKeys,
  requireField,
  resolve,
  type Field,
  type Reader,
} from './yaml-reader.js';

export const SCENARIO_API_VERSION = 'netcheck.io/v1alpha1';
export const SCENARIO_KIND = 'Scenario';
export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_RETRIES = 1;
const MAX_RETRIES = 10;

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'manifests', 'defaults', 'sources', 'targets', 'matrix', 'known'];
const METADATA_KEYS = ['name', 'description'];
const DEFAULTS_KEYS = ['timeout', 'retries'];
const SOURCE_KEYS = ['namespace', 'labels', 'as', 'node', 'runner', 'address'];
const TARGET_KEYS = ['dns', 'service', 'address', 'namespace', 'labels', 'port', 'protocol', 'http', 'node', 'via'];
const HTTP_KEYS = ['path', 'expectStatus'];
const LISTENER_PORT_KEYS = ['name', 'number'];
/** allow/deny, and the outcome-level expectations (OutcomeExpectation) that map to them. */
const OUTCOME_KEYS: readonly OutcomeExpectation[] = ['connected', 'refused', 'blocked', 'nxdomain'];
const MATRIX_KEYS = ['allow', 'deny', ...OUTCOME_KEYS];
const VIA_VALUES = ['clusterIP'];
const KNOWN_KEYS = ['from', 'to', 'reason'];
/** Workload kinds a source may clone labels from (`as: deployment/name`): those src/cluster can read. */
export const CLONABLE_KINDS = ['deployment', 'statefulset', 'daemonset', 'replicaset', 'job', 'pod'];

export interface ParseScenarioOptions {
  /** Directory that relative `manifests` paths resolve against; defaults to the scenario file's directory. */
  baseDir?: string;
}

/**
 * Every error of one scenario file, in file order: the CLI shows them all at once, so a user fixes a file in one
 * round instead of one error per run. The message is a count line, then one `file:line:column: message` per error.
 */
export class ScenarioErrorList extends ScenarioError {
  readonly errors: readonly ScenarioError[];
  constructor(file: string, errors: readonly ScenarioError[]) {
    super({ file }, `${errors.length} errors:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
    this.errors = errors;
  }
}

/** The errors of one file, sorted by position, as one ScenarioError (or a list of them). */
export function raise(file: string, errors: readonly ScenarioError[]): never {
  const sorted = [...errors].sort(
    (a, b) => (a.location.line ?? 0) - (b.location.line ?? 0) || (a.location.column ?? 0) - (b.location.column ?? 0),
  );
  throw sorted.length === 1 ? (sorted[0] as ScenarioError) : new ScenarioErrorList(file, sorted);
}

/**
 * Runs one independent part of the file (a section, a source, a target, a matrix entry), recording its error and
 * going on with the next part. A part stops at its own first error: what follows inside it would mostly repeat it.
 */
function attempt<T>(errors: ScenarioError[], read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof ScenarioErrorList) errors.push(...error.errors);
    else if (error instanceof ScenarioError) errors.push(error);
    else throw error;
    return undefined;
  }
}

/** Records every unknown key of a mapping (not only the first); true when all are known. */
function checkEachKey(r: Reader, errors: ScenarioError[], fields: Field[], allowed: string[], where: string): boolean {
  let known = true;
  for (const f of fields) {
    const ok = attempt(errors, () => {
      checkKeys(r, [f], allowed, where);
      return true;
    });
    if (!ok) known = false;
  }
  return known;
}

export function parseScenario(text: string, file: string, options: ParseScenarioOptions = {}): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const r: Reader = { file, lines, doc };
  const errors: ScenarioError[] = [];
  let syntaxError = false;
  for (const error of doc.errors) {
    const at = locateOffset(r, error.pos[0]);
    switch (error.code) {
      case 'DUPLICATE_KEY':
        errors.push(new ScenarioError(at, `duplicate key \`${readWordAt(text, error.pos[0])}\` (names must be unique)`));
        break;
      case 'MULTIPLE_DOCS':
        errors.push(new ScenarioError(at, 'a scenario file holds one YAML document; remove the `---` separator'));
        break;
      default:
        // The parser's later syntax errors mostly follow from its first (an unclosed bracket, a bad indent).
        if (!syntaxError) errors.push(new ScenarioError(at, `YAML syntax error: ${error.message}`));
        syntaxError = true;
    }
  }
  // Past a syntax error the document's structure is a guess: what it would say about keys and values is noise.
  if (errors.length > 0) raise(file, errors);
  const root = resolve(r, doc.contents);
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    throw new ScenarioError({ file, line: 1, column: 1 }, `the file is empty; expected an ${SCENARIO_API_VERSION} ${SCENARIO_KIND}`);
  }
  const top = readMap(r, root, 'the scenario');
  const rootAt = locate(r, root);

  // Not a scenario at all (another kind of YAML, another version): its keys say nothing useful, so stop here.
  const apiVersion = findField(top, 'apiVersion');
  if (!apiVersion) throw new ScenarioError(rootAt, `missing \`apiVersion: ${SCENARIO_API_VERSION}\``);
  const version = readString(r, apiVersion, '`apiVersion`');
  if (version !== SCENARIO_API_VERSION) {
    throw new ScenarioError(locate(r, apiVersion.value), `unsupported apiVersion \`${version}\`; this netcheck reads ${SCENARIO_API_VERSION}`);
  }
  const kind = findField(top, 'kind');
  if (!kind) throw new ScenarioError(rootAt, `missing \`kind: ${SCENARIO_KIND}\``);
  const kindValue = readString(r, kind, '`kind`');
  if (kindValue !== SCENARIO_KIND) throw new ScenarioError(locate(r, kind.value), `unsupported kind \`${kindValue}\`; expected \`${SCENARIO_KIND}\``);

  checkEachKey(r, errors, top, TOP_KEYS, 'at the top level');
  // A section whose name is misspelled is reported once, as the unknown key with its "did you mean", not again as missing.
  const misspelled = new Set(top.map((f) => findNearestName(f.name, TOP_KEYS)).filter((n) => n !== undefined));
  const section = (name: string): Field | undefined => {
    const field = findField(top, name);
    if (!field && !misspelled.has(name)) {
      attempt(errors, () => requireField(top, name, rootAt));
    }
    return field;
  };

  const name = attempt(errors, () => {
    const metadata = requireField(top, 'metadata', rootAt);
    const meta = readMap(r, metadata.value, '`metadata`', metadata.key);
    if (!checkEachKey(r, errors, meta, METADATA_KEYS, 'in `metadata`')) return undefined;
    const nameField = requireField(meta, 'name', locate(r, metadata.key), '`metadata`');
    const value = readString(r, nameField, '`metadata.name`');
    failIf(r, nameField.value, checkDnsLabel(value), '`metadata.name`: ');
    const descriptionField = findField(meta, 'description');
    return { name: value, description: descriptionField ? readString(r, descriptionField, '`metadata.description`') : undefined };
  });

  const manifestsField = findField(top, 'manifests');
  const baseDir = options.baseDir ?? path.dirname(path.resolve(file));
  const manifests = (manifestsField ? (attempt(errors, () => readManifests(r, manifestsField)) ?? []) : []).map((m) => path.resolve(baseDir, m));

  const defaultsField = findField(top, 'defaults');
  const defaults = (defaultsField && attempt(errors, () => readDefaults(r, errors, defaultsField))) || { timeoutMs: DEFAULT_TIMEOUT_MS, retries: DEFAULT_RETRIES };

  // Entries that are declared but wrong are remembered, so the matrix and `known` do not report them again as unknown.
  const sourcesField = section('sources');
  const sources = sourcesField ? readEntries(r, errors, sourcesField, '`sources`', 'source', readSource) : undefined;
  const targetsField = section('targets');
  const targets = targetsField ? readEntries(r, errors, targetsField, '`targets`', 'target', readTarget) : undefined;

  const matrixField = section('matrix');
  const matrix = matrixField && sources && targets ? readMatrix(r, errors, matrixField, sources, targets) : undefined;

  const knownField = findField(top, 'known');
  if (knownField && sources && targets && matrix) readKnown(r, errors, knownField, sources, targets, matrix);

  if (errors.length > 0 || name === undefined || matrix === undefined || sources === undefined || targets === undefined) {
    raise(file, errors);
  }
  return {
    name: name.name,
    ...(name.description === undefined ? {} : { description: name.description }),
    file,
    manifests,
    defaults,
    sources: sources.valid,
    targets: targets.valid,
    cells: matrix.cells,
  };
}

/** A section's entries that read cleanly, and the names of those that did not. */
interface Entries<T> {
  valid: T[];
  invalid: Set<string>;
}

function readEntries<T>(
  r: Reader,
  errors: ScenarioError[],
  field: Field,
  what: string,
  noun: string,
  read: (r: Reader, errors: ScenarioError[], f: Field) => T | undefined,
): Entries<T> | undefined {
  const fields = attempt(errors, () => readMap(r, field.value, what, field.key));
  if (fields === undefined) return undefined;
  if (fields.length === 0) {
    errors.push(new ScenarioError(locate(r, field.key), `${what} is empty; name at least one ${noun}`));
    return undefined;
  }
  const entries: Entries<T> = { valid: [], invalid: new Set() };
  for (const f of fields) {
    const entry = attempt(errors, () => read(r, errors, f));
    if (entry === undefined) entries.invalid.add(f.name);
    else entries.valid.push(entry);
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// Sections

function readManifests(r: Reader, field: Field): string[] {
  const node = field.value;
  if (node !== null && isScalar(node) && typeof node.value === 'string') return [readString(r, field, '`manifests`')];
  if (node === null || !isSeq(node)) throw new ScenarioError(locate(r, node ?? field.key), '`manifests` must be a path or a list of paths');
  return node.items.map((item) => {
    const value = resolve(r, item as YamlNode);
    if (value === null || !isScalar(value) || typeof value.value !== 'string' || value.value === '') {
      throw new ScenarioError(locate(r, value ?? field.key), '`manifests` entries must be non-empty paths');
    }
    return value.value;
  });
}

function readDefaults(r: Reader, errors: ScenarioError[], field: Field): ScenarioDefaults | undefined {
  const fields = readMap(r, field.value, '`defaults`', field.key);
  if (!checkEachKey(r, errors, fields, DEFAULTS_KEYS, 'in `defaults`')) return undefined;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let retries = DEFAULT_RETRIES;
  const timeout = findField(fields, 'timeout');
  if (timeout) {
    const value = timeout.value !== null && isScalar(timeout.value) ? timeout.value.value : null;
    const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
    if (ms === undefined) {
      throw new ScenarioError(locate(r, timeout.value ?? timeout.key), `\`defaults.timeout\`: bad duration \`${String(value)}\`; use e.g. \`500ms\`, \`2s\` or \`1m\``);
    }
    timeoutMs = ms;
  }
  const retriesField = findField(fields, 'retries');
  if (retriesField) {
    const value = retriesField.value !== null && isScalar(retriesField.value) ? retriesField.value.value : null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RETRIES) {
      throw new ScenarioError(locate(r, retriesField.value ?? retriesField.key), `\`defaults.retries\` must be an integer 0-${MAX_RETRIES}, not \`${String(value)}\``);
    }
    retries = value;
  }
  return { timeoutMs, retries };
}

function readSource(r: Reader, errors: ScenarioError[], field: Field): Source | undefined {
  const name = field.name;
  const location = locate(r, field.key);
  failIf(r, field.key, checkDnsLabel(name), 'source name ');
  const what = `source \`${name}\``;
  const fields = readMap(r, field.value, what, field.key);
  if (!checkEachKey(r, errors, fields, SOURCE_KEYS, `in ${what}`)) return undefined;

  const runner = findField(fields, 'runner');
  if (runner) {
    if (!(runner.value !== null && isScalar(runner.value) && runner.value.value === true)) {
      throw new ScenarioError(locate(r, runner.value ?? runner.key), `${what}: \`runner\` must be \`true\` (the machine netcheck runs on)`);
    }
    const other = fields.find((f) => f.name !== 'runner' && f.name !== 'address');
    if (other) throw new ScenarioError(locate(r, other.key), `${what}: \`runner\` cannot be combined with \`${other.name}\` (the runner is outside the cluster)`);
    const addressField = findField(fields, 'address');
    if (!addressField) return { kind: 'runner', name, location };
    const address = readString(r, addressField, `${what}: \`address\``);
    failIf(r, addressField.value, checkIp(address), `${what}: \`address\`: `);
    return { kind: 'runner', name, address, location };
  }

  const addressField = findField(fields, 'address');
  if (addressField) {
    throw new ScenarioError(locate(r, addressField.key), `${what}: \`address\` belongs to the runner (\`runner: true\`); a pod source's address is its probe pod's`);
  }
  const namespaceField = requireField(fields, 'namespace', location, what, ' (or `runner: true`)');
  const namespace = readString(r, namespaceField, `${what}: \`namespace\``);
  failIf(r, namespaceField.value, checkDnsLabel(namespace), `${what}: namespace `);
  const labelsField = findField(fields, 'labels');
  const labels = labelsField ? readLabels(r, labelsField, what) : {};
  const asField = findField(fields, 'as');
  const as = asField ? readWorkloadRef(r, asField, what) : undefined;
  const nodeField = findField(fields, 'node');
  const node = nodeField ? readString(r, nodeField, `${what}: \`node\``) : undefined;
  return {
    kind: 'pod',
    name,
    namespace,
    labels,
    ...(as === undefined ? {} : { as }),
    ...(node === undefined ? {} : { node }),
    location,
  };
}

function readWorkloadRef(r: Reader, field: Field, what: string): { kind: string; name: string } {
  const text = readString(r, field, `${what}: \`as\``);
  const at = locate(r, field.value);
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1 || text.indexOf('/', slash + 1) !== -1) {
    throw new ScenarioError(at, `${what}: \`as\` must be <kind>/<name>, e.g. \`deployment/financial-predictor\`, not \`${text}\``);
  }
  const kind = text.slice(0, slash).toLowerCase();
  const name = text.slice(slash + 1);
  if (!CLONABLE_KINDS.includes(kind)) {
    throw new ScenarioError(at, `${what}: cannot clone labels from kind \`${text.slice(0, slash)}\`${formatSuggestion(kind, CLONABLE_KINDS)} (one of ${CLONABLE_KINDS.join(', ')})`);
  }
  failIf(r, field.value, checkDnsSubdomain(name), `${what}: workload name `);
  return { kind, name };
}

function readLabels(r: Reader, field: Field, what: string): Labels {
  const labels: Record<string, string> = {};
  for (const f of readMap(r, field.value, `${what}: \`labels\``, field.key)) {
    failIf(r, f.key, checkLabelKey(f.name), `${what}: `);
    const value = f.value !== null && isScalar(f.value) ? f.value.value : undefined;
    if (typeof value !== 'string') {
      const shown = value === undefined ? 'a non-scalar value' : `\`${String(value)}\``;
      throw new ScenarioError(locate(r, f.value ?? f.key), `${what}: label \`${f.name}\` must be a string, not ${shown}; quote it`);
    }
    failIf(r, f.value, checkLabelValue(value), `${what}: label \`${f.name}\`: `);
    labels[f.name] = value;
  }
  return labels;
}

function readTarget(r: Reader, errors: ScenarioError[], field: Field): Target | undefined {
  const name = field.name;
  const location = locate(r, field.key);
  failIf(r, field.key, checkDnsLabel(name), 'target name ');
  const what = `target \`${name}\``;
  const fields = readMap(r, field.value, what, field.key);
  if (!checkEachKey(r, errors, fields, TARGET_KEYS, `in ${what}`)) return undefined;

  const kinds = fields.filter((f) => f.name === 'dns' || f.name === 'service' || f.name === 'address');
  if (kinds.length > 1) {
    const [first, second] = kinds as [Field, Field];
    throw new ScenarioError(locate(r, second.key), `${what} has both \`${first.name}\` and \`${second.name}\`; a target is one of dns, service, address or namespace+port`);
  }
  const kindName = kinds[0]?.name ?? (findField(fields, 'namespace') ? 'namespace' : undefined);
  switch (kindName) {
    case 'dns': {
      rejectKeys(r, fields, what, 'a dns target', {
        port: 'takes no port (DNS queries go to the resolver on 53)',
        namespace: 'takes no namespace (write the full name, e.g. `svc.ns.svc.cluster.local`)',
        labels: 'takes no labels',
        http: 'takes no http check',
        node: 'takes no node (only a listener netcheck deploys can be pinned to one)',
        via: 'takes no `via` (only a service target can be probed by its ClusterIP)',
      });
      const dnsField = findField(fields, 'dns') as Field;
      const host = readString(r, dnsField, `${what}: \`dns\``);
      failIf(r, dnsField.value, checkDnsSubdomain(host.replace(/\.$/, '').toLowerCase()), `${what}: `);
      const protocol = readProtocol(r, fields, what, ['UDP', 'TCP'], 'UDP');
      return { kind: 'dns', name, host, protocol: protocol as 'UDP' | 'TCP', location };
    }
    case 'service': {
      rejectKeys(r, fields, what, 'a service target', { labels: 'takes no labels (the Service selects its pods)', node: 'takes no node (the Service picks its endpoints; use a listener target with `node:`)' });
      const serviceField = findField(fields, 'service') as Field;
      const service = readString(r, serviceField, `${what}: \`service\``);
      failIf(r, serviceField.value, checkDnsLabel(service), `${what}: service name `);
      const namespace = readNamespace(r, fields, what, location);
      const port = readPort(r, fields, what, location, true);
      const protocol = readProtocol(r, fields, what, ['TCP', 'UDP', 'SCTP'], 'TCP');
      const http = readHttp(r, fields, what, protocol);
      const via = readVia(r, fields, what);
      return { kind: 'service', name, service, namespace, port, protocol, ...(http ? { http } : {}), ...(via ? { via } : {}), location };
    }
    case 'address': {
      rejectKeys(r, fields, what, 'an address target', {
        namespace: 'takes no namespace',
        labels: 'takes no labels',
        node: 'takes no node',
        via: 'takes no `via` (it is an address already)',
      });
      const addressField = findField(fields, 'address') as Field;
      const address = readString(r, addressField, `${what}: \`address\``);
      failIf(r, addressField.value, checkAddress(address), `${what}: `);
      const port = readPort(r, fields, what, location, false) as number;
      const protocol = readProtocol(r, fields, what, ['TCP', 'UDP', 'SCTP'], 'TCP');
      const http = readHttp(r, fields, what, protocol);
      return { kind: 'address', name, address, port, protocol, ...(http ? { http } : {}), location };
    }
    case 'namespace': {
      rejectKeys(r, fields, what, 'a listener target', {
        http: 'takes no http check (netcheck\'s listener accepts connections only)',
        via: 'takes no `via` (netcheck probes its listener by pod IP)',
      });
      const namespace = readNamespace(r, fields, what, location);
      const labelsField = findField(fields, 'labels');
      const labels = labelsField ? readLabels(r, labelsField, what) : {};
      const { port, portName } = readListenerPort(r, fields, what, location);
      const protocol = readProtocol(r, fields, what, ['TCP', 'UDP', 'SCTP'], 'TCP');
      const nodeField = findField(fields, 'node');
      const node = nodeField ? readString(r, nodeField, `${what}: \`node\``) : undefined;
      return { kind: 'listener', name, namespace, labels, port, ...(portName === undefined ? {} : { portName }), protocol, ...(node === undefined ? {} : { node }), location };
    }
    default:
      throw new ScenarioError(location, `${what} needs one of \`dns\`, \`service\`, \`address\`, or \`namespace\` + \`port\` (a listener netcheck deploys)`);
  }
}

function readNamespace(r: Reader, fields: Field[], what: string, at: SourceLocation): string {
  const field = requireField(fields, 'namespace', at, what);
  const namespace = readString(r, field, `${what}: \`namespace\``);
  failIf(r, field.value, checkDnsLabel(namespace), `${what}: namespace `);
  return namespace;
}

function readPort(r: Reader, fields: Field[], what: string, at: SourceLocation, allowName: boolean): number | string {
  const field = requireField(fields, 'port', at, what);
  const value = field.value !== null && isScalar(field.value) ? field.value.value : undefined;
  const where = locate(r, field.value ?? field.key);
  if (typeof value === 'number') {
    const reason = checkPortNumber(value);
    if (reason) throw new ScenarioError(where, `${what}: bad port: ${reason}`);
    return value;
  }
  if (typeof value === 'string') {
    if (!allowName) {
      const hint = /^\d+$/.test(value) ? '; write the number without quotes' : ' (only a service target may name its port)';
      throw new ScenarioError(where, `${what}: port must be a number, not \`${value}\`${hint}`);
    }
    const reason = checkPortName(value);
    if (reason) throw new ScenarioError(where, `${what}: bad port: ${reason}`);
    return value;
  }
  throw new ScenarioError(where, `${what}: port must be a number 1-65535${allowName ? ' or a port name' : ''}`);
}

/**
 * A listener's port: a number, or `{ name, number }` so the listener pod declares a named containerPort and
 * policies that name the port (`port: http`) are tested against it. A name alone cannot be: netcheck picks no number.
 */
function readListenerPort(r: Reader, fields: Field[], what: string, at: SourceLocation): { port: number; portName?: string } {
  const field = requireField(fields, 'port', at, what);
  if (field.value === null || isScalar(field.value)) {
    const value = field.value !== null && isScalar(field.value) ? field.value.value : undefined;
    if (typeof value === 'string' && !/^\d+$/.test(value) && checkPortName(value) === undefined) {
      throw new ScenarioError(locate(r, field.value ?? field.key), `${what}: a listener port needs a number; to name it write \`port: { name: ${value}, number: 8080 }\``);
    }
    return { port: readPort(r, fields, what, at, false) as number };
  }
  const port = readMap(r, field.value, `${what}: \`port\``, field.key);
  checkKeys(r, port, LISTENER_PORT_KEYS, `in ${what} \`port\``);
  const portAt = locate(r, field.value);
  const numberField = requireField(port, 'number', portAt, `${what}: \`port\``);
  const number = numberField.value !== null && isScalar(numberField.value) ? numberField.value.value : undefined;
  const reason = typeof number === 'number' ? checkPortNumber(number) : 'must be a number 1-65535';
  if (reason) throw new ScenarioError(locate(r, numberField.value ?? numberField.key), `${what}: bad \`port.number\`: ${reason}`);
  const nameField = requireField(port, 'name', portAt, `${what}: \`port\``);
  const portName = readString(r, nameField, `${what}: \`port.name\``);
  failIf(r, nameField.value, checkPortName(portName), `${what}: bad \`port.name\`: `);
  return { port: number as number, portName };
}

/** `via: clusterIP` on a service target. */
function readVia(r: Reader, fields: Field[], what: string): 'clusterIP' | undefined {
  const field = findField(fields, 'via');
  if (!field) return undefined;
  const value = readString(r, field, `${what}: \`via\``);
  if (!VIA_VALUES.includes(value)) {
    throw new ScenarioError(locate(r, field.value), `${what}: unsupported \`via: ${value}\`${formatSuggestion(value, VIA_VALUES)} (only \`clusterIP\`: probe the Service's ClusterIP, no DNS)`);
  }
  return 'clusterIP';
}

function readProtocol(r: Reader, fields: Field[], what: string, allowed: string[], fallback: Protocol): Protocol {
  const field = findField(fields, 'protocol');
  if (!field) return fallback;
  const value = readString(r, field, `${what}: \`protocol\``);
  if (!allowed.includes(value)) {
    throw new ScenarioError(locate(r, field.value), `${what}: unsupported protocol \`${value}\`${formatSuggestion(value, allowed)} (one of ${allowed.join(', ')})`);
  }
  return value as Protocol;
}

function readHttp(r: Reader, fields: Field[], what: string, protocol: Protocol): HttpCheck | undefined {
  const field = findField(fields, 'http');
  if (!field) return undefined;
  if (protocol !== 'TCP') throw new ScenarioError(locate(r, field.key), `${what}: an http check needs protocol TCP, not ${protocol}`);
  const http = readMap(r, field.value, `${what}: \`http\``, field.key);
  checkKeys(r, http, HTTP_KEYS, `in ${what} \`http\``);
  const pathField = findField(http, 'path');
  const httpPath = pathField ? readString(r, pathField, `${what}: \`http.path\``) : '/';
  if (!httpPath.startsWith('/')) throw new ScenarioError(locate(r, pathField?.value ?? field.key), `${what}: \`http.path\` must start with '/', not \`${httpPath}\``);
  const statusField = findField(http, 'expectStatus');
  if (!statusField) return { path: httpPath };
  const status = statusField.value !== null && isScalar(statusField.value) ? statusField.value.value : undefined;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new ScenarioError(locate(r, statusField.value ?? statusField.key), `${what}: \`http.expectStatus\` must be an HTTP status 100-599, not \`${String(status)}\``);
  }
  return { path: httpPath, expectStatus: status };
}

/** The matrix's cells, and the rows with an error in them (their cells may be missing). */
interface Matrix {
  cells: ExpectedCell[];
  incomplete: Set<string>;
}

function readMatrix(r: Reader, errors: ScenarioError[], field: Field, sources: Entries<Source>, targets: Entries<Target>): Matrix | undefined {
  const rows = attempt(errors, () => readMap(r, field.value, '`matrix`', field.key));
  if (rows === undefined) return undefined;
  const sourceNames = sources.valid.map((s) => s.name);
  const targetNames = targets.valid.map((t) => t.name);
  const cells: ExpectedCell[] = [];
  const incomplete = new Set<string>();
  for (const row of rows) {
    const before = errors.length;
    attempt(errors, () => {
      if (sources.invalid.has(row.name)) return;
      const source = sources.valid.find((s) => s.name === row.name);
      if (!source) {
        // The row it was meant to be has no cells now: `known` entries for that source are not reported again.
        const meant = findNearestName(row.name, sourceNames);
        if (meant !== undefined) incomplete.add(meant);
        throw new ScenarioError(locate(r, row.key), `matrix: unknown source \`${row.name}\`${formatSuggestion(row.name, sourceNames)}`);
      }
      const what = `matrix.${row.name}`;
      const lists = readMap(r, row.value, `\`${what}\``, row.key);
      if (!checkEachKey(r, errors, lists, MATRIX_KEYS, `in \`${what}\``)) return;
      const seen = new Map<string, string>();
      for (const list of lists) {
        const expect = list.name as Expectation | OutcomeExpectation;
        if (list.value === null || !isSeq(list.value)) {
          throw new ScenarioError(locate(r, list.value ?? list.key), `\`${what}.${expect}\` must be a list of target names`);
        }
        for (const item of list.value.items) {
          attempt(errors, () => {
            const cell = readMatrixEntry(r, item as YamlNode, list, what, expect, source, targets, targetNames, seen);
            if (cell) cells.push(cell);
          });
        }
      }
    });
    if (errors.length > before) incomplete.add(row.name);
  }
  if (cells.length === 0 && errors.length === 0) {
    errors.push(new ScenarioError(locate(r, field.key), '`matrix` has no cells; list targets under `<source>: { allow: [...], deny: [...] }`'));
  }
  // Stable order for every report: sources, then targets, as declared.
  const sourceIndex = new Map(sourceNames.map((n, i) => [n, i]));
  const targetIndex = new Map(targetNames.map((n, i) => [n, i]));
  cells.sort(
    (a, b) => (sourceIndex.get(a.source) ?? 0) - (sourceIndex.get(b.source) ?? 0) || (targetIndex.get(a.target) ?? 0) - (targetIndex.get(b.target) ?? 0),
  );
  return { cells, incomplete };
}

/** One target name under `matrix.<source>.allow|deny`; undefined when it names a target that is itself in error. */
function readMatrixEntry(
  r: Reader,
  item: YamlNode,
  list: Field,
  what: string,
  expect: Expectation | OutcomeExpectation,
  source: Source,
  targets: Entries<Target>,
  targetNames: string[],
  seen: Map<string, string>,
): ExpectedCell | undefined {
  const node = resolve(r, item);
  const at = locate(r, node ?? list.key);
  if (node === null || !isScalar(node) || typeof node.value !== 'string') {
    throw new ScenarioError(at, `\`${what}.${expect}\` entries must be target names`);
  }
  const targetName = node.value;
  if (targets.invalid.has(targetName)) return undefined;
  const target = targets.valid.find((t) => t.name === targetName);
  if (!target) throw new ScenarioError(at, `${what}.${expect}: unknown target \`${targetName}\`${formatSuggestion(targetName, targetNames)}`);
  const before = seen.get(targetName);
  if (before === expect) throw new ScenarioError(at, `${what}.${expect}: target \`${targetName}\` is listed twice`);
  if (before !== undefined) {
    const both = new Set([before, expect]).has('allow') && new Set([before, expect]).has('deny') ? 'both allowed and denied' : `listed under both \`${before}\` and \`${expect}\``;
    throw new ScenarioError(at, `${what}: target \`${targetName}\` is ${both}`);
  }
  if (source.kind === 'runner' && (target.kind === 'service' || target.kind === 'listener')) {
    throw new ScenarioError(at, `${what}.${expect}: the runner \`${source.name}\` is outside the cluster; it can reach \`address\` and \`dns\` targets, not the ${target.kind} \`${targetName}\``);
  }
  if (expect === 'nxdomain' && target.kind !== 'dns' && target.kind !== 'service') {
    throw new ScenarioError(at, `${what}.nxdomain: the ${target.kind} target \`${targetName}\` is not looked up by name; \`nxdomain\` fits a dns or service target`);
  }
  if (expect === 'nxdomain' && target.kind === 'service' && target.via === 'clusterIP') {
    throw new ScenarioError(at, `${what}.nxdomain: target \`${targetName}\` is probed by ClusterIP (\`via: clusterIP\`), not by name, so it cannot be nxdomain`);
  }
  seen.set(targetName, expect);
  if (expect === 'allow' || expect === 'deny') return { source: source.name, target: targetName, expect, location: at };
  return { source: source.name, target: targetName, expect: intentOf(expect), outcome: expect, location: at };
}

function readKnown(r: Reader, errors: ScenarioError[], field: Field, sources: Entries<Source>, targets: Entries<Target>, matrix: Matrix): void {
  if (field.value === null || !isSeq(field.value)) {
    errors.push(new ScenarioError(locate(r, field.value ?? field.key), '`known` must be a list of `{ from, to, reason }`'));
    return;
  }
  for (const item of field.value.items) {
    attempt(errors, () => {
      const node = resolve(r, item as YamlNode);
      const fields = readMap(r, node, 'a `known` entry', field.key);
      if (!checkEachKey(r, errors, fields, KNOWN_KEYS, 'in a `known` entry')) return;
      const at = locate(r, node);
      const from = readString(r, requireField(fields, 'from', at, 'a `known` entry'), '`known.from`');
      const to = readString(r, requireField(fields, 'to', at, 'a `known` entry'), '`known.to`');
      const reason = readString(r, requireField(fields, 'reason', at, 'a `known` entry', ' (say why the cell fails)'), '`known.reason`');
      const fromField = findField(fields, 'from') as Field;
      const toField = findField(fields, 'to') as Field;
      if (sources.invalid.has(from) || targets.invalid.has(to)) return;
      if (!sources.valid.some((s) => s.name === from)) {
        throw new ScenarioError(locate(r, fromField.value), `known: unknown source \`${from}\`${formatSuggestion(from, sources.valid.map((s) => s.name))}`);
      }
      if (!targets.valid.some((t) => t.name === to)) {
        throw new ScenarioError(locate(r, toField.value), `known: unknown target \`${to}\`${formatSuggestion(to, targets.valid.map((t) => t.name))}`);
      }
      const cell = matrix.cells.find((c) => c.source === from && c.target === to);
      // A matrix row with an error may lack the cell: the row's own error says what to fix.
      if (!cell && matrix.incomplete.has(from)) return;
      if (!cell) throw new ScenarioError(at, `known: \`${from}\` → \`${to}\` is not in the matrix; add \`${to}\` to matrix.${from}.allow or .deny`);
      if (cell.known !== undefined) throw new ScenarioError(at, `known: \`${from}\` → \`${to}\` is listed twice`);
      cell.known = reason;
      cell.knownLocation = at;
    });
  }
}
