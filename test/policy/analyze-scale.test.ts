/**
 * analyze past the cell limit: the grouped JSON document and ndjson lines give the verdicts the pod-by-pod
 * engine gives, group counts add up to the pods, and focus (--from/--to) selects what it says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareAnalysis } from '../../src/policy/analyze.js';
import { parsePodFocus } from '../../src/policy/analyze-groups.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { PodInfo } from '../../src/policy/types.js';
import { allPods, analysisJsonChunks, analysisNdjsonChunks, CELL_LIMIT, GROUPED_API_VERSION } from '../../src/report/render-analysis.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { writeScaleCluster } from '../bench/scale-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'netcheck-analyze-scale-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let loaded: Promise<{ snapshot: ReturnType<typeof snapshotFromManifestFiles>['snapshot']; skipped: Record<string, number>; written: ReturnType<typeof writeScaleCluster> }> | undefined;
/** One synthetic cluster (written and parsed once): ~270 Deployments standing for 800 pods, past the cell limit. */
function cluster() {
  loaded ??= (async () => {
    const written = writeScaleCluster(join(dir, 'deployments'), { kind: 'deployments', pods: 800, namespaces: 20, policies: 120 }, 7);
    const { snapshot, skipped } = snapshotFromManifestFiles(await readInputFiles([written.dir]));
    return { snapshot, skipped, written };
  })();
  return loaded;
}

interface Grouped {
  apiVersion: string;
  cells: number;
  sourcePods: number;
  sources: Array<{ id: number; name: string; pods: number; podNames: string[]; namespace: string }>;
  destinations: Array<{ id: number; name: string; podNames: string[]; namespace: string; ports: Array<{ port: number; protocol: string }> }>;
  flows: Array<{ from: number; port: number; protocol: string; to: number[] }>;
}

describe('analyze at scale', () => {
  it('writes the grouped document past the cell limit, with the engine verdict for every group pair and port', async () => {
    const { snapshot, skipped, written } = await cluster();
    const prepared = prepareAnalysis(snapshot);
    expect(prepared.cellCount).toBeGreaterThan(CELL_LIMIT);
    const doc = JSON.parse([...analysisJsonChunks(prepared, allPods(prepared), skipped)].join('')) as Grouped;
    expect(doc.apiVersion).toBe(GROUPED_API_VERSION);
    expect(doc.sourcePods).toBe(written.pods); // replicas counted
    expect(doc.sources.reduce((n, g) => n + g.podNames.length, 0)).toBe(snapshot.pods.length);
    const allowed = new Set(doc.flows.flatMap((f) => f.to.map((t) => `${f.from}/${t}/${f.port}/${f.protocol}`)));
    // The pod-by-pod engine (no classes) over every pod pair, per port.
    const engine = createPolicyEngine(snapshot);
    const n = snapshot.pods.length;
    const indexOf = new Map(snapshot.pods.map((p, i) => [`${p.namespace}/${p.name}`, i]));
    const matrices = new Map<string, Uint8Array>();
    const engineAllows = (from: string, to: string, port: number, protocol: string): boolean => {
      const key = `${port}/${protocol}`;
      let m = matrices.get(key);
      if (!m) matrices.set(key, (m = engine.computeMatrix(port, protocol as 'TCP').allowed));
      return m[(indexOf.get(from) as number) * n + (indexOf.get(to) as number)] === 1;
    };
    let checked = 0;
    let yes = 0;
    for (const from of doc.sources) {
      for (const to of doc.destinations) {
        for (const p of to.ports) {
          const want = engineAllows(`${from.namespace}/${from.podNames[0]}`, `${to.namespace}/${to.podNames[0]}`, p.port, p.protocol);
          if (allowed.has(`${from.id}/${to.id}/${p.port}/${p.protocol}`) !== want) throw new Error(`${from.name} -> ${to.name} ${p.port}: engine ${want}`);
          checked++;
          if (want) yes++;
        }
      }
    }
    expect(checked).toBe(prepared.cellCount);
    expect(yes).toBeGreaterThan(0);
  });

  it('focuses with --from/--to: a small focus is the explained cells document, ndjson agrees with it', async () => {
    const { snapshot, skipped } = await cluster();
    const prepared = prepareAnalysis(snapshot);
    const target = prepared.pods.findIndex((p) => p.namespace === 'ns3');
    const test = parsePodFocus(`ns3/${prepared.pods[target]?.name}`);
    if (typeof test === 'string') throw new Error(test);
    const to = prepared.pods.flatMap((p, i) => (test(p) ? [i] : []));
    expect(to).toEqual([target]);
    const focus = { from: allPods(prepared).from, to };
    const doc = JSON.parse([...analysisJsonChunks(prepared, focus, skipped)].join('')) as { cells: Array<{ to: string; allowed: boolean; ingress: unknown }> };
    expect(doc.cells.length).toBe(prepared.pods.length * (prepared.destinationPorts[target]?.length ?? 0));
    expect(doc.cells.every((c) => c.to === `ns3/${prepared.pods[target]?.name}` && c.ingress !== undefined)).toBe(true);
    const lines = [...analysisNdjsonChunks(prepared, focus)].join('').trimEnd().split('\n').map((l) => JSON.parse(l) as { allowed: boolean });
    expect(lines.map((l) => l.allowed)).toEqual(doc.cells.map((c) => c.allowed));
  });

  it('reads a focus as a namespace, a name, a workload or a label selector, and refuses a malformed one', () => {
    const pod: PodInfo = { namespace: 'shop', name: 'web', labels: { app: 'web', tier: 'front' }, ports: [], owner: 'deployment/web' };
    const picks = (spec: string): boolean => {
      const t = parsePodFocus(spec);
      if (typeof t === 'string') throw new Error(t);
      return t(pod);
    };
    expect([picks('shop'), picks('shop/web'), picks('shop/Deployment/web'), picks('app=web,tier!=db'), picks('tier,app'), picks('!db')]).toEqual([true, true, true, true, true, true]);
    expect([picks('other'), picks('shop/api'), picks('shop/statefulset/web'), picks('app=api'), picks('!tier')]).toEqual([false, false, false, false, false]);
    expect(parsePodFocus('a=(b')).toMatch(/not a label requirement/);
    expect(parsePodFocus('a/b/c/d')).toMatch(/too many slashes/);
  });
});
