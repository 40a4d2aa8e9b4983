/**
 * PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch (treated as merge patch: the lab's
 * clients patch labels, annotations and status, where the two agree) and JSON patch (RFC 6902).
 */
import { ApiError } from './status.js';

type Json = any;

function isPlainObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lists that strategic merge patch merges by a key instead of replacing (from the API types' patchMergeKey). */
const STRATEGIC_MERGE_KEYS: Record<string, string> = { conditions: 'type', containers: 'name', readinessGates: 'conditionType' };

export function applyMergePatch(target: Json, patch: Json, strategic = false): Json {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, Json> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue; // strategic-merge directives ($patch, $setElementOrder/...)
    const mergeKey = strategic ? STRATEGIC_MERGE_KEYS[key] : undefined;
    if (value === null) delete out[key];
    else if (mergeKey && Array.isArray(value) && Array.isArray(out[key])) out[key] = mergeList(out[key], value, mergeKey);
    else out[key] = applyMergePatch(out[key], value, strategic);
  }
  return out;
}

function mergeList(target: Json[], patch: Json[], mergeKey: string): Json[] {
  const out = [...target];
  for (const item of patch) {
    const i = out.findIndex((t) => isPlainObject(t) && isPlainObject(item) && t[mergeKey] === item[mergeKey]);
    if (i >= 0) out[i] = applyMergePatch(out[i], item, true);
    else out.push(item);
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function applyJsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw ApiError.badRequest('json patch must be a list of operations');
  let doc = structuredClone(target);
  for (const op of operations as Array<{ op: string; path: string; value?: Json; from?: string }>) {
    const tokens = op.path.split('/').slice(1).map(unescapePointer);
    if (tokens.length === 0) {
      doc = structuredClone(op.value);
      continue;
    }
    let parent: Json = doc;
    for (const t of tokens.slice(0, -1)) {
      if (parent === undefined || parent === null) break;
      parent = Array.isArray(parent) ? parent[Number(t)] : parent[t];
    }
    if (parent === undefined || parent === null || typeof parent !== 'object') {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: path ${op.path} not found`);
    }
    const last = tokens[tokens.length - 1]!;
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
        else parent[last] = op.value;
        break;
      case 'replace':
        if (Array.isArray(parent)) parent[Number(last)] = op.value;
        else parent[last] = op.value;
        break;
      case 'remove':
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      case 'test':
        if (JSON.stringify(Array.isArray(parent) ? parent[Number(last)] : parent[last]) !== JSON.stringify(op.value)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: test failed at ${op.path}`);
        }
        break;
      default:
        throw ApiError.badRequest(`unsupported json patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
