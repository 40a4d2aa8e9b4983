/**
 * Parts of a scenario that cannot run on this cluster — a source or listener namespace that does not exist, an
 * `as:` workload that is not there, a namespace these rights may not touch — fail their own cells with the reason
 * (file:line, "did you mean"), and the rest of the run goes on. Pure: the scenario and what the cluster said in.
 */
import { describeNamespaceFailure } from '../cluster/api-errors.js';
import { commandToSee, describeNotVisible } from '../cluster/inventory.js';
import type { Inventory, NotVisible } from '../cluster/types.js';
import { ClusterError, formatLocation, NetcheckError, ProbeError, type SourceLocation } from '../model/errors.js';
import type { CellVerdict } from '../model/verdict.js';
import { findNearestName } from '../scenario/nearest-name.js';
import type { Scenario } from '../scenario/types.js';
import { judgeCell } from './verdict.js';

/** Why each named source or target cannot run. */
export interface Unavailable {
  sources: Map<string, string>;
  targets: Map<string, string>;
}

function where(location: SourceLocation): string {
  const file = location.file.split(/[\\/]/).pop() ?? location.file;
  return formatLocation({ ...location, file });
}

/** "namespace financial-mll not found (scenario.yaml:12); did you mean financial-ml?" */
export function namespaceNotFound(namespace: string, location: SourceLocation, known: readonly string[]): string {
  const nearest = findNearestName(namespace, known);
  return `namespace ${namespace} not found (${where(location)})${nearest !== undefined ? `; did you mean ${nearest}?` : ''}`;
}

/**
 * Sources and listener targets whose namespace the cluster does not have: known when every namespace could be
 * listed, or when the API server answered "not found" for that one. With namespace-scoped rights neither may be
 * known; creating the probe pod then fails that pod alone (src/probe/lifecycle.ts).
 */
export function findMissingNamespaces(scenario: Scenario, inventory: Pick<Inventory, 'namespaces' | 'namespacesListed' | 'missingNamespaces'>): Unavailable {
  const known = inventory.namespaces.map((n) => n.name);
  const missing = (ns: string): boolean => (inventory.namespacesListed === true && !known.includes(ns)) || (inventory.missingNamespaces ?? []).includes(ns);
  const result: Unavailable = { sources: new Map(), targets: new Map() };
  for (const s of scenario.sources) {
    if (s.kind === 'pod' && missing(s.namespace)) result.sources.set(s.name, namespaceNotFound(s.namespace, s.location, known));
  }
  for (const t of scenario.targets) {
    if (t.kind === 'listener' && missing(t.namespace)) result.targets.set(t.name, namespaceNotFound(t.namespace, t.location, known));
  }
  return result;
}

/**
 * Service targets with a named port (`port: metrics`) in a namespace whose Services these rights cannot list: the
 * port number cannot be known, and "service not found" would be a guess. Adds them to `unavailable`.
 */
export function findHiddenNamedPorts(scenario: Scenario, notVisible: readonly NotVisible[] | undefined, unavailable: Unavailable): void {
  for (const t of scenario.targets) {
    if (t.kind !== 'service' || typeof t.port !== 'string' || unavailable.targets.has(t.name)) continue;
    const hidden = notVisible?.find((n) => n.resource === 'services' && n.namespaces?.includes(t.namespace));
    if (hidden === undefined) continue;
    unavailable.targets.set(
      t.name,
      `port "${t.port}" of service ${t.namespace}/${t.service} cannot be resolved (${where(t.location)}): ${describeNotVisible({ ...hidden, what: `services in ${t.namespace}`, command: commandToSee('services', [t.namespace]) })}; or give the port number`,
    );
  }
}

/** Why an `as:` lookup failed, as a cell reason; undefined for a failure that is not the source's alone. */
export function workloadLookupFailure(error: unknown, source: { namespace: string; as: { kind: string; name: string }; location: SourceLocation }, known: readonly string[]): string | undefined {
  if (!(error instanceof ClusterError)) return undefined;
  const at = where(source.location);
  switch (error.reason) {
    case 'NotFound':
      return `${source.as.kind.toLowerCase()}/${source.as.name} not found in namespace ${source.namespace} (${at}); check the \`as:\` workload name`;
    case 'NamespaceNotFound':
      return namespaceNotFound(source.namespace, source.location, known);
    case 'Forbidden':
      return `${describeNamespaceFailure(error)} (\`as:\` at ${at})`;
    default:
      return undefined;
  }
}

