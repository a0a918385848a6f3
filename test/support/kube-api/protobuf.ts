/**
 * Just enough of the apiserver's protobuf encoding to read a SelfSubjectAccessReview, which
 * `kubectl auth can-i` sends as `application/vnd.kubernetes.protobuf`: the `k8s\0` magic,
 * a runtime.Unknown envelope, and the review's fields (generated.proto of authorization/v1).
 * Answers are JSON, which client-go accepts whatever it asked for.
 */

type Fields = Map<number, (Buffer | bigint)[]>;

function readVarint(buffer: Buffer, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let position = offset;
  for (;;) {
    const byte = buffer[position];
    if (byte === undefined) throw new Error('truncated varint');
    position += 1;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7n;
  }
}

/** The fields of one message: numbers to their length-delimited bytes or varints. */
function decodeMessage(buffer: Buffer): Fields {
  const fields: Fields = new Map();
  let offset = 0;
  while (offset < buffer.length) {
    const [key, afterKey] = readVarint(buffer, offset);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: Buffer | bigint;
    if (wire === 0) {
      [value, offset] = readVarint(buffer, afterKey);
    } else if (wire === 2) {
      const [length, afterLength] = readVarint(buffer, afterKey);
      value = buffer.subarray(afterLength, afterLength + Number(length));
      offset = afterLength + Number(length);
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

const bytes = (fields: Fields, field: number): Buffer | undefined => fields.get(field)?.find((v): v is Buffer => Buffer.isBuffer(v));
const text = (fields: Fields, field: number): string | undefined => bytes(fields, field)?.toString('utf8');

function strings(fields: Fields, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const value = text(fields, i + 1);
    if (value !== undefined && value !== '') out[name] = value;
  });
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The JSON form of a protobuf-encoded SelfSubjectAccessReview; throws on anything else. */
export function decodeSelfSubjectAccessReview(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('not a Kubernetes protobuf message');
  const unknown = decodeMessage(body.subarray(4));
  const typeMeta = decodeMessage(bytes(unknown, 1) ?? Buffer.alloc(0));
  if (text(typeMeta, 2) !== 'SelfSubjectAccessReview') throw new Error(`protobuf is only read for SelfSubjectAccessReview, not ${text(typeMeta, 2) ?? 'an unknown kind'}`);
  const review = decodeMessage(bytes(unknown, 2) ?? Buffer.alloc(0));
  const spec = decodeMessage(bytes(review, 2) ?? Buffer.alloc(0));
  const resource = bytes(spec, 1);
  const nonResource = bytes(spec, 2);
  return {
    apiVersion: text(typeMeta, 1) ?? 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      ...(resource ? { resourceAttributes: strings(decodeMessage(resource), ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name']) } : {}),
      ...(nonResource ? { nonResourceAttributes: strings(decodeMessage(nonResource), ['path', 'verb']) } : {}),
    },
  };
}
