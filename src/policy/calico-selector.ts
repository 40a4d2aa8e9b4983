/**
 * Calico's selector language, ported from the pinned Calico (v3.28 branch, commit a0db560f0520):
 * libcalico-go/lib/selector/tokenizer/tokenizer.go and parser/parser.go, parser/ast.go. Pure.
 *
 * Grammar (lowest precedence first): or := and ('||' and)*; and := op ('&&' op)*;
 * op := '!'* ( has(k) | all() | global() | k == s | k != s | k contains s | k starts with s | k ends with s
 *        | k in {s, ...} | k not in {s, ...} | '(' or ')' ).
 * Tokenizer details kept from Calico: whitespace is space and tab only (a newline is an error); strings are
 * '…' or "…" with no escapes; a label key is [a-zA-Z0-9_./-]{1,512}; after a label the operator words may be
 * written without spaces (`startswith`, `notin`); an empty selector is all().
 * Evaluation (ast.go): `k == v` and `k in {}` need the label; `k != v` and `k not in {}` hold when the label is
 * absent; `global()` evaluates true (its "non-namespaced only" meaning comes from how Calico rewrites a
 * namespaceSelector, see calico-policy.ts). netcheck adds a third value: a label whose value it cannot know
 * (see `LabelSource`) makes the answer `unknown` unless the rest of the expression decides it.
 */

export type Tri = true | false | 'unknown';

export const triNot = (a: Tri): Tri => (a === 'unknown' ? 'unknown' : !a);
export const triAnd = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === 'unknown' || b === 'unknown' ? 'unknown' : true);
export const triOr = (a: Tri, b: Tri): Tri => (a === true || b === true ? true : a === 'unknown' || b === 'unknown' ? 'unknown' : false);

export type SelectorNode =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; key: string }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; key: string; value: string }
  | { op: 'in' | 'not in'; key: string; values: string[] }
  | { op: 'not'; operand: SelectorNode }
  | { op: 'and' | 'or'; operands: SelectorNode[] };

export interface CalicoSelector {
  readonly text: string;
  readonly root: SelectorNode;
}

/** A selector that does not parse: `column` is 1-based into the selector text. */
export class CalicoSelectorError extends Error {
  readonly column: number;
  constructor(selector: string, column: number, what: string) {
    super(`selector ${JSON.stringify(selector)}: ${what} at column ${column}`);
    this.name = 'CalicoSelectorError';
    this.column = column;
  }
}

type TokenKind =
  | 'label' | 'string' | '{' | '}' | ',' | '==' | '!=' | 'in' | 'not in' | '!' | 'contains' | 'starts with' | 'ends with'
  | 'all' | 'has' | '(' | ')' | '&&' | '||' | 'global' | 'eof';

interface Token {
  kind: TokenKind;
  value?: string;
  /** 0-based offset in the selector text. */
  at: number;
}

const LABEL_KEY = /^[a-zA-Z0-9_./-]{1,512}/;
const AFTER_LABEL: Array<[RegExp, TokenKind]> = [
  [/^contains/, 'contains'],
  [/^starts[ \t]*with/, 'starts with'],
  [/^ends[ \t]*with/, 'ends with'],
  [/^not[ \t]*in\b/, 'not in'],
  [/^in\b/, 'in'],
];
const HAS = /^has\([ \t]*([a-zA-Z0-9_./-]{1,512})[ \t]*\)/;
const ALL = /^all\([ \t]*\)/;
const GLOBAL = /^global\([ \t]*\)/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new CalicoSelectorError(text, i + 1, what);
  };
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) {
      tokens.push({ kind: 'eof', at: i });
      return tokens;
    }
    const c = text[i] as string;
    const at = i;
    const rest = text.slice(i);
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    if ('(){},'.includes(c)) {
      tokens.push({ kind: c as TokenKind, at });
      i++;
      continue;
    }
    if (c === '=' || c === '&' || c === '|') {
      if (text[i + 1] !== c) fail(`expected ${c}${c}`);
      tokens.push({ kind: c === '=' ? '==' : c === '&' ? '&&' : '||', at });
      i += 2;
      continue;
    }
    if (c === '!') {
      const ne = text[i + 1] === '=';
      tokens.push({ kind: ne ? '!=' : '!', at });
      i += ne ? 2 : 1;
      continue;
    }
    const last = tokens[tokens.length - 1];
    if (last?.kind === 'label') {
      // After a label only an operator word may follow (Calico: "was expecting an operator").
      const found = AFTER_LABEL.map(([re, kind]) => [re.exec(rest), kind] as const).find(([m]) => m !== null);
      if (!found) fail(`unexpected characters after label '${last.value}', was expecting an operator`);
      const [m, kind] = found as readonly [RegExpExecArray, TokenKind];
      tokens.push({ kind, at });
      i += m[0].length;
      continue;
    }
    let m = HAS.exec(rest);
    if (m) {
      tokens.push({ kind: 'has', value: m[1] as string, at });
      i += m[0].length;
      continue;
    }
    for (const [re, kind] of [[ALL, 'all'], [GLOBAL, 'global'], [LABEL_KEY, 'label']] as const) {
      m = re.exec(rest);
      if (m) {
        tokens.push(kind === 'label' ? { kind, value: m[0], at } : { kind, at });
        i += m[0].length;
        break;
      }
    }
    if (!m) fail('unexpected characters');
  }
}

