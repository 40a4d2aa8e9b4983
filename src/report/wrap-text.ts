/** Word wrapping for the plain-text reports (the run's table, the DNS chain). Pure. */

/** Word-wrap to `width` (a word longer than the line stays whole); continuation lines get `indent`, the first line `first`. */
export function wrap(text: string, width: number, indent: string, first = ''): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    const candidate = line.trim() === '' ? line + word : `${line} ${word}`;
    if (candidate.length > width && line.trim() !== '') {
      lines.push(line);
      line = indent + word;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines;
}