/** The scenario without what cannot run: no cell of it is planned. */
export function withoutUnavailable(scenario: Scenario, unavailable: Unavailable): Scenario {
  if (unavailable.sources.size === 0 && unavailable.targets.size === 0) return scenario;
  return {
    ...scenario,
    sources: scenario.sources.filter((s) => !unavailable.sources.has(s.name)),
    targets: scenario.targets.filter((t) => !unavailable.targets.has(t.name)),
    cells: scenario.cells.filter((c) => !unavailable.sources.has(c.source) && !unavailable.targets.has(c.target)),
  };
}

/** The cells left out by withoutUnavailable, each not run with its reason (the source's first). */
export function unavailableCells(scenario: Scenario, unavailable: Unavailable): CellVerdict[] {
  const targets = new Map(scenario.targets.map((t) => [t.name, t]));
  return scenario.cells.flatMap((cell) => {
    const reason = unavailable.sources.get(cell.source) ?? unavailable.targets.get(cell.target);
    const target = targets.get(cell.target);
    if (reason === undefined || target === undefined) return [];
    return [judgeCell({ cell, target, policy: { view: 'unknown', explanation: [] }, observed: { kind: 'not-run', reason } })];
  });
}

/** Run findings: "2 sources could not run: a (why); b (why)", the same for targets. */
export function describeUnavailable(unavailable: Unavailable): string[] {
  const line = (what: string, entries: Map<string, string>): string[] =>
    entries.size === 0 ? [] : [`${entries.size} ${what}${entries.size === 1 ? '' : 's'} could not run: ${[...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, why]) => `${name} (${why})`).join('; ')}`];
  return [...line('source', unavailable.sources), ...line('target', unavailable.targets)];
}

/** One infrastructure failure for the whole group, so the exit code says a check could not run (3). */
export function unavailableFailure(unavailable: Unavailable): NetcheckError | undefined {
  const lines = describeUnavailable(unavailable);
  return lines.length === 0 ? undefined : new ClusterError(lines.join('; '), { reason: 'ScenarioNotOnCluster' }, { hint: 'each reason says what to fix (a name in the scenario, a namespace, a grant); the other cells ran' });
}

/**
 * Pods refused in some namespaces (RBAC, or no such namespace), one line per namespace naming every verb refused:
 * "2 pods could not run in default: RBAC forbids `create pods`, `list pods` — grant deploy/rbac/role.yaml in default ...".
 */
export function describeNamespaceRefusals(failures: readonly NetcheckError[]): string[] {
  const groups = new Map<string, { pods: number; verbs: Set<string>; missing: boolean }>();
  for (const f of failures) {
    const cause = f instanceof ProbeError ? f.cause : undefined;
    if (!(cause instanceof ClusterError) || cause.namespace === undefined) continue;
    if (cause.reason !== 'Forbidden' && cause.reason !== 'NamespaceNotFound') continue;
    const group = groups.get(cause.namespace) ?? { pods: 0, verbs: new Set<string>(), missing: false };
    group.pods++;
    if (cause.reason === 'NamespaceNotFound') group.missing = true;
    else if (cause.verb !== undefined && cause.resource !== undefined) group.verbs.add(`\`${cause.verb} ${cause.resource}\``);
    groups.set(cause.namespace, group);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([ns, g]) => {
    const pods = `${g.pods} pod${g.pods === 1 ? '' : 's'} could not run in ${ns}`;
    if (g.missing) return `${pods}: namespace ${ns} not found; the cells of other namespaces ran`;
    return `${pods}: RBAC forbids ${[...g.verbs].sort().join(', ')} — grant deploy/rbac/role.yaml in ${ns} (or deploy/rbac/clusterrole.yaml); the cells of other namespaces ran`;
  });
}

/** "not visible with these rights: … — ask the platform team to run `…`", one per thing not visible. */
export function describeVisibility(inventory: Pick<Inventory, 'notVisible'>, options: { perNode?: boolean; pinnedTo?: readonly string[] } = {}): string[] {
  const lines = (inventory.notVisible ?? []).map(describeNotVisible);
  const nodes = inventory.notVisible?.find((n) => n.resource === 'nodes');
  if (options.perNode && nodes !== undefined && (options.pinnedTo?.length ?? 0) > 0) {
    lines.unshift(`--per-node: nodes are not visible with these rights (${nodes.why}): probe pods were pinned to ${options.pinnedTo!.join(', ')} as given with --nodes, unchecked (a node that does not exist or is not Ready leaves its probe pods pending)`);
  } else if (options.perNode && nodes !== undefined) {
    lines.unshift(`--per-node: nodes are not visible with these rights (${nodes.why}), so probe pods were NOT pinned to nodes: each ran wherever the scheduler put it — ask the platform team to run \`${nodes.command}\`, or grant \`list nodes\` (deploy/rbac/clusterrole.yaml)`);
  }
  return lines;
}
