/** The machine report: everything, with a stable key order (cells in scenario order). */
import type { RunResult } from '../model/verdict.js';

export function renderJson(result: RunResult): string {
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
      policy: c.policy,
      outcome: c.outcome,
      pass: c.pass,
      classification: c.classification,
      reason: c.reason,
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
