/**
 * The one I/O edge for input files (scenarios, manifests): everything after this is pure text → data.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UsageError } from '../model/errors.js';
import type { InputFile } from '../policy/manifests.js';

async function collect(path: string, extensions: readonly string[], out: string[], explicit: boolean): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, {
      hint: 'pass a manifest file or a directory of .yaml/.yml/.json files',
      cause: error,
    });
  }
  if (info.isDirectory()) {
    const entries = await readdir(path);
    for (const entry of entries.sort()) {
      if (entry.startsWith('.')) continue;
      await collect(join(path, entry), extensions, out, false);
    }
    return;
  }
  // A file named explicitly is read whatever its extension; inside directories only known extensions count.
  if (explicit || extensions.includes(extname(path).toLowerCase())) out.push(path);
}

/** Reads files and directories (recursively, sorted); a missing path is a UsageError naming it. */
export async function readInputFiles(
  paths: string[],
  extensions: readonly string[] = ['.yaml', '.yml', '.json'],
): Promise<InputFile[]> {
  const files: string[] = [];
  for (const path of paths) await collect(path, extensions, files, true);
  const unique = [...new Set(files)];
  return Promise.all(unique.map(async (path) => ({ path, text: await readFile(path, 'utf8') })));
}
