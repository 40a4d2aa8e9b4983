/** Building RunFindings: text, the cells it is about, who fixes it and the command to run next. Pure. */
import type { CellRef, CellVerdict, RunFinding } from '../model/verdict.js';
import { responsibilityFor, type FaultArea } from './ownership.js';

/** A finding with its owner by the responsibility matrix and, when there is one, the command to run next. */
export function finding(text: string, cells: readonly CellVerdict[], area: FaultArea, next?: string, cause?: string): RunFinding {
  return { text, cells: cells.map(cellRef), owner: responsibilityFor(area).owner, ...(next !== undefined ? { next } : {}), ...(cause !== undefined ? { cause } : {}) };
}

/** "1 cell" / "12 cells". */
export function count(cells: readonly unknown[]): string {
  return `${cells.length} cell${cells.length === 1 ? '' : 's'}`;
}

export function cellRef(c: Pick<CellVerdict, 'source' | 'target' | 'node'>): CellRef {
  return { source: c.source, target: c.target, ...(c.node !== undefined ? { node: c.node } : {}) };
}
