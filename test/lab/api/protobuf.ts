/**
 * kubectl's typed commands (e.g. `kubectl create namespace`) send Kubernetes protobuf
 * (`application/vnd.kubernetes.protobuf`) and do not fall back to JSON on 415. The lab decodes the one
 * shape those commands send that tests need: a Namespace (ObjectMeta name, generateName, labels, annotations)
 * inside the `k8s\0` runtime.Unknown envelope (k8s.io/apimachinery/pkg/runtime/serializer/protobuf).
 */
import { ApiError } from './status.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  number: number;
  value: Buffer | number;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw ApiError.badRequest('truncated protobuf varint');
    const byte = buf[pos++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const number = Math.floor(key / 8);
    switch (key & 7) {
      case 0: {
        const [v, next] = readVarint(buf, pos);
        fields.push({ number, value: v });
        pos = next;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, next] = readVarint(buf, pos);
        fields.push({ number, value: buf.subarray(next, next + len) });
        pos = next + len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw ApiError.badRequest('unsupported protobuf wire type');
    }
  }
  return fields;
}

function bytesOf(fields: Field[], number: number): Buffer[] {
  return fields.filter((f) => f.number === number && Buffer.isBuffer(f.value)).map((f) => f.value as Buffer);
}

function stringOf(fields: Field[], number: number): string | undefined {
  const b = bytesOf(fields, number)[0];
  return b === undefined ? undefined : b.toString('utf8');
}

function mapOf(fields: Field[], number: number): Record<string, string> | undefined {
  const entries = bytesOf(fields, number);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = readFields(e);
    out[stringOf(kv, 1) ?? ''] = stringOf(kv, 2) ?? '';
  }
  return out;
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const f = readFields(buf);
  const meta: Record<string, unknown> = {};
  const name = stringOf(f, 1);
  if (name) meta.name = name;
  const generateName = stringOf(f, 2);
  if (generateName) meta.generateName = generateName;
  const namespace = stringOf(f, 3);
  if (namespace) meta.namespace = namespace;
  const labels = mapOf(f, 11);
  if (labels) meta.labels = labels;
  const annotations = mapOf(f, 12);
  if (annotations) meta.annotations = annotations;
  return meta;
}

/** Decodes a protobuf request body into the JSON object it stands for; only kinds listed here are understood. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw ApiError.badRequest('protobuf body without the k8s envelope');
  const unknown = readFields(body.subarray(4));
  const typeMeta = readFields(bytesOf(unknown, 1)[0] ?? Buffer.alloc(0));
  const apiVersion = stringOf(typeMeta, 1) ?? '';
  const kind = stringOf(typeMeta, 2) ?? '';
  const raw = readFields(bytesOf(unknown, 2)[0] ?? Buffer.alloc(0));
  switch (kind) {
    case 'Namespace':
      return { apiVersion, kind, metadata: objectMeta(bytesOf(raw, 1)[0] ?? Buffer.alloc(0)) };
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the netcheck lab decodes protobuf only for Namespace, got ${kind || 'an unknown kind'}; send application/json`,
      );
  }
}
