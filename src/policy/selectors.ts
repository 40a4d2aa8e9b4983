/**
 * Label selectors (metav1.LabelSelector): matching, rendering, and explaining a miss.
 * Kubernetes rule: all matchLabels and all matchExpressions must hold (AND); an empty selector matches everything.
 */
import { compareStrings } from './from-objects.js';
import type { LabelSelector, LabelSelectorRequirement, Labels } from './types.js';

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

function requirementHolds(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && (req.values ?? []).includes(labels[req.key] as string);
    case 'NotIn':
      // NotIn matches objects without the key too (apimachinery labels.Requirement semantics).
      return !has || !(req.values ?? []).includes(labels[req.key] as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default: {
      const never: never = req.operator;
      throw new Error(`unknown operator ${String(never)}`);
    }
  }
}

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value || !Object.prototype.hasOwnProperty.call(labels, key)) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    if (!requirementHolds(req, labels)) return false;
  }
  return true;
}

function formatRequirement(req: LabelSelectorRequirement): string {
  switch (req.operator) {
    case 'In':
      return `${req.key} in (${(req.values ?? []).join(',')})`;
    case 'NotIn':
      return `${req.key} notin (${(req.values ?? []).join(',')})`;
    case 'Exists':
      return req.key;
    case 'DoesNotExist':
      return `!${req.key}`;
    default: {
      const never: never = req.operator;
      return String(never);
    }
  }
}

/** kubectl-style rendering: "app=web,tier in (a,b)"; "{}" for the empty selector. */
export function formatSelector(selector: LabelSelector): string {
  if (isEmptySelector(selector)) return '{}';
  const parts = Object.keys(selector.matchLabels ?? {})
    .sort(compareStrings)
    .map((k) => `${k}=${selector.matchLabels?.[k] ?? ''}`);
  for (const req of selector.matchExpressions ?? []) parts.push(formatRequirement(req));
  return parts.join(',');
}

/**
 * What the labels lack for the selector to match, one phrase per failed term, e.g.
 * "has no label `name`" or "has name=ml, not name=kube-system". Empty when the selector matches.
 */
export function explainSelectorMiss(selector: LabelSelector, labels: Labels): string[] {
  const misses: string[] = [];
  for (const key of Object.keys(selector.matchLabels ?? {}).sort(compareStrings)) {
    const want = selector.matchLabels?.[key] ?? '';
    if (!Object.prototype.hasOwnProperty.call(labels, key)) misses.push(`has no label \`${key}\``);
    else if (labels[key] !== want) misses.push(`has ${key}=${labels[key] ?? ''}, not ${key}=${want}`);
  }
  for (const req of selector.matchExpressions ?? []) {
    if (requirementHolds(req, labels)) continue;
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    switch (req.operator) {
      case 'In':
        misses.push(has ? `has ${req.key}=${labels[req.key] ?? ''}, not in (${(req.values ?? []).join(',')})` : `has no label \`${req.key}\``);
        break;
      case 'NotIn':
        misses.push(`has ${req.key}=${labels[req.key] ?? ''}, which ${req.key} notin (${(req.values ?? []).join(',')}) excludes`);
        break;
      case 'Exists':
        misses.push(`has no label \`${req.key}\``);
        break;
      case 'DoesNotExist':
        misses.push(`has label \`${req.key}\` (selector requires it absent)`);
        break;
      default: {
        const never: never = req.operator;
        misses.push(String(never));
      }
    }
  }
  return misses;
}
