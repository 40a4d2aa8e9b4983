/**
 * Calico GlobalNetworkPolicy / NetworkPolicy objects to netcheck's shape, checked as Calico's own validator and
 * client would (pinned Calico, v3.28 branch: libcalico-go/lib/validator/v3/validator.go, clientv3/*policy.go,
 * config/crd/crd.projectcalico.org_*networkpolicies.yaml). Pure. A bad field throws ObjectShapeError with its path,
 * which the manifest loader turns into file:line.
 *
 * Two apiVersions: projectcalico.org/v3 (as written for calicoctl or Calico's API server) and
 * crd.projectcalico.org/v1 (as the Kubernetes datastore stores it: the name carries the tier, "default.<name>",
 * and `types` was filled in by the v3 client; a CRD applied by hand without `types` is taken by felix as both
 * directions, calc/policy_sorter.go governsType "Back-compatibility: no Types means Ingress and Egress").
 * Tiers: Calico v3.28 serves no Tier resource (its CRDs have no `tier` field), so every policy is in the default tier.
 */
import { parseCidr } from './cidr.js';
import { CalicoSelectorError, parseCalicoSelector } from './calico-selector.js';
import {
  arrayAt,
  integerAt,
  isObject,
  metadataOf,
  namespaceOf,
  objectAt,
  ObjectShapeError,
  requiredString,
  stringAt,
  type Obj,
  type ObjectOptions,
} from './from-objects.js';
import type { CalicoAction, CalicoEntityRule, CalicoPort, CalicoRule, Direction, OtherPolicy } from './types.js';

/** API groups whose GlobalNetworkPolicy / NetworkPolicy are Calico's. */
export const CALICO_API_GROUPS = ['projectcalico.org', 'crd.projectcalico.org'] as const;
const CALICO_KINDS = ['GlobalNetworkPolicy', 'NetworkPolicy'] as const;
/** The only tier Calico v3.28 has; the datastore prefixes stored policy names with it. */
export const DEFAULT_TIER = 'default';

/** A Calico GlobalNetworkPolicy / NetworkPolicy (by apiVersion: Calico's NetworkPolicy shares its kind with Kubernetes'). */
export function isCalicoPolicy(obj: unknown): boolean {
  if (!isObject(obj) || typeof obj.kind !== 'string' || !(CALICO_KINDS as readonly string[]).includes(obj.kind)) return false;
  const group = typeof obj.apiVersion === 'string' ? obj.apiVersion.split('/')[0] : '';
  return (CALICO_API_GROUPS as readonly string[]).includes(group ?? '');
}

/** IP protocol numbers of the names Calico accepts (numorstring.Protocol). */
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, udplite: 136 };
const PORT_PROTOCOLS = [6, 17, 132, 136];

function selectorAt(value: unknown, path: string): string | undefined {
  const text = stringAt(value, path);
  if (text === undefined || text === '') return undefined;
  try {
    parseCalicoSelector(text);
  } catch (error) {
    if (error instanceof CalicoSelectorError) throw new ObjectShapeError(path, error.message);
    throw error;
  }
  return text;
}

function protocolAt(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new ObjectShapeError(path, `protocol number ${value} is outside 1-255`);
    return n;
  }
  const n = typeof value === 'string' ? PROTOCOLS[value.toLowerCase()] : undefined;
  if (n === undefined) throw new ObjectShapeError(path, `must be TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255, got ${JSON.stringify(value)}`);
  return n;
}

/** numorstring.Port: 80, "80", "8000:8080", or a port name. */
function portsAt(value: unknown, path: string): CalicoPort[] | undefined {
  const items = arrayAt(value, path);
  if (!items || items.length === 0) return undefined;
  return items.map((item, i) => {
    const where = `${path}[${i}]`;
    const text = String(item);
    const range = /^(\d+)(?::(\d+))?$/.exec(text);
    if (range) {
      const first = Number(range[1]);
      const last = range[2] === undefined ? first : Number(range[2]);
      if (first > 65535 || last > 65535 || first > last) throw new ObjectShapeError(where, `port range ${text} is not within 0-65535 with first <= last`);
      return { first, last };
    }
    if (typeof item !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/i.test(item)) {
      throw new ObjectShapeError(where, `expected a port number, a range "first:last" or a port name, got ${JSON.stringify(item)}`);
    }
    return { name: item };
  });
}

