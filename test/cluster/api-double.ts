/**
 * A scripted double of the Kubernetes API for the tests of netcheck's API client itself (src/cluster): what a
 * real API server cannot be made to do on cue. Plain node:http on 127.0.0.1 (the client speaks http to a local
 * server), no root, no namespaces. It keeps pods in memory with resourceVersions and a bounded watch history,
 * and makes every created pod Running at once (its "kubelet"); nothing else of Kubernetes is modelled —
 * Kubernetes' own behaviour is tested on the real cluster (test/e2e/cluster-layer.test.ts).
 *
 * Faults, set at any time with `script()`:
 * - `failNext`: the next requests answer, in order, with a connection reset, 503 or 429 (Retry-After: 0);
 * - `downAfterRequests`: after that many more requests, every connection is destroyed;
 * - `watchCutAfterEvents`: each watch stream ends after that many events;
 * - `historyLimit` (at start): events kept for watches; resuming from an older resourceVersion gets an in-stream
 *   410 Expired, as an API server answers after compaction.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type RequestFault = 'reset' | '503' | '429';

export interface DoubleScript {
  failNext?: RequestFault[];
  downAfterRequests?: number | undefined;
  watchCutAfterEvents?: number | undefined;
}

interface StoredPod {
  metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion: string; uid: string; creationTimestamp: string };
  spec: Record<string, unknown>;
  status: { phase: string; podIP?: string; conditions?: unknown[] };
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: StoredPod;
}

export interface ApiDouble {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Requests received so far (every attempt of a retried request counts). */
  requests(): number;
  /** Watches answered with 410 Expired so far. */
  expired(): number;
  script(script: DoubleScript): void;
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string): string => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

/** Equality selectors only (`a=b,c=d`): what netcheck's run selectors use. */
function matches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=') as [string, string | undefined];
    return value === undefined ? key in labels : labels[key] === value;
  });
}

export async function startApiDouble(options: { historyLimit?: number } = {}): Promise<ApiDouble> {
  const historyLimit = options.historyLimit ?? 1_000;
  const pods = new Map<string, StoredPod>();
  const history: WatchEvent[] = [];
  const watchers = new Set<(event: WatchEvent) => void>();
  const sockets = new Set<Socket>();
  let rv = 1;
  let requests = 0;
  let expired = 0;
  let plan: Required<Pick<DoubleScript, 'failNext'>> & Omit<DoubleScript, 'failNext'> = { failNext: [] };
  let downAt: number | undefined;

  const record = (type: WatchEvent['type'], pod: StoredPod): void => {
    pod.metadata.resourceVersion = String(++rv);
    const event = { rv, type, pod: structuredClone(pod) };
    history.push(event);
    if (history.length > historyLimit) history.shift();
    for (const watcher of watchers) watcher(event);
  };

  const list = (res: ServerResponse, namespace: string | undefined, selector: string | null): void => {
    const items = [...pods.values()].filter((p) => (namespace === undefined || p.metadata.namespace === namespace) && matches(p.metadata.labels, selector));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items }));
  };

  const watch = (req: IncomingMessage, res: ServerResponse, namespace: string | undefined, selector: string | null, from: number): void => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const oldest = history[0]?.rv ?? rv + 1;
    if (from < rv && from + 1 < oldest) {
      expired++;
      res.end(`${JSON.stringify({ type: 'ERROR', object: JSON.parse(status(410, 'Expired', `too old resource version: ${from} (${oldest - 1})`)) })}\n`);
      return;
    }
    let sent = 0;
    const cutAfter = plan.watchCutAfterEvents;
    const send = (event: WatchEvent): void => {
      if (res.writableEnded || event.rv <= from) return;
      if ((namespace !== undefined && event.pod.metadata.namespace !== namespace) || !matches(event.pod.metadata.labels, selector)) return;
      res.write(`${JSON.stringify({ type: event.type, object: event.pod })}\n`);
      if (cutAfter !== undefined && ++sent >= cutAfter) res.end();
    };
    for (const event of history) send(event);
    watchers.add(send);
    const stop = (): void => void watchers.delete(send);
    res.on('close', stop);
    req.on('close', stop);
  };

  const create = async (req: IncomingMessage, res: ServerResponse, namespace: string): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> };
    const key = `${namespace}/${manifest.metadata.name}`;
    if (pods.has(key)) {
      res.writeHead(409, { 'Content-Type': 'application/json' }).end(status(409, 'AlreadyExists', `pods "${manifest.metadata.name}" already exists`));
      return;
    }
    const pod: StoredPod = {
      metadata: { name: manifest.metadata.name, namespace, labels: manifest.metadata.labels ?? {}, resourceVersion: '', uid: `uid-${rv}`, creationTimestamp: new Date().toISOString() },
      spec: manifest.spec,
      status: { phase: 'Pending' },
    };
    pods.set(key, pod);
    record('ADDED', pod);
    res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify(pod));
    // The "kubelet": the pod runs at once.
    setImmediate(() => {
      if (pods.get(key) !== pod) return;
      pod.status = { phase: 'Running', podIP: `10.0.0.${pods.size}`, conditions: [{ type: 'Ready', status: 'False' }] };
      record('MODIFIED', pod);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++;
    if (downAt !== undefined && requests > downAt) {
      req.socket.destroy();
      return;
    }
    const fault = plan.failNext.shift();
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault !== undefined) {
      const code = Number(fault);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Retry-After': '0', Connection: 'close' }).end(status(code, code === 503 ? 'ServiceUnavailable' : 'TooManyRequests', 'try later'));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://double');
    const match = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+))?$/.exec(url.pathname);
    if (!match) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(status(404, 'NotFound', `the double does not serve ${url.pathname}`));
      return;
    }
    const [, namespace, name] = match as unknown as [string, string | undefined, string | undefined];
    const selector = url.searchParams.get('labelSelector');
    if (req.method === 'GET' && name === undefined) {
      if (url.searchParams.get('watch') !== null) watch(req, res, namespace, selector, Number(url.searchParams.get('resourceVersion') ?? 0));
      else list(res, namespace, selector);
    } else if (req.method === 'POST' && namespace !== undefined && name === undefined) {
      await create(req, res, namespace);
    } else if (name !== undefined && (req.method === 'GET' || req.method === 'DELETE')) {
      const pod = pods.get(`${namespace}/${name}`);
      if (!pod) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(status(404, 'NotFound', `pods "${name}" not found`));
        return;
      }
      if (req.method === 'DELETE') {
        pods.delete(`${namespace}/${name}`);
        record('DELETED', pod);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(pod));
    } else {
      res.writeHead(405, { 'Content-Type': 'application/json' }).end(status(405, 'MethodNotAllowed', `${req.method} ${url.pathname}`));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end(status(500, 'InternalError', String(error)));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    expired: () => expired,
    script(script) {
      plan = { ...plan, ...script, failNext: [...(script.failNext ?? plan.failNext)] };
      if ('downAfterRequests' in script) downAt = script.downAfterRequests === undefined ? undefined : requests + script.downAfterRequests;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
