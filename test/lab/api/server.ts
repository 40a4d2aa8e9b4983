/**
 * The lab's Kubernetes API server: plain HTTP on 127.0.0.1, JSON bodies, `Status` errors, discovery for
 * kubectl's REST mapper, server-side Tables for `kubectl get`, `?watch=1` streams that resume from a
 * resourceVersion, and `pods/{name}/log` (with follow). API-level faults (403, API down, watch cut) live here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Faults } from '../types.js';
import { admitCreate, admitUpdate, type AdmissionContext } from './admission.js';
import { decodeProtobufObject } from './protobuf.js';
import { openApiV3Document, openApiV3Root } from './openapi.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { tailLines, type PodLog } from './pod-logs.js';
import {
  apiGroupDocument,
  apiGroupListDocument,
  apiResourceListDocument,
  apiVersionOf,
  apiVersionsDocument,
  findResource,
  isKnownGroup,
  RESOURCES,
  versionDocument,
  type ResourceDef,
} from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, successStatus } from './status.js';
import { cloneObject, type KubeObject, type ObjectStore, type StoreEvent } from './store.js';
import { renderTable, wantsTable } from './tables.js';

/** The user every request is attributed to, for RBAC-style messages. */
export const LAB_USER = 'netcheck';

export interface ApiServerDeps {
  store: ObjectStore;
  admission: AdmissionContext;
  faults(): Faults;
  podLog(uid: string): PodLog | undefined;
}