function netsAt(value: unknown, path: string): string[] | undefined {
  const items = arrayAt(value, path);
  if (!items || items.length === 0) return undefined;
  return items.map((item, i) => {
    const text = stringAt(item, `${path}[${i}]`) ?? '';
    // Calico takes a bare address as a /32 (/128): cnet.ParseCIDROrIP.
    const cidr = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
    if (parseCidr(cidr) === undefined) throw new ObjectShapeError(`${path}[${i}]`, `${JSON.stringify(text)} is not a CIDR or an IP address`);
    return cidr;
  });
}

function icmpAt(value: unknown, path: string): CalicoRule['icmp'] {
  const o = objectAt(value, path);
  if (!o) return undefined;
  const icmp: NonNullable<CalicoRule['icmp']> = {};
  const type = integerAt(o.type, `${path}.type`);
  const code = integerAt(o.code, `${path}.code`);
  if (code !== undefined && type === undefined) throw new ObjectShapeError(`${path}.code`, 'an ICMP code needs an ICMP type as well');
  if (type !== undefined) icmp.type = type;
  if (code !== undefined) icmp.code = code;
  return icmp;
}

function entityAt(value: unknown, path: string): CalicoEntityRule {
  const o = objectAt(value, path) ?? {};
  const entity: CalicoEntityRule = {};
  const nets = netsAt(o.nets, `${path}.nets`);
  if (nets) entity.nets = nets;
  const notNets = netsAt(o.notNets, `${path}.notNets`);
  if (notNets) entity.notNets = notNets;
  for (const field of ['selector', 'notSelector', 'namespaceSelector'] as const) {
    const s = selectorAt(o[field], `${path}.${field}`);
    if (s !== undefined) entity[field] = s;
  }
  const ports = portsAt(o.ports, `${path}.ports`);
  if (ports) entity.ports = ports;
  const notPorts = portsAt(o.notPorts, `${path}.notPorts`);
  if (notPorts) entity.notPorts = notPorts;
  const sa = objectAt(o.serviceAccounts, `${path}.serviceAccounts`);
  if (sa) {
    const names = (arrayAt(sa.names, `${path}.serviceAccounts.names`) ?? []).map((n, i) => requiredString(n, `${path}.serviceAccounts.names[${i}]`));
    const selector = selectorAt(sa.selector, `${path}.serviceAccounts.selector`);
    entity.serviceAccounts = { ...(names.length > 0 ? { names } : {}), ...(selector !== undefined ? { selector } : {}) };
  }
  const services = objectAt(o.services, `${path}.services`);
  if (services) {
    entity.services = { name: requiredString(services.name, `${path}.services.name`) };
    const ns = stringAt(services.namespace, `${path}.services.namespace`);
    if (ns) entity.services.namespace = ns;
  }
  return entity;
}

const ACTIONS: readonly CalicoAction[] = ['Allow', 'Deny', 'Pass', 'Log'];

function ruleAt(value: unknown, path: string): CalicoRule {
  const o = objectAt(value, path) ?? {};
  const action = stringAt(o.action, `${path}.action`);
  if (!ACTIONS.includes(action as CalicoAction)) throw new ObjectShapeError(`${path}.action`, `must be Allow, Deny, Pass or Log, got ${JSON.stringify(action)}`);
  const rule: CalicoRule = { action: action as CalicoAction, source: entityAt(o.source, `${path}.source`), destination: entityAt(o.destination, `${path}.destination`) };
  const protocol = protocolAt(o.protocol, `${path}.protocol`);
  if (protocol !== undefined) rule.protocol = protocol;
  const notProtocol = protocolAt(o.notProtocol, `${path}.notProtocol`);
  if (notProtocol !== undefined) rule.notProtocol = notProtocol;
  // validator.go validateRule: "rules that specify ports must set protocol to TCP or UDP or SCTP".
  for (const [side, entity] of [['source', rule.source], ['destination', rule.destination]] as const) {
    for (const field of ['ports', 'notPorts'] as const) {
      if (entity[field] && (protocol === undefined || !PORT_PROTOCOLS.includes(protocol))) {
        throw new ObjectShapeError(`${path}.${side}.${field}`, 'rules that specify ports must set protocol to TCP, UDP, SCTP or UDPLite (Calico rejects this rule)');
      }
    }
  }
  const icmp = icmpAt(o.icmp, `${path}.icmp`);
  const notICMP = icmpAt(o.notICMP, `${path}.notICMP`);
  if ((icmp || notICMP) && protocol !== 1 && protocol !== 58) {
    throw new ObjectShapeError(`${path}.${icmp ? 'icmp' : 'notICMP'}`, 'rules that specify ICMP fields must set protocol to ICMP or ICMPv6 (Calico rejects this rule)');
  }
  if (icmp) rule.icmp = icmp;
  if (notICMP) rule.notICMP = notICMP;
  if (o.ipVersion !== undefined && o.ipVersion !== null) {
    if (o.ipVersion !== 4 && o.ipVersion !== 6) throw new ObjectShapeError(`${path}.ipVersion`, `must be 4 or 6, got ${JSON.stringify(o.ipVersion)}`);
    rule.ipVersion = o.ipVersion;
  }
  if (o.http !== undefined && o.http !== null) rule.http = o.http;
  return rule;
}

