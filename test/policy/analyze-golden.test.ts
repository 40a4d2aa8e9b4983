/**
 * Golden outputs of `analyze` on a small fixture. Regenerate deliberately with
 * `UPDATE_GOLDEN=1 npx vitest run test/policy/analyze-golden.test.ts` and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeSnapshot, type AnalyzeOptions } from '../../src/policy/analyze.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import { renderAnalysisJson, renderAnalysisTable } from '../../src/report/render-matrix.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'policy', 'small');
const files = ['namespaces.yaml', 'workloads.yaml', 'policies.yaml'].map((f) => ({
  path: `test/fixtures/policy/small/${f}`,
  text: readFileSync(join(dir, f), 'utf8'),
}));

function golden(name: string, actual: string): void {
  const path = join(dir, '..', 'golden', name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

const cases: Array<{ golden: string; options: AnalyzeOptions; format: 'table' | 'json' }> = [
  { golden: 'analyze.table.txt', options: {}, format: 'table' },
  { golden: 'analyze.json', options: { explain: true }, format: 'json' },
  { golden: 'analyze-port-pg.table.txt', options: { port: 'pg' }, format: 'table' },
  { golden: 'analyze-port-53-udp.table.txt', options: { port: 53, protocol: 'UDP' }, format: 'table' },
];

describe('analyze goldens', () => {
  const { snapshot, skipped } = snapshotFromManifestFiles(files);
  for (const c of cases) {
    it(c.golden, () => {
      const analysis = analyzeSnapshot(snapshot, c.options);
      golden(c.golden, c.format === 'json' ? renderAnalysisJson(analysis, skipped) : renderAnalysisTable(analysis, skipped));
    });
  }

  it('json has one cell per ordered pod pair and declared destination port, self pairs included', () => {
    const analysis = analyzeSnapshot(snapshot, {});
    const declared = snapshot.pods.reduce((sum, p) => sum + new Set(p.ports.map((cp) => `${cp.containerPort}/${cp.protocol}`)).size, 0);
    expect(analysis.cells).toHaveLength(snapshot.pods.length * declared);
    expect(analysis.cells.filter((c) => c.from === c.to).length).toBe(declared);
  });

  it('a named --port yields one cell per pair, port null where the destination lacks the name', () => {
    const analysis = analyzeSnapshot(snapshot, { port: 'pg' });
    expect(analysis.cells).toHaveLength(snapshot.pods.length ** 2);
    const toWeb = analysis.cells.filter((c) => c.to === 'shop/web');
    expect(toWeb.every((c) => c.port === null && !c.allowed)).toBe(true);
    expect(analysis.cells.find((c) => c.from === 'shop/web' && c.to === 'shop/db')).toMatchObject({ port: 5432, allowed: true });
  });
});