/** Parses a Calico selector; throws CalicoSelectorError (with the column) when Calico would reject it. */
export function parseCalicoSelector(text: string): CalicoSelector {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const fail = (what: string): never => {
    throw new CalicoSelectorError(text, peek().at + 1, what);
  };
  const describe = (t: Token): string => (t.kind === 'eof' ? 'end of selector' : t.kind === 'label' || t.kind === 'string' ? `${t.kind} ${JSON.stringify(t.value)}` : `'${t.kind}'`);
  const stringLiteral = (): string => {
    const t = peek();
    if (t.kind !== 'string') fail(`expected a quoted string, found ${describe(t)}`);
    pos++;
    return t.value as string;
  };

  const operation = (): SelectorNode => {
    let negated = false;
    while (peek().kind === '!') {
      negated = !negated;
      pos++;
    }
    const t = peek();
    let node: SelectorNode;
    switch (t.kind) {
      case 'has':
        pos++;
        node = { op: 'has', key: t.value as string };
        break;
      case 'all':
      case 'global':
        pos++;
        node = { op: t.kind };
        break;
      case 'label': {
        pos++;
        const key = t.value as string;
        const operator = peek();
        switch (operator.kind) {
          case '==':
          case '!=':
          case 'contains':
          case 'starts with':
          case 'ends with':
            pos++;
            node = { op: operator.kind, key, value: stringLiteral() };
            break;
          case 'in':
          case 'not in': {
            pos++;
            if (peek().kind !== '{') fail(`expected a set literal {...} after '${operator.kind}'`);
            pos++;
            const values: string[] = [];
            while (peek().kind === 'string') {
              values.push(peek().value as string);
              pos++;
              if (peek().kind !== ',') break;
              pos++;
            }
            if (peek().kind !== '}') fail(`expected } to close the set, found ${describe(peek())}`);
            pos++;
            node = { op: operator.kind, key, values: [...new Set(values)].sort() };
            break;
          }
          default:
            return fail(`expected an operator (==, !=, in, not in, contains, starts with, ends with) after label '${key}', found ${describe(operator)}`);
        }
        break;
      }
      case '(': {
        pos++;
        node = or();
        if (peek().kind !== ')') fail(`expected ), found ${describe(peek())}`);
        pos++;
        break;
      }
      default:
        return fail(`unexpected ${describe(t)}`);
    }
    return negated ? { op: 'not', operand: node } : node;
  };
  const chain = (kind: '&&' | '||', op: 'and' | 'or', next: () => SelectorNode): SelectorNode => {
    const operands = [next()];
    while (peek().kind === kind) {
      pos++;
      operands.push(next());
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { op, operands };
  };
  const and = (): SelectorNode => chain('&&', 'and', operation);
  const or = (): SelectorNode => chain('||', 'or', and);

  if (peek().kind === 'eof') return { text, root: { op: 'all' } };
  const root = or();
  if (peek().kind !== 'eof') fail(`unexpected ${describe(peek())} after the expression`);
  return { text, root };
}

/**
 * Labels as a selector sees them. `get` returns undefined for an absent label and `unknown` for a label whose
 * presence or value netcheck cannot know (e.g. a ServiceAccount's own labels, which it does not read).
 */
export interface LabelSource {
  get(key: string): string | undefined | typeof UNKNOWN_LABEL;
}
export const UNKNOWN_LABEL: unique symbol = Symbol('unknown label');

export function labelSource(labels: Readonly<Record<string, string>>, isUnknown: (key: string) => boolean = () => false): LabelSource {
  return {
    get: (key) => (Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : isUnknown(key) ? UNKNOWN_LABEL : undefined),
  };
}

/** Evaluates a parsed selector, as Calico's ast.go does, with `unknown` for labels netcheck cannot know. */
export function evaluateSelector(node: SelectorNode, labels: LabelSource): Tri {
  const valueTest = (key: string, present: (v: string) => boolean, absent: boolean): Tri => {
    const v = labels.get(key);
    if (v === UNKNOWN_LABEL) return 'unknown';
    return v === undefined ? absent : present(v);
  };
  switch (node.op) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return valueTest(node.key, () => true, false);
    case '==':
      return valueTest(node.key, (v) => v === node.value, false);
    case '!=':
      return valueTest(node.key, (v) => v !== node.value, true);
    case 'contains':
      return valueTest(node.key, (v) => v.includes(node.value), false);
    case 'starts with':
      return valueTest(node.key, (v) => v.startsWith(node.value), false);
    case 'ends with':
      return valueTest(node.key, (v) => v.endsWith(node.value), false);
    case 'in':
      return valueTest(node.key, (v) => node.values.includes(v), false);
    case 'not in':
      return valueTest(node.key, (v) => !node.values.includes(v), true);
    case 'not':
      return triNot(evaluateSelector(node.operand, labels));
    case 'and':
      return node.operands.reduce<Tri>((acc, o) => (acc === false ? false : triAnd(acc, evaluateSelector(o, labels))), true);
    case 'or':
      return node.operands.reduce<Tri>((acc, o) => (acc === true ? true : triOr(acc, evaluateSelector(o, labels))), false);
  }
}