function rulesAt(value: unknown, path: string): CalicoRule[] {
  return (arrayAt(value, path) ?? []).map((r, i) => ruleAt(r, `${path}[${i}]`));
}

/** The client's default for absent `types` (clientv3 defaultPolicyTypesField). */
function defaultTypes(ingress: CalicoRule[], egress: CalicoRule[]): Direction[] {
  if (egress.length === 0) return ['ingress'];
  if (ingress.length === 0) return ['egress'];
  return ['ingress', 'egress'];
}

export function calicoPolicyFromObject(obj: unknown, source?: string, options: ObjectOptions = {}): OtherPolicy {
  const o: Obj = objectAt(obj, '') ?? {};
  const meta = metadataOf(o);
  const spec = objectAt(o.spec, 'spec') ?? {};
  const kind = requiredString(o.kind, 'kind');
  if (kind !== 'GlobalNetworkPolicy' && kind !== 'NetworkPolicy') throw new ObjectShapeError('kind', `not a Calico policy kind: ${kind}`);
  const apiVersion = requiredString(o.apiVersion, 'apiVersion');
  const stored = apiVersion.startsWith('crd.');
  const tier = stringAt(spec.tier, 'spec.tier');
  if (tier !== undefined && tier !== '' && tier !== DEFAULT_TIER) {
    throw new ObjectShapeError('spec.tier', `tier ${JSON.stringify(tier)}: the Calico netcheck models (v3.28) has only the default tier (it serves no Tier resource)`);
  }
  const written = requiredString(meta.name, 'metadata.name');
  const name = written.startsWith(`${DEFAULT_TIER}.`) ? written.slice(DEFAULT_TIER.length + 1) : written;
  // The v3 client stores "default.<name>" (clientv3 convertPolicyNameForStorage); a hand-applied CRD keeps its name.
  const storedName = stored ? written : `${DEFAULT_TIER}.${name}`;
  const ingress = rulesAt(spec.ingress, 'spec.ingress');
  const egress = rulesAt(spec.egress, 'spec.egress');
  const policy: OtherPolicy = { kind, apiVersion, name, selector: selectorAt(spec.selector, 'spec.selector') ?? '' };
  if (kind === 'NetworkPolicy') policy.namespace = namespaceOf(meta, options.defaultNamespace ?? 'default');
  policy.sortName = policy.namespace !== undefined ? `${policy.namespace}/${storedName}` : storedName;
  const namespaceSelector = selectorAt(spec.namespaceSelector, 'spec.namespaceSelector');
  if (namespaceSelector !== undefined) {
    if (kind !== 'GlobalNetworkPolicy') throw new ObjectShapeError('spec.namespaceSelector', 'only a GlobalNetworkPolicy has a namespaceSelector');
    policy.namespaceSelector = namespaceSelector;
  }
  const saSelector = selectorAt(spec.serviceAccountSelector, 'spec.serviceAccountSelector');
  if (saSelector !== undefined) policy.serviceAccountSelector = saSelector;
  if (spec.order !== undefined && spec.order !== null) {
    if (typeof spec.order !== 'number') throw new ObjectShapeError('spec.order', 'expected a number');
    policy.order = spec.order;
  }
  const types = arrayAt(spec.types, 'spec.types');
  if (types && types.length > 0) {
    policy.types = types.map((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') throw new ObjectShapeError(`spec.types[${i}]`, `must be Ingress or Egress, got ${JSON.stringify(t)}`);
      return t === 'Ingress' ? 'ingress' : 'egress';
    });
  } else {
    policy.types = stored ? ['ingress', 'egress'] : defaultTypes(ingress, egress);
  }
  if (ingress.length > 0) policy.ingress = ingress;
  if (egress.length > 0) policy.egress = egress;
  if (spec.doNotTrack === true) policy.hostEndpointOnly = 'doNotTrack';
  else if (spec.preDNAT === true) policy.hostEndpointOnly = 'preDNAT';
  if (spec.applyOnForward === true) policy.applyOnForward = true;
  if (source !== undefined) policy.source = source;
  return policy;
}
