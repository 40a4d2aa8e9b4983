/**
 * "Did you mean …?" for typos in keys and names. Optimal-string-alignment distance (Levenshtein plus
 * adjacent transpositions, so `namsepace` is one edit from `namespace`), compared case-insensitively.
 */

export function measureEditDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

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
