/**
 * "Did you mean …?" for typos in keys and names. Optimal-string-alignment distance (Levenshtein plus
 * adjacent transpositions, so `namsepace` is one edit from `namespace`), compared case-insensitively.
 */
import { measureEditDistance } from '../model/edit-distance.js';

export { measureEditDistance };

/** The closest candidate within a small distance (1 for short words, 2 otherwise), or undefined. Ties: first listed. */
export function findNearestName(word: string, candidates: readonly string[]): string | undefined {
  const needle = word.toLowerCase();
  const limit = needle.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = measureEditDistance(needle, name.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** `; did you mean \`x\`?` or the empty string. */
export function formatSuggestion(word: string, candidates: readonly string[]): string {
  const nearest = findNearestName(word, candidates);
  return nearest === undefined ? '' : `; did you mean \`${nearest}\`?`;
}
