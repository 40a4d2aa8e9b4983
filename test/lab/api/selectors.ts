/**
 * Label and field selectors as the API server parses them from `?labelSelector=` and `?fieldSelector=`
 * (k8s.io/apimachinery/pkg/labels and /fields): `=`, `==`, `!=`, `in (...)`, `notin (...)`, `key`, `!key`.
 */
import { ApiError } from './status.js';

export type LabelRequirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export interface FieldRequirement {
  op: 'eq' | 'neq';
  field: string;
  value: string;
}

/** Splits on commas that are not inside parentheses (`env in (a,b),tier`). */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function invalidSelector(kind: string, selector: string, why: string): ApiError {
  return ApiError.badRequest(`unable to parse requirement: ${kind} selector "${selector}": ${why}`);
}

export function parseLabelSelector(selector: string | null | undefined): LabelRequirement[] {
  if (!selector) return [];
  return splitTerms(selector).map((term): LabelRequirement => {
    const setMatch = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (setMatch) {
      const values = setMatch[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      return { op: setMatch[2] === 'in' ? 'in' : 'notin', key: setMatch[1]!, values };
    }
    const neq = /^([^\s!=()]+)\s*!=\s*([^\s!=()]*)$/.exec(term);
    if (neq) return { op: 'neq', key: neq[1]!, value: neq[2]! };
    const eq = /^([^\s!=()]+)\s*==?\s*([^\s!=()]*)$/.exec(term);
    if (eq) return { op: 'eq', key: eq[1]!, value: eq[2]! };
    const notExists = /^!\s*([^\s!=()]+)$/.exec(term);
    if (notExists) return { op: 'notexists', key: notExists[1]! };
    if (/^[^\s!=()]+$/.test(term)) return { op: 'exists', key: term };
    throw invalidSelector('label', selector, `cannot parse "${term}"`);
  });
}

export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const value = l[r.key];
    switch (r.op) {
      case 'eq':
        return has && value === r.value;
      case 'neq':
        return !has || value !== r.value;
      case 'in':
        return has && r.values.includes(value!);
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

export function parseFieldSelector(selector: string | null | undefined): FieldRequirement[] {
  if (!selector) return [];
  return splitTerms(selector).map((term): FieldRequirement => {
    const neq = /^([^\s!=]+)\s*!=\s*(.*)$/.exec(term);
    if (neq) return { op: 'neq', field: neq[1]!, value: neq[2]!.trim() };
    const eq = /^([^\s!=]+)\s*==?\s*(.*)$/.exec(term);
    if (eq) return { op: 'eq', field: eq[1]!, value: eq[2]!.trim() };
    throw invalidSelector('field', selector, `cannot parse "${term}"`);
  });
}

/** Field selectors read dotted paths (metadata.name, status.phase, spec.nodeName, involvedObject.uid, ...). */
function fieldValue(obj: unknown, field: string): string {
  let current: unknown = obj;
  for (const part of field.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}

export function matchesFields(requirements: FieldRequirement[], obj: unknown): boolean {
  return requirements.every((r) => {
    const value = fieldValue(obj, r.field);
    return r.op === 'eq' ? value === r.value : value !== r.value;
  });
}
