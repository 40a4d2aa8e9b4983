/** Label/field selector parsing and PATCH application, with plain data. */
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError } from './status.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'app.kubernetes.io/managed-by': 'netcheck' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['tier in (front,back)', true],
    ['tier in (back)', false],
    ['tier notin (back)', true],
    ['missing notin (x)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier in (front),!missing', true],
    ['app.kubernetes.io/managed-by=netcheck', true],
  ];
  it.each(cases)('%s → %s', (selector, want) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(want);
  });

  it('rejects garbage with a 400', () => {
    expect(() => parseLabelSelector('a b c')).toThrow(ApiError);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'lab-node-a' }, status: { phase: 'Running' } };
  const cases: Array<[string, boolean]> = [
    ['metadata.name=p', true],
    ['metadata.name==q', false],
    ['metadata.namespace=ns,status.phase=Running', true],
    ['status.phase!=Running', false],
    ['spec.nodeName=lab-node-a', true],
    ['spec.missing=', true],
  ];
  it.each(cases)('%s → %s', (selector, want) => {
    expect(matchesFields(parseFieldSelector(selector), pod)).toBe(want);
  });
});

describe('patches', () => {
  const ns = { metadata: { name: 'x', labels: { a: '1', b: '2' } }, status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Gate', status: 'False' }] } };

  it('merge patch sets and removes (null) keys', () => {
    expect(applyMergePatch(ns, { metadata: { labels: { a: null, c: '3' } } }).metadata.labels).toEqual({ b: '2', c: '3' });
  });

  it('merge patch replaces lists; strategic merge merges conditions by type', () => {
    const patch = { status: { conditions: [{ type: 'Gate', status: 'True' }] } };
    expect(applyMergePatch(ns, patch).status.conditions).toEqual([{ type: 'Gate', status: 'True' }]);
    expect(applyMergePatch(ns, patch, true).status.conditions).toEqual([
      { type: 'Ready', status: 'True' },
      { type: 'Gate', status: 'True' },
    ]);
  });

  it('JSON patch adds, replaces, removes (with ~1 escapes)', () => {
    const out = applyJsonPatch(ns, [
      { op: 'add', path: '/metadata/labels/team~1name', value: 'ml' },
      { op: 'replace', path: '/metadata/labels/a', value: '9' },
      { op: 'remove', path: '/metadata/labels/b' },
    ]);
    expect(out.metadata.labels).toEqual({ a: '9', 'team/name': 'ml' });
    expect(ns.metadata.labels).toEqual({ a: '1', b: '2' });
  });
});