/** Label keys a selector reads (for saying which unknown label made an answer unknown). */
export function selectorKeys(node: SelectorNode): string[] {
  switch (node.op) {
    case 'all':
    case 'global':
      return [];
    case 'not':
      return selectorKeys(node.operand);
    case 'and':
    case 'or':
      return [...new Set(node.operands.flatMap(selectorKeys))];
    default:
      return [node.key];
  }
}

/** Rewrites label keys (Calico's prefixing of namespace / service-account selectors) and all()/global(). */
export function mapSelector(node: SelectorNode, key: (k: string) => string, leaf: (n: { op: 'all' | 'global' }) => SelectorNode = (n) => n): SelectorNode {
  switch (node.op) {
    case 'all':
    case 'global':
      return leaf(node);
    case 'not':
      return { op: 'not', operand: mapSelector(node.operand, key, leaf) };
    case 'and':
    case 'or':
      return { op: node.op, operands: node.operands.map((o) => mapSelector(o, key, leaf)) };
    default:
      return { ...node, key: key(node.key) };
  }
}

const quote = (s: string): string => (s.includes('"') ? `'${s}'` : `"${s}"`);

/** Calico's canonical form (ast.go String()): `a == "b"`, sets sorted, every `&&`/`||` group parenthesised. */
export function formatSelector(node: SelectorNode): string {
  switch (node.op) {
    case 'all':
    case 'global':
      return `${node.op}()`;
    case 'has':
      return `has(${node.key})`;
    case 'in':
    case 'not in':
      return `${node.key} ${node.op} {${node.values.map(quote).join(', ')}}`;
    case 'not':
      return `!${formatSelector(node.operand)}`;
    case 'and':
    case 'or': {
      return `(${node.operands.map(formatSelector).join(node.op === 'and' ? ' && ' : ' || ')})`;
    }
    default:
      return `${node.key} ${node.op} ${quote(node.value)}`;
  }
}
