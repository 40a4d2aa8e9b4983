/**
 * Reading a YAML document node by node with file:line:column on every error (pure): mappings with
 * known keys, required fields, non-empty strings, aliases resolved. The scenario parser is built on it.
 */
import { isAlias, isMap, isScalar, type Document, type LineCounter, type Node as YamlNode, type Scalar } from 'yaml';
import { ScenarioError, type SourceLocation } from '../model/errors.js';
import { formatSuggestion } from './nearest-name.js';

/** A parsed YAML document and what turns its offsets into file:line:column. */
export interface Reader {
  file: string;
  lines: LineCounter;
  doc: Document;
}

/** A key/value pair of a mapping, with the key's scalar kept for error locations. */
export interface Field {
  key: Scalar;
  name: string;
  value: YamlNode | null;
}

export function resolve(r: Reader, node: YamlNode | null | undefined): YamlNode | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(r.doc) as YamlNode | undefined) ?? null;
  return node;
}

export function locateOffset(r: Reader, offset: number): SourceLocation {
  const { line, col } = r.lines.linePos(offset);
  return { file: r.file, line, column: col };
}

export function locate(r: Reader, node: YamlNode | null | undefined): SourceLocation {
  const range = node?.range;
  return range ? locateOffset(r, range[0]) : { file: r.file };
}

/** The key text at an offset, for YAML errors that carry only a position. */
export function readWordAt(text: string, offset: number): string {
  const rest = text.slice(offset);
  const quoted = /^(["'])(.*?)\1/.exec(rest);
  if (quoted) return quoted[2] ?? '';
  return /^[^:\s,}\]]*/.exec(rest)?.[0] ?? '';
}

/** Reads a mapping; `keyNode` locates the error when the value is missing altogether. */
export function readMap(r: Reader, node: YamlNode | null, what: string, keyNode?: YamlNode): Field[] {
  const map = resolve(r, node);
  if (map === null || (isScalar(map) && map.value === null)) {
    throw new ScenarioError(locate(r, keyNode ?? map), `${what} is empty; expected a mapping`);
  }
  if (!isMap(map)) throw new ScenarioError(locate(r, map), `${what} must be a mapping (key: value)`);
  return map.items.map((pair) => {
    const key = pair.key as YamlNode | null;
    if (key === null || !isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
      throw new ScenarioError(locate(r, key ?? map), `${what}: keys must be plain names`);
    }
    return { key, name: String(key.value), value: resolve(r, pair.value as YamlNode | null) };
  });
}

export function checkKeys(r: Reader, fields: Field[], allowed: string[], where: string): void {
  for (const f of fields) {
    if (!allowed.includes(f.name)) {
      throw new ScenarioError(locate(r, f.key), `unknown key \`${f.name}\` ${where}${formatSuggestion(f.name, allowed)}`);
    }
  }
}

/** Keys valid on some target kinds but not this one get a reason rather than "unknown key". */
export function rejectKeys(r: Reader, fields: Field[], what: string, kindText: string, reasons: Record<string, string>): void {
  for (const f of fields) {
    const reason = reasons[f.name];
    if (reason !== undefined) throw new ScenarioError(locate(r, f.key), `${what}: ${kindText} ${reason}`);
  }
}

export function findField(fields: Field[], name: string): Field | undefined {
  return fields.find((f) => f.name === name);
}

export function requireField(fields: Field[], name: string, at: SourceLocation, what?: string, hint = ''): Field {
  const field = findField(fields, name);
  if (field) return field;
  throw new ScenarioError(at, `${what === undefined ? '' : `${what}: `}missing \`${name}\`${hint}`);
}

export function readString(r: Reader, field: Field, what: string): string {
  const value = field.value !== null && isScalar(field.value) ? field.value.value : undefined;
  if (typeof value !== 'string' || value === '') {
    const shown = value === undefined || value === null ? 'empty' : `\`${String(value)}\``;
    throw new ScenarioError(locate(r, field.value ?? field.key), `${what} must be a non-empty string, not ${shown}`);
  }
  return value;
}

export function failIf(r: Reader, node: YamlNode | null, reason: string | undefined, prefix: string): void {
  if (reason !== undefined) throw new ScenarioError(locate(r, node), `${prefix}${reason}`);
}
