/**
 * Probe pods whose image cannot be pulled: one run-level finding with the fix (`--image`, `--image-pull-secret`)
 * and the cells it stopped, instead of the same long registry error in every cell. Pure.
 */
import type { CellVerdict, RunFinding } from '../model/verdict.js';
import { finding } from './finding.js';
import type { RunContext } from './run-context.js';

/** Reasons src/probe/start-failure.ts gives a pod whose image could not be pulled. */
const PULL_REASON = /\b(ErrImagePull|ImagePullBackOff|ImagePullFailed|InvalidImageName|ErrImageNeverPull)\b/;

export function isImagePullCell(c: CellVerdict): boolean {
  return c.classification === 'probe' && PULL_REASON.test(c.reason);
}

/** The registry's words, without the runtime's wrapping (rpc error: code = ... desc = ...). */
function pullDetail(reason: string): string {
  const match = PULL_REASON.exec(reason);
  const after = match ? reason.slice(match.index + match[0].length).replace(/^[:\s]+/, '') : reason;
  const desc = /desc = (.*)$/.exec(after)?.[1] ?? after;
  const last = desc.split(': ').slice(-2).join(': ');
  return last.length > 120 ? `${last.slice(0, 117)}...` : last;
}

/** Each image-pull cell's reason cut to one short line; the registry's error is said once, in the finding. */
export function shortenImagePullReasons(cells: readonly CellVerdict[]): CellVerdict[] {
  return cells.map((c) => {
    if (!isImagePullCell(c)) return c;
    const why = PULL_REASON.exec(c.reason)?.[1] as string;
    const pod = /probe pod (\S+) could not start/.exec(c.reason)?.[1];
    const short = `${pod ? `pod ${pod}` : 'its pod'} could not pull its image (${why})`;
    // The observation repeats the registry's text too: the table prints it per cell.
    const outcome = c.outcome.kind === 'error' ? { ...c.outcome, message: short } : c.outcome;
    const attempts = c.attempts.map((a) => (a.outcome.kind === 'error' && PULL_REASON.test(a.outcome.message) ? { ...a, outcome: { ...a.outcome, message: short } } : a));
    return { ...c, outcome, attempts, reason: `probe did not run: ${short}: see the findings` };
  });
}

/** One finding for every cell a pull failure stopped; read before shortenImagePullReasons, to quote the registry once. */
export function findImagePullFailures(cells: readonly CellVerdict[], context: RunContext): RunFinding[] {
  const affected = cells.filter(isImagePullCell);
  if (affected.length === 0) return [];
  const nodes = [...new Set(affected.map((c) => c.node).filter((n): n is string => n !== undefined))].sort();
  const reasons = [...new Set(affected.map((c) => PULL_REASON.exec(c.reason)?.[1] as string))].sort();
  const details = affected.map((c) => c.reason).filter((r) => PULL_REASON.test(r) && /desc = |not found|denied|unauthorized/i.test(r));
  const detail = details.length > 0 ? ` (${pullDetail(details[0] as string)})` : '';
  const where = nodes.length > 0 ? ` on node(s) ${nodes.join(', ')}` : '';
  return [
    finding(
      `the probe image ${context.image} could not be pulled${where}: ${reasons.join(', ')}${detail}; ${affected.length} check(s) did not run — ` +
        'give --image with an image your nodes can pull (any image with node 18+), or --image-pull-secret NAME',
      affected,
      'probe-image',
      `netcheck run ${context.scenarioArg} --image <an image with node 18+ your nodes can pull> [--image-pull-secret NAME]`,
      `the probe image ${context.image} could not be pulled`,
    ),
  ];
}
