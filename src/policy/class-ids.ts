/**
 * Numbering by key (pure): the engine's policed-pod classes and analyze's pod classes both give equal keys one id,
 * in order of first appearance, and keep that first index as the class's representative.
 */
import type { PodInfo } from './types.js';

export function numberByKey(keys: readonly string[]): { ids: Int32Array; reps: number[] } {
  const idOf = new Map<string, number>();
  const ids = new Int32Array(keys.length);
  const reps: number[] = [];
  keys.forEach((key, i) => {
    let id = idOf.get(key);
    if (id === undefined) {
      id = reps.length;
      idOf.set(key, id);
      reps.push(i);
    }
    ids[i] = id;
  });
  return { ids, reps };
}

/** A pod's declared container ports as one key: port matching reads nothing else of the destination. */
export function declaredPortsKey(pod: PodInfo): string {
  return pod.ports.map((p) => `${p.name ?? ''}:${p.containerPort}/${p.protocol}`).join(',');
}
