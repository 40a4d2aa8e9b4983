/**
 * List-then-watch for pods, robust to cut streams: reconnect from the last resourceVersion seen
 * (bookmarks included), relist on 410 Gone and report the difference as synthetic events.
 */
import { ClusterError } from '../model/errors.js';
import { errorFromStatus, type ApiStatus } from './api-errors.js';
import { podStateFromObject, resourceVersionOf } from './pod-state.js';
import { sleep, type Transport } from './transport.js';
import type { PodEvent, PodState } from './types.js';

export interface WatchTarget {
  namespace: string | undefined;
  labelSelector: string;
}

/** Server-side watch timeout; the stream ends cleanly and we reconnect. */
const watchTimeoutSeconds = 120;
/** Consecutive streams that end without a single event before we call the server unreachable. */
const maxBarrenReconnects = 8;

/** The pods collection of a namespace, or of every namespace. */
export function podsPath(namespace: string | undefined): string {
  return namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
}

export async function watchPodsStream(
  transport: Transport,
  target: WatchTarget,
  signal: AbortSignal,
  onChange: (event: PodEvent) => void,
): Promise<void> {
  const known = new Map<string, { rv: string | undefined; pod: PodState }>();
  const subject = { resource: 'pods', namespace: target.namespace, signal };

  const relist = async (): Promise<string | undefined> => {
    const listed = await transport.json<{ metadata?: { resourceVersion?: string }; items?: unknown[] }>({
      ...subject,
      verb: 'list',
      method: 'GET',
      path: podsPath(target.namespace),
      query: { labelSelector: target.labelSelector || undefined },
    });
    const seen = new Set<string>();
    for (const item of listed.items ?? []) {
      const pod = podStateFromObject(item);
      const key = `${pod.namespace}/${pod.name}`;
      seen.add(key);
      const rv = resourceVersionOf(item);
      const before = known.get(key);
      known.set(key, { rv, pod });
      if (!before) onChange({ type: 'ADDED', pod });
      else if (before.rv !== rv || rv === undefined) onChange({ type: 'MODIFIED', pod });
    }
    for (const [key, entry] of known) {
      if (!seen.has(key)) {
        known.delete(key);
        onChange({ type: 'DELETED', pod: entry.pod });
      }
    }
    return listed.metadata?.resourceVersion;
  };

  let resourceVersion = await relist();
  let barren = 0;
  while (!signal.aborted) {
    let events = 0;
    try {
      const res = await transport.stream({
        ...subject,
        verb: 'watch',
        method: 'GET',
        path: podsPath(target.namespace),
        query: {
          watch: 1,
          labelSelector: target.labelSelector || undefined,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: watchTimeoutSeconds,
        },
      });
      // A stream that stays silent past its own server-side timeout is dead (half-open connection).
      const idle = setTimeout(() => res.destroy(), (watchTimeoutSeconds + 30) * 1000);
      let buffered = '';
      try {
        for await (const chunk of res) {
          idle.refresh();
          buffered += (chunk as Buffer).toString('utf8');
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line === '') continue;
            const event = JSON.parse(line) as { type?: string; object?: unknown };
            events++;
            switch (event.type) {
              case 'ADDED':
              case 'MODIFIED':
              case 'DELETED': {
                const pod = podStateFromObject(event.object);
                const key = `${pod.namespace}/${pod.name}`;
                resourceVersion = resourceVersionOf(event.object) ?? resourceVersion;
                if (event.type === 'DELETED') known.delete(key);
                else known.set(key, { rv: resourceVersionOf(event.object), pod });
                onChange({ type: event.type, pod });
                break;
              }
              case 'BOOKMARK':
                resourceVersion = resourceVersionOf(event.object) ?? resourceVersion;
                break;
              case 'ERROR': {
                const status = (event.object ?? {}) as ApiStatus;
                throw errorFromStatus(status.code ?? 500, status, { ...subject, verb: 'watch' }, transport.identity);
              }
              default:
                break;
            }
          }
        }
      } finally {
        clearTimeout(idle);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ClusterError) {
        if (error.reason !== 'Gone') throw error;
        resourceVersion = await relist();
        continue;
      }
      // A stream cut mid-read (connection reset, destroyed): reconnect below.
    }
    barren = events > 0 ? 0 : barren + 1;
    if (barren > maxBarrenReconnects) {
      // Each stream connected and then died at once: the relist tells us whether the server is really there.
      resourceVersion = await relist();
      barren = 0;
    }
    if (barren > 0) await sleep(Math.min(2_000, 100 * 2 ** barren), signal).catch(() => undefined);
  }
}
