/**
 * The lab's etcd: objects per resource, a global monotonically increasing resourceVersion, and a bounded
 * event history so watches can resume from a resourceVersion (or learn it is too old: 410 Expired).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError } from './status.js';
import { apiVersionOf, type ResourceDef } from './resources.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
  [key: string]: unknown;
}

/** Objects are plain JSON; spec and status stay loosely typed because every resource shapes them differently. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceDef;
  object: KubeObject;
  /** For MODIFIED: the object before the change (watches with selectors turn leaving/entering into DELETED/ADDED). */
  previous?: KubeObject;
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface StoreOptions {
  /** Events kept for watch resumption; older resourceVersions get 410 Expired. */
  historyLimit?: number;
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function resourceKey(def: ResourceDef): string {
  return `${def.group}/${def.plural}`;
}

/** Random suffix of lowercase consonants and digits, as generateName uses (no vowels, no bad words). */
export function randomSuffix(length: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function cloneObject<T>(obj: T): T {
  return structuredClone(obj);
}

export class ObjectStore {
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;
  private rv = 1;
  /** Oldest resourceVersion a watch may resume from. */
  private compactedRv = 1;

  constructor(options: StoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 2000;
  }

  get currentResourceVersion(): string {
    return String(this.rv);
  }

  private table(def: ResourceDef): Map<string, KubeObject> {
    const key = resourceKey(def);
    let t = this.tables.get(key);
    if (!t) {
      t = new Map();
      this.tables.set(key, t);
    }
    return t;
  }

  private emit(type: WatchEventType, resource: ResourceDef, object: KubeObject, previous?: KubeObject): void {
    const event: StoreEvent = { type, resource, object: cloneObject(object), resourceVersion: Number(object.metadata.resourceVersion) };
    if (previous) event.previous = previous;
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compactedRv = dropped.resourceVersion;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const obj = this.table(def).get(keyOf(def.namespaced ? namespace : undefined, name));
    if (!obj) throw ApiError.notFound(def.plural, def.group, name);
    return cloneObject(obj);
  }

  find(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.table(def).get(keyOf(def.namespaced ? namespace : undefined, name));
    return obj ? cloneObject(obj) : undefined;
  }

  /** All objects of a resource, optionally in one namespace, sorted by namespace then name (as etcd keys are). */
  list(def: ResourceDef, namespace?: string): KubeObject[] {
    const items = [...this.table(def).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
    items.sort((a, b) => {
      const ka = keyOf(a.metadata.namespace, a.metadata.name);
      const kb = keyOf(b.metadata.namespace, b.metadata.name);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return items.map(cloneObject);
  }

  create(def: ResourceDef, input: KubeObject): KubeObject {
    const obj = cloneObject(input);
    const meta = (obj.metadata ?? {}) as ObjectMeta;
    obj.metadata = meta;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix(5)}`;
    if (!def.namespaced) delete meta.namespace;
    const key = keyOf(meta.namespace, meta.name);
    const table = this.table(def);
    if (table.has(key)) throw ApiError.alreadyExists(def.plural, def.group, meta.name);
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.resourceVersion = String(++this.rv);
    table.set(key, obj);
    this.emit('ADDED', def, obj);
    return cloneObject(obj);
  }

  /** Replaces an object; a stale metadata.resourceVersion is a 409 Conflict, as with optimistic concurrency. */
  update(def: ResourceDef, input: KubeObject): KubeObject {
    const table = this.table(def);
    const key = keyOf(def.namespaced ? input.metadata.namespace : undefined, input.metadata.name);
    const existing = table.get(key);
    if (!existing) throw ApiError.notFound(def.plural, def.group, input.metadata.name);
    const given = input.metadata.resourceVersion;
    if (given && given !== existing.metadata.resourceVersion) throw ApiError.conflict(def.plural, def.group, input.metadata.name);
    const obj = cloneObject(input);
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    obj.metadata.uid = existing.metadata.uid;
    obj.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    if (!def.namespaced) delete obj.metadata.namespace;
    if (JSON.stringify(obj) === JSON.stringify({ ...existing, metadata: { ...existing.metadata, resourceVersion: obj.metadata.resourceVersion } })) {
      // A no-op write does not bump the resourceVersion or wake watchers (as the real API server).
      return cloneObject(existing);
    }
    obj.metadata.resourceVersion = String(++this.rv);
    table.set(key, obj);
    this.emit('MODIFIED', def, obj, existing);
    return cloneObject(obj);
  }

  /** Read-modify-write for controllers; returns undefined when the object is gone. */
  mutate(def: ResourceDef, namespace: string | undefined, name: string, change: (obj: KubeObject) => void): KubeObject | undefined {
    const current = this.find(def, namespace, name);
    if (!current) return undefined;
    change(current);
    current.metadata.resourceVersion = '';
    return this.update(def, current);
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const table = this.table(def);
    const key = keyOf(def.namespaced ? namespace : undefined, name);
    const existing = table.get(key);
    if (!existing) throw ApiError.notFound(def.plural, def.group, name);
    table.delete(key);
    existing.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', def, existing);
    return cloneObject(existing);
  }

  /**
   * Events after `fromRv` for a resource, or throws 410 Expired when history no longer reaches back that far.
   * The caller then subscribes; both happen in the same tick, so nothing is lost in between.
   */
  eventsSince(def: ResourceDef, fromRv: number): StoreEvent[] {
    if (fromRv < this.compactedRv) {
      throw ApiError.expired(`too old resource version: ${fromRv} (${this.compactedRv})`);
    }
    const key = resourceKey(def);
    return this.history.filter((e) => e.resourceVersion > fromRv && resourceKey(e.resource) === key);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
