/**
 * Calico's selector language: Calico's own parser tests, ported. The tables below are
 * libcalico-go/lib/selector/parser/parser_test.go (selectorTests, badSelectors, canonicalisationTests) of the pinned
 * Calico (github.com/projectcalico/calico@v1.11.0-cni-plugin.0.20250813170300-a0db560f0520, release-v3.28 branch),
 * copied row for row: selector, labels it must match, labels it must not match.
 */
import { describe, expect, it } from 'vitest';
import {
  CalicoSelectorError,
  evaluateSelector,
  formatSelector,
  labelSource,
  parseCalicoSelector,
} from '../../src/policy/calico-selector.js';

type Labels = Record<string, string>;
const SELECTOR_TESTS: Array<[string, Labels[], Labels[]]> = [
  ["a == \"b\"", [{"a": "b"}, {"a": "b", "c": "d"}], [{}, {"a": "c"}, {"c": "d"}]],
  ["a == \"b\" && c == \"d\"", [{"a": "b", "c": "d"}], [{}, {"a": "b", "c": "e"}, {"a": "c", "c": "d"}, {"c": "d"}, {"a": "b"}]],
  ["a == \"b\" || c == \"d\"", [{"a": "b", "c": "d"}, {"a": "b"}, {"c": "d"}], [{}, {"a": "e", "c": "e"}, {"c": "e"}, {"a": "e"}]],
  ["a in {\"'\", '\"', \"c\"}", [{"a": "c"}, {"a": "\""}, {"a": "'"}], [{}, {"a": "e"}]],
  ["a not in {\"'\", '\"', \"c\"}", [{}, {"a": "e"}], [{"a": "c"}, {"a": "\""}, {"a": "'"}]],
  ["a == 'a'", [{"a": "a"}], []],
  ["a == \"a\"", [{"a": "a"}], []],
  ["a != \"b\"", [{"a": "a"}], []],
  ["a != \"a\"", [{}], []],
  ["a contains \"a\"", [{"a": "a"}, {"a": "bab"}, {"a": "aaa", "b": "c"}], [{}, {"a": "b"}, {"b": "aaa"}]],
  ["a starts with \"a\"", [{"a": "a"}, {"a": "abb"}, {"a": "aaa", "b": "c"}], [{}, {"a": "b"}, {"a": "baa"}, {"b": "aaa"}]],
  ["a ends with \"a\"", [{"a": "a"}, {"a": "bba"}, {"a": "aaa", "b": "c"}], [{}, {"a": "b"}, {"a": "aab"}, {"b": "aaa"}]],
  ["a in {\"a\"}", [{"a": "a"}], []],
  ["!a in {\"a\"}", [{"a": "b"}], []],
  ["a in {\"a\", \"b\"}", [{"a": "a"}], []],
  ["a in {\"a\", \"b\"}", [{"a": "b"}], []],
  ["a not in {\"d\", \"e\"}", [{"a": "a"}], []],
  ["has(a)", [{"a": "b"}], []],
  ["!has(a)", [{"b": "b"}], []],
  ["", [{}], []],
  [" ", [{}], []],
  ["", [{"a": "b"}], []],
  ["all()", [{}], []],
  [" all()", [{}], []],
  [" all()", [{"a": "b"}], []],
  ["global()", [{}], []],
  [" global()", [{}], []],
  [" global()", [{"a": "b"}], []],
  ["a == 'a'", [], [{"a": "b"}]],
  ["a == 'a'", [], [{}]],
  ["a != \"a\"", [], [{"a": "a"}]],
  ["a != 'a'", [], [{"a": "a"}]],
  ["a in {\"a\"}", [], [{"a": "b"}]],
  ["a not in {\"a\"}", [], [{"a": "a"}]],
  ["a in {\"a\", \"b\"}", [], [{"a": "c"}]],
  ["has(b)", [], [{"a": "b"}]],
  ["!!has(b)", [], [{"a": "b"}]],
  ["! has(a)", [], [{"a": "b"}]],
  ["!has(a)", [], [{"a": "b"}]],
  ["!!! has(a)", [], [{"a": "b"}]],
  ["!!!has(a)", [], [{"a": "b"}]],
  ["!! ! has(a)", [], [{"a": "b"}]],
  ["! !!has(a)", [], [{"a": "b"}]],
  ["a == 'a1' && b == 'b1'", [{"a": "a1", "b": "b1"}], []],
  ["a == 'a1' && b != 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["a != 'a1' && b == 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["a != 'a1' && b != 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["a != 'a1' && !b == 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["!a == 'a1' && b == 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["has(a) && !has(b)", [{"a": "a"}], []],
  ["!has(b) && has(a)", [{"a": "a"}], []],
  ["!(!has(a) || has(b))", [{"a": "a"}], []],
  ["!(has(b) || !has(a))", [{"a": "a"}], []],
  ["a == 'a1' || b == 'b1'", [{"a": "a1", "b": "b1"}], []],
  ["a == 'a1' || b != 'b1'", [{"a": "a1", "b": "b1"}], []],
  ["a != 'a1' || b == 'b1'", [{"a": "a1", "b": "b1"}], []],
  ["a != 'a1' || b != 'b1'", [], [{"a": "a1", "b": "b1"}]],
  ["! a == 'a1' || ! b == 'b1'", [], [{"a": "a1", "b": "b1"}]],
];

const BAD_SELECTORS: string[] = [
  "b == b",
  "b contains b",
  "b starts with b",
  "b ends with b",
  "'b1' == b",
  "b",
  "a b",
  "!",
  "foo == \"bar\" &",
  "foo == \"bar\" |",
  "foo != ||",
  "foo in {\"\", ||",
  "foo in \"\"",
  "\"FOO",
  "\"FOO'",
  "\"FOO",
  "'FOO",
  "(",
  "(a == \"foo\"",
  ")",
  "()",
  "%",
  "a == \"b\" && %",
  "a == \"b\" || %",
  "a ",
  "has(foo) &&",
];

// canonicalisationTests (the UID column is Calico's hash of the canonical text; netcheck has no use for it).
const CANONICAL: Array<[string, string]> = [
  ['', 'all()'],
  [' all() ', 'all()'],
  [' (all() )', 'all()'],
  ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
  ['! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'],
  [`a == "'"`, `a == "'"`],
  [`a == '"'`, `a == '"'`],
  [`a contains '"'`, `a contains '"'`],
  [`a contains "'"`, `a contains "'"`],
  [`a startswith '"'`, `a starts with '"'`],
  [`a endswith "'"`, `a ends with "'"`],
  [`a!='"'`, `a != '"'`],
  ['a in {"d"}', 'a in {"d"}'],
  ['a in {"a", "b"}', 'a in {"a", "b"}'],
  ['a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'],
  ['a in {"z", "x", "y", "a"}', 'a in {"a", "x", "y", "z"}'],
  ['a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'],
];

const evaluate = (selector: string, labels: Labels) => evaluateSelector(parseCalicoSelector(selector).root, labelSource(labels));

describe('Calico selectorTests (parser_test.go)', () => {
  it.each(SELECTOR_TESTS)('%j', (selector, matches, nonMatches) => {
    for (const labels of matches) expect(evaluate(selector, labels), JSON.stringify(labels)).toBe(true);
    for (const labels of nonMatches) expect(evaluate(selector, labels), JSON.stringify(labels)).toBe(false);
    // "should match after canonicalising": the canonical text parses to the same answers.
    const canonical = formatSelector(parseCalicoSelector(selector).root);
    for (const labels of matches) expect(evaluate(canonical, labels)).toBe(true);
    for (const labels of nonMatches) expect(evaluate(canonical, labels)).toBe(false);
  });
});

describe('Calico badSelectors (parser_test.go): rejected, with the column', () => {
  it.each(BAD_SELECTORS)('%j', (selector) => {
    expect(() => parseCalicoSelector(selector)).toThrow(CalicoSelectorError);
  });
});

describe('Calico canonicalisationTests (parser_test.go)', () => {
  it.each(CANONICAL)('%j -> %j, and round-trips', (input, expected) => {
    const canonical = formatSelector(parseCalicoSelector(input).root);
    expect(canonical).toBe(expected);
    expect(formatSelector(parseCalicoSelector(canonical).root)).toBe(canonical);
  });
});

describe('Calico tokenizer rules kept (tokenizer.go)', () => {
  it('whitespace is space and tab only: a newline is rejected, as Calico rejects it', () => {
    expect(() => parseCalicoSelector("a == 'b'\n")).toThrow(/unexpected characters at column 9/);
    expect(evaluate("\ta == 'b'\t", { a: 'b' })).toBe(true);
  });
  it('names the column of the fault', () => {
    expect(() => parseCalicoSelector("app == 'web' && tier = 'x'")).toThrow(/expected == at column 22/);
    expect(() => parseCalicoSelector("app == 'web' && tier")).toThrow(/expected an operator .* after label 'tier', found end of selector at column 21/);
    expect(() => parseCalicoSelector('app in {"a", ||')).toThrow(/expected \} to close the set/);
  });
  it('operator words may follow a label without spaces, and `not in` may be `notin`', () => {
    expect(evaluate("a notin {'x'}", { a: 'y' })).toBe(true);
    expect(evaluate("a startswith 'x'", { a: 'xy' })).toBe(true);
  });
  it('a label key longer than 512 characters is not one label', () => {
    expect(() => parseCalicoSelector(`${'k'.repeat(513)} == 'v'`)).toThrow(CalicoSelectorError);
    expect(evaluate(`${'k'.repeat(512)} == 'v'`, { ['k'.repeat(512)]: 'v' })).toBe(true);
  });
});

describe('three-valued evaluation (netcheck): a label it cannot know', () => {
  const unknownTeam = labelSource({ app: 'web' }, (key) => key === 'team');
  const sel = (s: string) => evaluateSelector(parseCalicoSelector(s).root, unknownTeam);
  it.each([
    ["team == 'a'", 'unknown'],
    ["!has(team)", 'unknown'],
    ["team == 'a' || app == 'web'", true],
    ["team == 'a' && app == 'db'", false],
    ["team != 'a' && app == 'web'", 'unknown'],
  ] as const)('%s -> %s', (selector, expected) => {
    expect(sel(selector)).toBe(expected);
  });
});
