/**
 * Streams generated text to a stream, batching small chunks and waiting for 'drain' when the stream is full, so
 * a large report never sits in memory whole (a pipe to a slow reader holds back the generator, not the heap).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

const BATCH = 1 << 16;

export async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<void> {
  let pending: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    size = 0;
    if (!stream.write(text)) await once(stream, 'drain');
  };
  for (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= BATCH) await flush();
  }
  await flush();
}
