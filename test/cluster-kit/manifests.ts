/** Reads `--manifests` files and directories: every YAML/JSON document, `kind: List` flattened, in path order. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface ManifestObject {
  object: Record<string, any>;
  /** "file:line" of the document, for error messages. */
  source: string;
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) return listFiles(full);
      return /\.(ya?ml|json)$/.test(entry) ? [full] : [];
    });
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

export function readManifests(paths: string[]): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const file of paths.flatMap(listFiles)) {
    const text = readFileSync(file, 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as unknown;
      if (value === null || typeof value !== 'object') continue;
      const source = `${file}:${lineOf(text, doc.range[0])}`;
      const obj = value as Record<string, any>;
      if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
        for (const item of obj.items) out.push({ object: item, source });
      } else {
        out.push({ object: obj, source });
      }
    }
  }
  return out;
}
