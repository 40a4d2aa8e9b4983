/**
 * Calico policies (projectcalico.org/v3 and crd.projectcalico.org/v1 GlobalNetworkPolicy / NetworkPolicy):
 * read, and judged only as to whether they *may select* a pod. netcheck does not evaluate their rules. Calico
 * evaluates them by tier and `order` together with the Kubernetes NetworkPolicies (which it places at order 1000
 * of the default tier); the first Allow, Deny or Pass that matches wins, whichever kind it comes from. So where
 * one may select an end of a flow, the Kubernetes-only verdict is not the last word.
 *
 * Selectors are Calico's expression language (docs.tigera.io, "Selectors" in the NetworkPolicy reference):
 * `k == 'v'`, `k != 'v'`, `has(k)`, `!has(k)`, `k in {'a','b'}`, `k not in {...}`, `k contains 's'`,
 * `k starts with 's'`, `k ends with 's'`, `all()`, `global()`, `!`, `&&`, `||`, parentheses. The answer is
 * three-valued: what cannot be parsed or decided is "unknown", and unknown counts as "may select", so the
 * check errs towards warning. A missing or empty selector selects all endpoints (of the namespace, for a
 * namespaced policy). Calico adds `projectcalico.org/namespace` to every pod's labels; it is honoured here.
 */
import type { Direction, Labels, OtherPolicy, PodInfo } from './types.js';

type Tri = true | false | 'unknown';

const not = (a: Tri): Tri => (a === 'unknown' ? 'unknown' : !a);
const and = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === 'unknown' || b === 'unknown' ? 'unknown' : true);
const or = (a: Tri, b: Tri): Tri => (a === true || b === true ? true : a === 'unknown' || b === 'unknown' ? 'unknown' : false);

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'op'; v: string };

function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return undefined;
      tokens.push({ t: 'str', v: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      tokens.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('!(){},'.includes(c)) {
      tokens.push({ t: 'op', v: c });
      i++;
      continue;
    }
    const m = /^[A-Za-z0-9_./-]+/.exec(text.slice(i));
    if (!m) return undefined;
    tokens.push({ t: 'word', v: m[0] });
    i += m[0].length;
  }
  return tokens;
}

/** Evaluates a Calico selector against labels; `unknown` for what it cannot parse or does not model. */
export function evaluateCalicoSelector(selector: string, labels: Labels): Tri {
  if (selector.trim() === '') return true;
  const tokens = tokenize(selector);
  if (!tokens) return 'unknown';
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => peek()?.t === 'op' && peek()?.v === v;
  const isWord = (v: string): boolean => peek()?.t === 'word' && peek()?.v === v;
  const fail = (): never => {
    throw new SyntaxError(`unexpected token at ${pos}`);
  };
  const expect = (v: string): void => {
    if (!isOp(v)) fail();
    pos++;
  };
  const str = (): string => {
    const tok = peek();
    if (tok?.t !== 'str') return fail();
    pos++;
    return tok.v;
  };
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(labels, key);

  const term = (): Tri => {
    if (isOp('!')) {
      pos++;
      return not(term());
    }
    if (isOp('(')) {
      pos++;
      const v = orExpr();
      expect(')');
      return v;
    }
    const tok = peek();
    if (tok?.t !== 'word') return fail();
    pos++;
    if (isOp('(')) {
      // all(), global(), has(key): the function forms.
      pos++;
      if (tok.v === 'all' || tok.v === 'global') {
        expect(')');
        return tok.v === 'all'; // global() selects non-namespaced endpoints (host endpoints), never a pod
      }
      if (tok.v === 'has') {
        const key = peek();
        if (key?.t !== 'word') return fail();
        pos++;
        expect(')');
        return has(key.v);
      }
      return fail();
    }
    const key = tok.v;
    const value = labels[key];
    // Operands are consumed before the comparison: `&&`/`||` short-circuits must not skip tokens.
    if (isOp('==')) {
      pos++;
      const s = str();
      return has(key) && value === s;
    }
    if (isOp('!=')) {
      pos++;
      const s = str();
      return !has(key) || value !== s;
    }
    const set = (): string[] => {
      expect('{');
      const values: string[] = [];
      while (!isOp('}')) {
        values.push(str());
        if (isOp(',')) pos++;
        else if (!isOp('}')) fail();
      }
      pos++;
      return values;
    };
    if (isWord('in')) {
      pos++;
      const values = set();
      return has(key) && values.includes(value as string);
    }
    if (isWord('not') && tokens[pos + 1]?.t === 'word' && tokens[pos + 1]?.v === 'in') {
      pos += 2;
      const values = set();
      return !has(key) || !values.includes(value as string);
    }
    if (isWord('contains')) {
      pos++;
      const s = str();
      return has(key) && (value ?? '').includes(s);
    }
    if ((isWord('starts') || isWord('ends')) && tokens[pos + 1]?.t === 'word' && tokens[pos + 1]?.v === 'with') {
      const starts = isWord('starts');
      pos += 2;
      const s = str();
      return has(key) && (starts ? (value ?? '').startsWith(s) : (value ?? '').endsWith(s));
    }
    return fail();
  };
  const andExpr = (): Tri => {
    let v = term();
    while (isOp('&&')) {
      pos++;
      v = and(v, term());
    }
    return v;
  };
  const orExpr = (): Tri => {
    let v = andExpr();
    while (isOp('||')) {
      pos++;
      v = or(v, andExpr());
    }
    return v;
  };
  try {
    const v = orExpr();
    return pos === tokens.length ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Calico's pseudo-label naming a pod's namespace, usable in any selector. */
export const CALICO_NAMESPACE_LABEL = 'projectcalico.org/namespace';

/**
 * Whether a Calico policy may select `pod` for `direction` (true also when netcheck cannot tell).
 * `namespaceLabels` gives the labels of the pod's namespace, for a GlobalNetworkPolicy's namespaceSelector.
 */
export function calicoPolicyMaySelect(policy: OtherPolicy, pod: PodInfo, direction: Direction, namespaceLabels: Labels): boolean {
  if (policy.types && !policy.types.includes(direction)) return false;
  if (policy.namespace !== undefined && policy.namespace !== pod.namespace) return false;
  const labels = { ...pod.labels, [CALICO_NAMESPACE_LABEL]: pod.namespace };
  let v = evaluateCalicoSelector(policy.selector, labels);
  if (policy.namespaceSelector !== undefined) v = and(v, evaluateCalicoSelector(policy.namespaceSelector, namespaceLabels));
  return v !== false;
}

/** "Calico GlobalNetworkPolicy deny-egress (order 100)". */
export function describeOtherPolicy(policy: OtherPolicy): string {
  const name = policy.namespace !== undefined ? `${policy.namespace}/${policy.name}` : policy.name;
  return `Calico ${policy.kind} ${name}${policy.order !== undefined ? ` (order ${policy.order})` : ''}`;
}