interface ResourceRequest {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  verb: string;
  query: URLSearchParams;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new ApiError(413, 'RequestEntityTooLarge', 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJsonBody(body: Buffer): any {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw ApiError.badRequest(`the body of the request is not valid JSON: ${(error as Error).message}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.code, error.toStatus());
}

function isTrue(value: string | null): boolean {
  return value === '1' || value === 'true';
}

/**
 * How a change looks through a filtered watch: an object that starts matching the selector is ADDED, one that
 * stops matching is DELETED (as the API server's watch cache reports it), otherwise the event as it happened.
 */
function selectedEventType(event: StoreEvent, matches: (obj: KubeObject) => boolean): StoreEvent['type'] | undefined {
  const now = matches(event.object);
  if (event.type !== 'MODIFIED' || !event.previous) return now ? event.type : undefined;
  const before = matches(event.previous);
  if (before && now) return 'MODIFIED';
  if (!before && now) return 'ADDED';
  if (before && !now) return 'DELETED';
  return undefined;
}

export class ApiServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchClosers = new Set<() => void>();
  private requestCount = 0;
  private port = 0;

  constructor(private readonly deps: ApiServerDeps) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`);
        sendError(res, apiError);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** "API down after N requests" counts from the moment the fault is set. */
  resetRequestCount(): void {
    this.requestCount = 0;
  }

  async close(): Promise<void> {
    for (const close of [...this.watchClosers]) close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestCount++;
    const downAfter = this.deps.faults().apiDownAfterRequests;
    if (downAfter !== undefined && this.requestCount > downAfter) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://lab');
    const segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (method === 'GET') {
      const doc = this.discovery(segments);
      if (doc !== undefined) {
        // Aggregated discovery (apidiscovery.k8s.io/v2) is asked for first; plain JSON with this content type makes clients fall back.
        sendJson(res, 200, doc);
        return;
      }
      if (segments[0] === 'openapi' && segments[1] === 'v3') {
        const doc = segments.length === 2 ? openApiV3Root() : openApiV3Document(segments.slice(2).join('/'));
        if (doc !== undefined) {
          sendJson(res, 200, doc);
          return;
        }
      }
      if (segments[0] === 'openapi') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (segments.length === 1 && ['healthz', 'livez', 'readyz'].includes(segments[0]!)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
    }
    const rr = this.parseResourcePath(segments, method, url.searchParams);
    if (!rr) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : Buffer.alloc(0);
    const json = body.length > 0 && /protobuf/.test(req.headers['content-type'] ?? '') ? Buffer.from(JSON.stringify(decodeProtobufObject(body))) : body;
    this.authorize(rr, method === 'POST' ? parseJsonBody(json)?.metadata?.name : undefined);
    await this.serveResource(rr, req, res, json);
  }

  private discovery(segments: string[]): unknown | undefined {
    const path = segments.join('/');
    if (path === 'version') return versionDocument();
    if (path === 'api') return apiVersionsDocument(`127.0.0.1:${this.port}`);
    if (path === 'api/v1') return apiResourceListDocument('', 'v1');
    if (path === 'apis') return apiGroupListDocument();
    if (segments[0] === 'apis' && segments.length === 2 && isKnownGroup(segments[1]!)) return apiGroupDocument(segments[1]!);
    if (segments[0] === 'apis' && segments.length === 3) return apiResourceListDocument(segments[1]!, segments[2]!);
    return undefined;
  }

  private parseResourcePath(segments: string[], method: string, query: URLSearchParams): ResourceRequest | undefined {
    let rest: string[];
    let group: string;
    let version: string;
    if (segments[0] === 'api' && segments[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 4) {
      group = segments[1]!;
      version = segments[2]!;
      rest = segments.slice(3);
    } else {
      return undefined;
    }
    let watchPrefix = false;
    if (rest[0] === 'watch') {
      watchPrefix = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let subresource: string | undefined;
    const isNamespaceSub = rest[0] === 'namespaces' && rest.length === 3 && ['status', 'finalize'].includes(rest[2]!);
    if (rest[0] === 'namespaces' && rest.length >= 3 && !isNamespaceSub) {
      namespace = rest[1];
      plural = rest[2]!;
      name = rest[3];
      subresource = rest[4];
    } else {
      plural = rest[0] ?? '';
      name = rest[1];
      subresource = rest[2];
    }
    const def = findResource(group, version, plural);
    if (!def) return undefined;
    if (!def.namespaced && namespace !== undefined) return undefined;
    const watch = watchPrefix || isTrue(query.get('watch'));
    let verb: string;
    switch (method) {
      case 'GET':
        verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
        break;
      case 'POST':
        verb = 'create';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = name === undefined ? 'deletecollection' : 'delete';
        break;
      default:
        throw ApiError.methodNotAllowed();
    }
    return { def, namespace, name, subresource, verb, query };
  }

  /** The forbid fault, worded as the RBAC authorizer words its denials. */
  private authorize(rr: ResourceRequest, bodyName: string | undefined): void {
    const resource = rr.subresource ? `${rr.def.plural}/${rr.subresource}` : rr.def.plural;
    const rule = this.deps.faults().forbid?.find(
      (f) => f.verb === rr.verb && f.resource === resource && (f.namespace === undefined || f.namespace === rr.namespace),
    );
    if (!rule) return;
    const scope = rr.namespace === undefined ? 'at the cluster scope' : `in the namespace "${rr.namespace}"`;
    throw ApiError.forbidden(
      rr.def.plural,
      rr.def.group,
      rr.name ?? bodyName ?? '',
      `User "${LAB_USER}" cannot ${rr.verb} resource "${resource}" in API group "${rr.def.group}" ${scope}`,
    );
  }

  private requireNamespace(rr: ResourceRequest): void {
    if (rr.def.namespaced && rr.namespace !== undefined && rr.namespace !== '') {
      if (!this.deps.store.find(RESOURCES[0]!, undefined, rr.namespace)) throw ApiError.notFound('namespaces', '', rr.namespace);
    }
  }

  private async serveResource(rr: ResourceRequest, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const { store } = this.deps;
    const { def } = rr;
    switch (rr.verb) {
      case 'get': {
        if (rr.subresource === 'log' && def.plural === 'pods') {
          this.serveLog(rr, req, res);
          return;
        }
        if (rr.subresource !== undefined && rr.subresource !== 'status') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        const obj = store.get(def, rr.namespace, rr.name!);
        if (wantsTable(req.headers.accept)) {
          sendJson(res, 200, renderTable(def, [obj], obj.metadata.resourceVersion, rr.query.get('includeObject')));
        } else {
          sendJson(res, 200, obj);
        }
        return;
      }
      case 'list': {
        const items = this.selectItems(rr);
        const rv = store.currentResourceVersion;
        if (wantsTable(req.headers.accept)) {
          sendJson(res, 200, renderTable(def, items, rv, rr.query.get('includeObject')));
        } else {
          sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: rv }, items });
        }
        return;
      }
      case 'watch':
        this.serveWatch(rr, req, res);
        return;
      case 'create': {
        if (rr.subresource !== undefined) throw ApiError.methodNotAllowed();
        this.requireNamespace(rr);
        const obj = parseJsonBody(body) as KubeObject;
        if (typeof obj !== 'object' || obj === null) throw ApiError.badRequest('the body of the request must be an object');
        obj.metadata ??= { name: '' } as unknown as KubeObject['metadata'];
        if (def.namespaced) {
          if (obj.metadata.namespace && obj.metadata.namespace !== rr.namespace) {
            throw ApiError.badRequest('the namespace of the provided object does not match the namespace sent on the request');
          }
          obj.metadata.namespace = rr.namespace;
        }
        if (obj.kind && obj.kind !== def.kind) throw ApiError.badRequest(`the kind ${obj.kind} does not match the resource ${def.plural}`);
        admitCreate(def, obj, this.deps.admission);
        if (isTrue(rr.query.get('dryRun')) || rr.query.get('dryRun') === 'All') {
          sendJson(res, 201, obj);
          return;
        }
        sendJson(res, 201, store.create(def, obj));
        return;
      }
      case 'update': {
        const existing = store.get(def, rr.namespace, rr.name!);
        const obj = parseJsonBody(body) as KubeObject;
        obj.metadata ??= { name: rr.name! } as unknown as KubeObject['metadata'];
        obj.metadata.name = rr.name!;
        if (def.namespaced) obj.metadata.namespace = rr.namespace;
        if (rr.subresource === 'status') {
          const merged = cloneObject(existing);
          merged.status = obj.status;
          merged.metadata.resourceVersion = obj.metadata.resourceVersion ?? '';
          sendJson(res, 200, store.update(def, merged));
          return;
        }
        admitUpdate(def, obj, existing);
        sendJson(res, 200, store.update(def, obj));
        return;
      }
      case 'patch': {
        const existing = store.get(def, rr.namespace, rr.name!);
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const patch = parseJsonBody(body);
        let patched: KubeObject;
        switch (contentType) {
          case 'application/merge-patch+json':
            patched = applyMergePatch(existing, patch);
            break;
          case 'application/strategic-merge-patch+json':
            patched = applyMergePatch(existing, patch, true);
            break;
          case 'application/json-patch+json':
            patched = applyJsonPatch(existing, patch);
            break;
          default:
            throw ApiError.unsupportedMediaType(contentType);
        }
        patched.metadata.name = existing.metadata.name;
        if (def.namespaced) patched.metadata.namespace = existing.metadata.namespace;
        // A patch only conflicts when it names a resourceVersion itself.
        const patchRv = patch?.metadata?.resourceVersion as string | undefined;
        patched.metadata.resourceVersion = patchRv ?? existing.metadata.resourceVersion;
        if (rr.subresource === 'status') {
          const merged = cloneObject(existing);
          merged.status = patched.status;
          merged.metadata.resourceVersion = patched.metadata.resourceVersion;
          sendJson(res, 200, store.update(def, merged));
          return;
        }
        admitUpdate(def, patched, existing);
        sendJson(res, 200, store.update(def, patched));
        return;
      }
      case 'delete': {
        const deleted = this.deleteObject(def, rr.namespace, rr.name!);
        if (def.plural === 'pods' || def.plural === 'namespaces') {
          sendJson(res, 200, deleted);
        } else {
          sendJson(res, 200, successStatus({ name: deleted.metadata.name, group: def.group, kind: def.plural, uid: deleted.metadata.uid }));
        }
        return;
      }
      case 'deletecollection': {
        const items = this.selectItems(rr).map((o) => this.deleteObject(def, o.metadata.namespace, o.metadata.name));
        sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: store.currentResourceVersion }, items });
        return;
      }
      default:
        throw ApiError.methodNotAllowed();
    }
  }

  /** Deleting a namespace deletes what it holds (the namespace controller's job, done at once here). */
  private deleteObject(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const deleted = this.deps.store.delete(def, namespace, name);
    if (def.plural === 'namespaces') {
      for (const r of RESOURCES.filter((d) => d.namespaced)) {
        for (const o of this.deps.store.list(r, name)) this.deps.store.delete(r, name, o.metadata.name);
      }
    }
    return deleted;
  }

  private matcher(rr: ResourceRequest): (obj: KubeObject) => boolean {
    const labels = parseLabelSelector(rr.query.get('labelSelector'));
    const fields = parseFieldSelector(rr.query.get('fieldSelector'));
    if (rr.name !== undefined) fields.push({ op: 'eq', field: 'metadata.name', value: rr.name });
    const ns = rr.def.namespaced ? rr.namespace : undefined;
    return (obj) =>
      (ns === undefined || obj.metadata.namespace === ns) && matchesLabels(labels, obj.metadata.labels) && matchesFields(fields, obj);
  }

  private selectItems(rr: ResourceRequest): KubeObject[] {
    const matches = this.matcher({ ...rr, name: rr.verb === 'list' || rr.verb === 'deletecollection' ? undefined : rr.name });
    return this.deps.store.list(rr.def, rr.def.namespaced ? rr.namespace : undefined).filter(matches);
  }

  private serveWatch(rr: ResourceRequest, req: IncomingMessage, res: ServerResponse): void {
    const { store } = this.deps;
    const matches = this.matcher(rr);
    const table = wantsTable(req.headers.accept);
    const includeObject = rr.query.get('includeObject');
    const cutAfter = this.deps.faults().watchCutAfterEvents;
    let sent = 0;
    let headerSent = false;
    let closed = false;

    const encode = (type: string, object: unknown): string => JSON.stringify({ type, object }) + '\n';
    const render = (obj: KubeObject): unknown => {
      if (!table) return obj;
      const t = renderTable(rr.def, [obj], obj.metadata.resourceVersion, includeObject) as Record<string, unknown>;
      // Column definitions travel with the first event only, as the real server sends them.
      if (headerSent) t.columnDefinitions = [];
      headerSent = true;
      return t;
    };
    const send = (type: string, obj: KubeObject): void => {
      if (closed) return;
      const line = encode(type, render(obj));
      sent++;
      if (cutAfter !== undefined && sent >= cutAfter) {
        closed = true;
        cleanup();
        res.write(line, () => res.destroy());
        return;
      }
      res.write(line);
    };

    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();

    const rvParam = rr.query.get('resourceVersion');
    let backlog: StoreEvent[] = [];
    if (rvParam === null || rvParam === '' || rvParam === '0' || rr.query.get('sendInitialEvents') === 'true') {
      for (const obj of store.list(rr.def, rr.def.namespaced ? rr.namespace : undefined).filter(matches)) {
        backlog.push({ type: 'ADDED', resource: rr.def, object: obj, resourceVersion: Number(obj.metadata.resourceVersion) });
      }
    } else {
      const fromRv = Number(rvParam);
      try {
        if (!Number.isInteger(fromRv)) throw ApiError.badRequest(`invalid resource version "${rvParam}"`);
        backlog = store.eventsSince(rr.def, fromRv).flatMap((e) => {
          const type = selectedEventType(e, matches);
          return type ? [{ ...e, type }] : [];
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        // Watch errors travel in-stream as an ERROR event carrying a Status (410 Expired makes informers relist).
        res.end(encode('ERROR', error.toStatus()));
        return;
      }
    }
    const unsubscribe = store.subscribe((event) => {
      if (event.resource !== rr.def) return;
      const type = selectedEventType(event, matches);
      if (type) send(type, event.object);
    });
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      this.watchClosers.delete(close);
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      cleanup();
      res.end();
    };
    this.watchClosers.add(close);
    res.on('close', () => {
      closed = true;
      cleanup();
    });
    const timeoutSeconds = Number(rr.query.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) timer = setTimeout(close, timeoutSeconds * 1000);
    for (const e of backlog) send(e.type, e.object);
  }

  private serveLog(rr: ResourceRequest, req: IncomingMessage, res: ServerResponse): void {
    const pod = this.deps.store.get(rr.def, rr.namespace, rr.name!);
    const containers: Array<{ name: string }> = pod.spec?.containers ?? [];
    const container = rr.query.get('container') ?? containers[0]?.name;
    if (rr.query.get('container') === null && containers.length > 1) {
      throw ApiError.badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`,
      );
    }
    if (!containers.some((c) => c.name === container)) {
      throw ApiError.badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
    }
    const log = this.deps.podLog(pod.metadata.uid);
    if (!log) {
      const status = (pod.status?.containerStatuses ?? []).find((c: { name: string }) => c.name === container);
      if (status?.state?.terminated) {
        // It never produced output (failed to start, or killed while pending): an empty log, as the kubelet serves.
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 0 });
        res.end();
        return;
      }
      const reason = status?.state?.waiting?.reason ?? 'ContainerCreating';
      const why = reason === 'ImagePullBackOff' || reason === 'ErrImagePull' ? 'trying and failing to pull image' : reason;
      throw ApiError.badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${why}`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    const tail = rr.query.get('tailLines');
    res.write(tail === null ? log.contents() : tailLines(log.contents(), Number(tail)));
    if (!isTrue(rr.query.get('follow'))) {
      res.end();
      return;
    }
    const stop = log.follow(
      (chunk) => res.write(chunk),
      () => {
        this.watchClosers.delete(close);
        res.end();
      },
    );
    const close = (): void => {
      stop();
      res.end();
    };
    this.watchClosers.add(close);
    res.on('close', () => {
      stop();
      this.watchClosers.delete(close);
    });
  }
}
