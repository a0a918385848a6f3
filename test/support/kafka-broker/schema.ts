/**
 * Message schemas in the style of Kafka's own JSON message definitions: each field has the
 * versions it exists in, and a message has the version from which it is "flexible"
 * (compact strings/arrays and tagged fields, KIP-482). One generic reader and writer turn
 * a request's bytes into a plain object and a response object into bytes at any version.
 */
import { Reader, Writer } from './wire.js';

type Primitive = 'int8' | 'int16' | 'int32' | 'int64' | 'bool' | 'string' | 'bytes' | 'uuid';
export type FieldType = Primitive | readonly Field[] | { readonly array: Primitive | readonly Field[] };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly min: number;
  readonly max: number;
  /** Value when the field is absent at a version (Kafka's `default`). */
  readonly absent?: unknown;
}

export interface MessageSchema {
  readonly fields: readonly Field[];
  /** First flexible version; Infinity when the API has none. */
  readonly flexibleFrom: number;
}

export type Message = Record<string, unknown>;

/** `f('TimeoutMs', 'int32', '3+')`; versions as Kafka writes them: `3+`, `0-4`, `5`. */
export function f(name: string, type: FieldType, versions = '0+', absent?: unknown): Field {
  const [lo, hi] = versions.endsWith('+') ? [versions.slice(0, -1), undefined] : versions.split('-');
  const min = Number(lo);
  const max = hi === undefined ? (versions.endsWith('+') ? Infinity : min) : Number(hi);
  return absent === undefined ? { name, type, min, max } : { name, type, min, max, absent };
}

export const arrayOf = (item: Primitive | readonly Field[]): FieldType => ({ array: item });

export function schema(flexibleFrom: number, ...fields: Field[]): MessageSchema {
  return { fields, flexibleFrom };
}

function defaultOf(type: FieldType): unknown {
  if (typeof type !== 'string') return Array.isArray(type) ? {} : [];
  if (type === 'int64') return 0n;
  if (type === 'bool') return false;
  if (type === 'string' || type === 'bytes') return null;
  if (type === 'uuid') return '0'.repeat(32);
  return 0;
}

function readValue(r: Reader, type: FieldType, version: number, flexible: boolean): unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
        return r.int8();
      case 'int16':
        return r.int16();
      case 'int32':
        return r.int32();
      case 'int64':
        return r.int64();
      case 'bool':
        return r.bool();
      case 'uuid':
        return r.uuid();
      case 'string':
        return r.string(flexible);
      case 'bytes':
        return r.bytes(flexible);
    }
  }
  if ('array' in type) {
    const count = r.length(flexible, true);
    if (count < 0) return null;
    return Array.from({ length: count }, () => readValue(r, type.array, version, flexible));
  }
  return readStruct(r, type, version, flexible);
}

function readStruct(r: Reader, fields: readonly Field[], version: number, flexible: boolean): Message {
  const out: Message = {};
  for (const field of fields) {
    out[field.name] =
      version >= field.min && version <= field.max ? readValue(r, field.type, version, flexible) : (field.absent ?? defaultOf(field.type));
  }
  if (flexible) r.skipTags();
  return out;
}

function writeValue(w: Writer, type: FieldType, value: unknown, version: number, flexible: boolean): void {
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
        return void w.int8(Number(value ?? 0));
      case 'int16':
        return void w.int16(Number(value ?? 0));
      case 'int32':
        return void w.int32(Number(value ?? 0));
      case 'int64':
        return void w.int64(BigInt((value as number | bigint | undefined) ?? 0));
      case 'bool':
        return void w.bool(Boolean(value));
      case 'uuid':
        return void w.uuid((value as string | undefined) ?? '');
      case 'string':
        return void w.string((value as string | null | undefined) ?? null, flexible);
      case 'bytes':
        return void w.bytes((value as Buffer | null | undefined) ?? null, flexible);
    }
  }
  if ('array' in type) {
    const items = value as readonly unknown[] | null | undefined;
    if (items == null) return void w.length(-1, flexible, true);
    w.length(items.length, flexible, true);
    for (const item of items) writeValue(w, type.array, item, version, flexible);
    return;
  }
  writeStruct(w, type, (value ?? {}) as Message, version, flexible);
}

function writeStruct(w: Writer, fields: readonly Field[], value: Message, version: number, flexible: boolean): void {
  for (const field of fields) {
    if (version >= field.min && version <= field.max) writeValue(w, field.type, value[field.name], version, flexible);
  }
  if (flexible) w.noTags();
}

export function readMessage(r: Reader, message: MessageSchema, version: number): Message {
  return readStruct(r, message.fields, version, version >= message.flexibleFrom);
}

export function writeMessage(message: MessageSchema, value: Message, version: number): Buffer {
  const w = new Writer();
  writeStruct(w, message.fields, value, version, version >= message.flexibleFrom);
  return w.toBuffer();
}
