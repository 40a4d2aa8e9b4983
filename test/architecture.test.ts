/**
 * The layer rules of docs/architecture.md ("Layers"), checked on the
 * import statements of src/ and probes/: a change that crosses a layer fails here, not in review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const PROBES = join(ROOT, 'probes');

/** Top to bottom as docs/architecture.md lists them: a layer may import the layers below it, and src/model. */
const LAYERS = ['cli', 'run', 'report', 'diagnose', 'probe', 'cluster', 'scenario', 'policy'] as const;
type Layer = (typeof LAYERS)[number] | 'model';

/** Layers that do no I/O, so they are tested with plain data. */
const PURE: ReadonlySet<Layer> = new Set<Layer>(['policy', 'scenario', 'report', 'diagnose', 'model']);
/** scenario's file loaders (and the built-in scenarios' directory) are the one I/O part of a pure layer. */
const PURE_EXCEPTIONS = new Set(['scenario/files.ts', 'scenario/load.ts', 'scenario/builtins.ts']);
const IO_MODULES = ['fs', 'fs/promises', 'child_process', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'tls', 'worker_threads', 'readline'];

interface SourceFile {
  /** Path below src/, e.g. "run/plan.ts". */
  path: string;
  layer: Layer;
  code: string;
  imports: string[];
  /** Imports evaluated when this file loads (not `import()`, not `import type`). */
  staticImports: string[];
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Comments removed, so a sentence that mentions `console` or an import in prose does not count. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Every module a file names: `from '…'`, `import('…')`, `import '…'` (type-only imports too). */
function importSpecifiers(code: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  return [...code.matchAll(pattern)].map((m) => m[1] as string);
}

function readSources(): SourceFile[] {
  return listTs(SRC).map((full) => {
    const path = relative(SRC, full).split('\\').join('/');
    const code = stripComments(readFileSync(full, 'utf8'));
    const staticImports = [...code.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\bfrom\s*)?['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
    return { path, layer: path.split('/')[0] as Layer, code, imports: importSpecifiers(code), staticImports };
  });
}

/** The layer a relative import lands in, or undefined for a package / node: import. */
function importedLayer(file: SourceFile, specifier: string): Layer | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = relative(SRC, resolve(SRC, dirname(file.path), specifier)).split('\\').join('/');
  return target.split('/')[0] as Layer;
}

function mayImport(from: Layer, to: Layer): boolean {
  if (to === from || to === 'model') return true;
  if (from === 'model') return false;
  if (PURE.has(from) && !PURE.has(to)) return false;
  return LAYERS.indexOf(to) > LAYERS.indexOf(from);
}

const sources = readSources();

describe('architecture (docs/architecture.md layers)', () => {
  it('reads every layer of src/', () => {
    expect(new Set(sources.map((s) => s.layer))).toEqual(new Set<Layer>([...LAYERS, 'model']));
  });

  it.each([
    ['cli', 'run', true],
    ['run', 'probe', true],
    ['probe', 'cluster', true],
    ['scenario', 'policy', true],
    ['report', 'model', true],
    ['report', 'cluster', false],
    ['diagnose', 'run', false],
    ['policy', 'scenario', false],
    ['cluster', 'probe', false],
    ['model', 'policy', false],
  ] as Array<[Layer, Layer, boolean]>)('%s may import %s: %s', (from, to, allowed) => {
    expect(mayImport(from, to)).toBe(allowed);
  });

  it('imports point only down the layer list (pure layers never reach cluster, probe, run or cli)', () => {
    const crossings = sources.flatMap((file) =>
      file.imports.flatMap((specifier) => {
        const to = importedLayer(file, specifier);
        return to !== undefined && !mayImport(file.layer, to) ? [`${file.path} imports ${specifier} (${file.layer} → ${to})`] : [];
      }),
    );
    expect(crossings).toEqual([]);
  });

  it.each([
    { what: '@kubernetes/client-node', pattern: /^@kubernetes\/client-node/, allowed: (f: SourceFile) => f.layer === 'cluster' },
    { what: 'yargs and listr2', pattern: /^(yargs|listr2)(\/|$)/, allowed: (f: SourceFile) => f.layer === 'cli' },
    {
      what: 'Node I/O modules',
      pattern: new RegExp(`^(node:)?(${IO_MODULES.join('|')})$`),
      allowed: (f: SourceFile) => !PURE.has(f.layer) || PURE_EXCEPTIONS.has(f.path),
    },
  ])('$what are imported only where allowed', ({ pattern, allowed }) => {
    const offenders = sources.filter((f) => !allowed(f) && f.imports.some((s) => pattern.test(s))).map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('the CLI loads cluster code (@kubernetes/client-node, listr2) only through import(), in the commands that use it', () => {
    // Importing them takes ~0.8 s that --help, --version and the offline commands must not pay
    // (test/cli/startup-imports.test.ts checks the same on the built CLI).
    const byPath = new Map(sources.map((f) => [f.path, f]));
    const chains: string[] = [];
    const seen = new Set<string>();
    const walk = (path: string, chain: string[]): void => {
      if (seen.has(path)) return;
      seen.add(path);
      const file = byPath.get(path);
      if (!file) return;
      for (const specifier of file.staticImports) {
        if (/^(@kubernetes\/client-node|listr2)(\/|$)/.test(specifier)) chains.push([...chain, path, specifier].join(' → '));
        if (!specifier.startsWith('.')) continue;
        const target = relative(SRC, resolve(SRC, dirname(path), specifier)).split('\\').join('/').replace(/\.js$/, '.ts');
        walk(target, [...chain, path]);
      }
    };
    walk('cli/main.ts', []);
    expect(seen.size).toBeGreaterThan(10);
    expect(chains).toEqual([]);
  });

  it.each([
    { what: 'console and process.stdout/stderr (renderers return strings)', pattern: /\bconsole\.|\bprocess\.(stdout|stderr)\b/, allowed: (f: SourceFile) => f.layer === 'cli' },
    { what: 'process.exit', pattern: /\bprocess\.exit\s*\(/, allowed: (f: SourceFile) => f.path === 'cli/main.ts' },
  ])('$what appear only where allowed', ({ pattern, allowed }) => {
    expect(sources.filter((f) => !allowed(f) && pattern.test(f.code)).map((f) => f.path)).toEqual([]);
  });
});

/**
 * probes/ (the in-pod agent) is the bottom layer: it is bundled into one file that runs alone in a pod, so it may
 * import only Node built-ins, its own files and src/model. Why a specifier breaks that, or undefined.
 */
function probesImportProblem(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return isBuiltin(specifier) ? undefined : 'not a Node built-in';
  const target = resolve(PROBES, dirname(file), specifier);
  const inside = (dir: string): boolean => !relative(dir, target).startsWith('..');
  return inside(PROBES) || inside(join(SRC, 'model')) ? undefined : `lands in ${relative(ROOT, target)}`;
}

describe('architecture (probes/, the agent)', () => {
  const probes = listTs(PROBES).map((full) => {
    const path = relative(PROBES, full).split('\\').join('/');
    const code = stripComments(readFileSync(full, 'utf8'));
    return { path, imports: importSpecifiers(code) };
  });

  it('reads the agent\'s files', () => {
    expect(probes.map((f) => f.path)).toContain('agent.ts');
  });

  it.each([
    ['node:net', undefined],
    ['net', undefined],
    ['./dns.js', undefined],
    ['../src/model/outcome.js', undefined],
    ['yaml', 'not a Node built-in'],
    ['../src/probe/agent.js', 'lands in src/probe/agent.js'],
    ['../test/probe/agent-netns.js', 'lands in test/probe/agent-netns.js'],
  ])('agent.ts may import %s: %s', (specifier, problem) => {
    expect(probesImportProblem('agent.ts', specifier)).toBe(problem);
  });

  it('probes/ imports only Node built-ins, probes/ and src/model', () => {
    const offenders = probes.flatMap((f) =>
      f.imports.flatMap((s) => {
        const problem = probesImportProblem(f.path, s);
        return problem === undefined ? [] : [`probes/${f.path} imports ${s}: ${problem}`];
      }),
    );
    expect(offenders).toEqual([]);
  });

  it('src/ never imports probes/: netcheck reads and spawns the bundled agent', () => {
    const intoProbes = (f: SourceFile, s: string): boolean =>
      s.startsWith('.') && !relative(PROBES, resolve(SRC, dirname(f.path), s)).startsWith('..');
    const offenders = sources.flatMap((f) => f.imports.filter((s) => intoProbes(f, s)).map((s) => `${f.path} imports ${s}`));
    expect(offenders).toEqual([]);
  });
});
