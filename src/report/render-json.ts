/** The machine report: everything, with a stable key order (cells in scenario order). */
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { rootCauses } from '../diagnose/root-causes.js';

export function renderJson(result: RunResult): string {
  const { causeOf } = rootCauses(result);
  const causeName = (c: CellVerdict): string | undefined => c.cause ?? causeOf.get(c)?.name;
  const document = {
    runId: result.runId,
    scenario: result.scenario,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    cluster: result.cluster,
    summary: result.summary,
    findings: result.findings ?? [],
    // Added after `findings` (kept as plain strings for existing readers): which cells each finding is about.
    findingCells: result.findingCells ?? [],
    // The DNS chain walked after the verdicts (src/model/dns-chain.ts), when a DNS cell failed.
    ...(result.dnsChains !== undefined ? { dnsChains: result.dnsChains } : {}),
    cells: result.cells.map((c) => ({
      source: c.source,
      target: c.target,
      expect: c.expect,
      // The scenario's outcome-level expectation (connected/refused/blocked/nxdomain), when it gave one.
      ...(c.expectOutcome !== undefined ? { expectOutcome: c.expectOutcome } : {}),
      policy: c.policy,
      outcome: c.outcome,
      pass: c.pass,
      classification: c.classification,
      reason: c.reason,
      // The run-level cause that explains this failing cell, in the same words for every cell it explains.
      ...(causeName(c) !== undefined ? { cause: causeName(c) } : {}),
      // What the observation says about the path (open/blocked/unknown), as the verdict read it.
      ...(c.path !== undefined ? { path: c.path } : {}),
      // The ClusterIP attempt after a name that did not resolve.
      ...(c.clusterIPRetry !== undefined ? { clusterIPRetry: c.clusterIPRetry } : {}),
      node: c.node ?? null,
      pinnedNode: c.pinnedNode ?? null,
      targetNode: c.targetNode ?? null,
      probe: c.probe ?? null,
      known: c.known ?? null,
      policyExplanation: c.policyExplanation ?? [],
      findings: c.findings ?? [],
      attempts: c.attempts,
    })),
  };
  return JSON.stringify(document, null, 2) + '\n';
}
