/**
 * Streams generated text to a stream, batching small chunks and waiting for 'drain' when the stream is full, so
 * a large report never sits in memory whole (a pipe to a slow reader holds back the generator, not the heap).
 * A reader that went away (`| head`: EPIPE) ends the output quietly, as it does for any Unix filter.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

const BATCH = 1 << 16;

function isClosedPipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EPIPE';
}

export async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<void> {
  let failure: unknown;
  const onError = (error: unknown): void => {
    failure ??= error;
  };
  stream.on('error', onError);
  try {
    let pending: string[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const text = pending.join('');
      pending = [];
      size = 0;
      if (!stream.write(text)) await once(stream, 'drain').catch(onError);
    };
    for (const chunk of chunks) {
      if (failure !== undefined) break;
      pending.push(chunk);
      size += chunk.length;
      if (size >= BATCH) await flush();
    }
    if (failure === undefined) await flush();
    if (failure === undefined && stream.writableNeedDrain) await once(stream, 'drain').catch(onError);
  } finally {
    stream.off('error', onError);
  }
  if (failure !== undefined && !isClosedPipe(failure)) throw failure;
}
