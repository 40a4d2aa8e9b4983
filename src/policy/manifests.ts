/**
 * Manifest files → ClusterSnapshot (pure: the caller reads the files, see src/scenario/files.ts).
 * Multi-document YAML (and JSON, which YAML 1.2 reads), items of `kind: List` and of typed lists
 * (`PodList`, `NamespaceList`, ... whose items get the list's item kind) flattened, unknown kinds
 * skipped and counted. Every error names file:line:column.
 */
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { ScenarioError } from '../model/errors.js';
import { itemsOfList, ObjectConversionError, snapshotFromObjectsDetailed } from './from-objects.js';
import type { ClusterSnapshot } from './types.js';

export interface InputFile {
  path: string;
  text: string;
}

export interface ManifestSnapshot {
  snapshot: ClusterSnapshot;
  /** Kinds that were not understood, with counts (e.g. { ConfigMap: 3 }). */
  skipped: Record<string, number>;
}

interface Located {
  object: unknown;
  file: string;
  node: Node | null;
  lineCounter: LineCounter;
}

function positionOf(lineCounter: LineCounter, node: Node | null | undefined): { line?: number; column?: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** "spec.ingress[0].ports[1].port" → ['spec', 'ingress', 0, 'ports', 1, 'port']. */
function pathKeys(path: string): Array<string | number> {
  const keys: Array<string | number> = [];
  for (const part of path.split('.')) {
    if (part === '') continue;
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      keys.push(part);
      continue;
    }
    if (m[1]) keys.push(m[1]);
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) keys.push(Number(idx[1]));
  }
  return keys;
}

/** The deepest YAML node that exists along `path`, so errors point as close as possible. */
function nodeAt(root: Node | null, path: string): Node | null {
  let node: Node | null = root;
  for (const key of pathKeys(path)) {
    let next: unknown;
    if (isMap(node)) next = node.get(key, true);
    else if (isSeq(node) && typeof key === 'number') next = node.get(key, true);
    if (!next || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}

function flatten(located: Located, out: Located[]): void {
  const { object, node } = located;
  const items = Array.isArray((object as { items?: unknown } | null)?.items) ? itemsOfList(object) : undefined;
  if (!items) {
    out.push(located);
    return;
  }
  const itemsNode = isMap(node) ? (node.get('items', true) as Node | undefined) : undefined;
  items.forEach((item, i) => {
    const itemNode = isSeq(itemsNode) ? ((itemsNode.get(i, true) as Node | undefined) ?? null) : null;
    flatten({ ...located, object: item, node: itemNode }, out);
  });
}

function parseFile(file: InputFile, out: Located[]): void {
  const lineCounter = new LineCounter();
  const docs: Document.Parsed[] = parseAllDocuments(file.text, { lineCounter, prettyErrors: false }) as Document.Parsed[];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new ScenarioError({ file: file.path, line, column: col }, `invalid YAML: ${error.message.split('\n')[0]}`, {
        cause: error,
      });
    }
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) continue; // empty document (e.g. trailing ---)
    flatten({ object, file: file.path, node: doc.contents, lineCounter }, out);
  }
}

export function snapshotFromManifestFiles(files: InputFile[]): ManifestSnapshot {
  const located: Located[] = [];
  for (const file of files) parseFile(file, located);
  const sources = located.map((l) => {
    const { line } = positionOf(l.lineCounter, l.node);
    return line === undefined ? l.file : `${l.file}:${line}`;
  });
  try {
    return snapshotFromObjectsDetailed(
      located.map((l) => l.object),
      { sources },
    );
  } catch (error) {
    if (error instanceof ObjectConversionError) {
      const l = located[error.index];
      if (l) {
        const pos = positionOf(l.lineCounter, nodeAt(l.node, error.path));
        throw new ScenarioError({ file: l.file, ...pos }, error.message, { cause: error });
      }
    }
    throw error;
  }
}
