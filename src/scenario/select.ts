/**
 * `--from SOURCE` / `--to TARGET` (on-call focus): the scenario narrowed to the cells from those sources and to
 * those targets, so a run probes only what the engineer asks about. Pure. Each value is a scenario name, or a
 * namespace standing for every source (or service/listener target) in it; a comma list or a repeated flag adds up.
 * Sources and targets no remaining cell uses are dropped too, so no probe pod or listener is deployed for them.
 */
import { UsageError } from '../model/errors.js';
import { formatSuggestion } from './nearest-name.js';
import type { Scenario, Source, Target } from './types.js';

export interface Focus {
  /** `--from` values as given (repeatable, each maybe a comma list); absent or empty: every source. */
  from?: readonly string[];
  /** `--to` values as given; absent or empty: every target. */
  to?: readonly string[];
}

/** `a,b` `c` → [a, b, c]; an empty item is bad input. */
export function splitFocusList(flag: string, values: readonly string[] | undefined): string[] {
  const items = (values ?? []).flatMap((v) => v.split(',').map((s) => s.trim()));
  if (items.some((s) => s === '')) {
    throw new UsageError(`--${flag} ${(values ?? []).join(',')}: an empty name`, { hint: `e.g. --${flag} ${flag === 'from' ? 'serving,training' : 'cluster-dns'}` });
  }
  return [...new Set(items)];
}

function sourceNamespace(s: Source): string | undefined {
  return s.kind === 'pod' ? s.namespace : undefined;
}

function targetNamespace(t: Target): string | undefined {
  return t.kind === 'service' || t.kind === 'listener' ? t.namespace : undefined;
}

/** The scenario names `words` pick: each a name, or a namespace holding at least one; otherwise exit 2 with a suggestion. */
function pick<T extends { name: string }>(flag: string, words: string[], all: readonly T[], namespaceOf: (x: T) => string | undefined, scenario: string): Set<string> {
  const picked = new Set<string>();
  for (const word of words) {
    const byName = all.find((x) => x.name === word);
    if (byName) {
      picked.add(byName.name);
      continue;
    }
    const inNamespace = all.filter((x) => namespaceOf(x) === word);
    if (inNamespace.length > 0) {
      for (const x of inNamespace) picked.add(x.name);
      continue;
    }
    const names = all.map((x) => x.name);
    const namespaces = [...new Set(all.flatMap((x) => namespaceOf(x) ?? []))];
    throw new UsageError(`--${flag} ${word}: scenario ${scenario} has no ${flag === 'from' ? 'source' : 'target'} or namespace of that name${formatSuggestion(word, [...names, ...namespaces])}`, {
      hint: `${flag === 'from' ? 'sources' : 'targets'}: ${names.join(', ')}`,
    });
  }
  return picked;
}

export function selectScenario(scenario: Scenario, focus: Focus): Scenario {
  const from = splitFocusList('from', focus.from);
  const to = splitFocusList('to', focus.to);
  if (from.length === 0 && to.length === 0) return scenario;
  const sources = from.length > 0 ? pick('from', from, scenario.sources, sourceNamespace, scenario.name) : undefined;
  const targets = to.length > 0 ? pick('to', to, scenario.targets, targetNamespace, scenario.name) : undefined;
  const cells = scenario.cells.filter((c) => (sources?.has(c.source) ?? true) && (targets?.has(c.target) ?? true));
  if (cells.length === 0) {
    const what = [...(from.length > 0 ? [`from ${from.join(', ')}`] : []), ...(to.length > 0 ? [`to ${to.join(', ')}`] : [])].join(' ');
    throw new UsageError(`--from/--to: scenario ${scenario.name} has no cell ${what}`, {
      hint: 'its matrix: names no such pair; to probe one flow anyway: `netcheck probe --from NS --to SERVICE.NS:PORT`',
    });
  }
  const usedSources = new Set(cells.map((c) => c.source));
  const usedTargets = new Set(cells.map((c) => c.target));
  return {
    ...scenario,
    sources: scenario.sources.filter((s) => usedSources.has(s.name)),
    targets: scenario.targets.filter((t) => usedTargets.has(t.name)),
    cells,
  };
}
