/** Who fixes a run finding and what to run next, as the reports print it beside the finding. Pure. */
import type { RunResult } from '../model/verdict.js';

/** The owner and next command of the finding with this text (findingCells carries them), if it has any. */
export function findingAction(result: Pick<RunResult, 'findingCells'>, text: string): { owner?: string; next?: string } {
  const f = (result.findingCells ?? []).find((c) => c.text === text);
  return { ...(f?.owner !== undefined ? { owner: f.owner } : {}), ...(f?.next !== undefined ? { next: f.next } : {}) };
}

/** "owner: platform team · next: kubectl ..." or undefined when the finding has neither. */
export function findingActionLine(result: Pick<RunResult, 'findingCells'>, text: string, code: (command: string) => string = (c) => c): string | undefined {
  const { owner, next } = findingAction(result, text);
  const parts = [...(owner !== undefined ? [`owner: ${owner}`] : []), ...(next !== undefined ? [`next: ${code(next)}`] : [])];
  return parts.length > 0 ? parts.join(' · ') : undefined;
}
