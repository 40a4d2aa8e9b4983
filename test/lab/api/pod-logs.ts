/** A pod's captured stdout+stderr, readable at once and followable until its container ends. */
export class PodLog {
  private readonly chunks: Buffer[] = [];
  private readonly followers = new Set<{ onChunk: (chunk: Buffer) => void; onEnd: () => void }>();
  private ended = false;

  append(chunk: Buffer): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    for (const f of [...this.followers]) f.onChunk(chunk);
  }

  /** The container ended (exit, kill, deletion): followers' streams close. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const f of [...this.followers]) f.onEnd();
    this.followers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Subscribes for chunks appended from now on; onEnd is called at once if already ended. */
  follow(onChunk: (chunk: Buffer) => void, onEnd: () => void): () => void {
    if (this.ended) {
      onEnd();
      return () => undefined;
    }
    const follower = { onChunk, onEnd };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }
}

/** The last `n` lines of a log (kubectl logs --tail). */
export function tailLines(text: Buffer, n: number): Buffer {
  if (n < 0) return text;
  const s = text.toString('utf8');
  const lines = s.split('\n');
  const trailing = s.endsWith('\n');
  if (trailing) lines.pop();
  const kept = n === 0 ? [] : lines.slice(-n);
  return Buffer.from(kept.join('\n') + (trailing && kept.length > 0 ? '\n' : ''), 'utf8');
}
