/**
 * What a consumed Kafka record becomes: its value read against the schema, or the reason it
 * cannot be read and the dead-letter message that carries that reason with the original
 * value (as text when it is UTF-8, else base64; cut at the size cap). Pure: the time of the
 * dead-lettering is passed in.
 */
import type { ZodType } from 'zod';
import type { ErrorCodeIn } from '../domain/error-codes.js';
import { errorMessage } from '../domain/errors.js';
import type { ConsumedRecord } from '../kafka/consumer.js';

export interface UnreadableRecord {
  readonly ok: false;
  readonly code: ErrorCodeIn<'kafka'>;
  readonly reason: string;
}

export type RecordVerdict<T> = { readonly ok: true; readonly value: T } | UnreadableRecord;

export interface DeadLetterMessage {
  readonly key: Buffer | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readRecord<T>(record: ConsumedRecord, schema: ZodType<T>, maxValueBytes: number): RecordVerdict<T> {
  const raw = record.value;
  if (raw === null || raw.length === 0) return { ok: false, code: 'KAFKA_EMPTY_VALUE', reason: 'message has no value' };
  if (raw.length > maxValueBytes) {
    return { ok: false, code: 'KAFKA_VALUE_TOO_LARGE', reason: `value of ${raw.length} bytes exceeds ${maxValueBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return { ok: false, code: 'KAFKA_BAD_JSON', reason: `not JSON: ${errorMessage(error)}` };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, code: 'KAFKA_BAD_SCHEMA', reason: `does not match the schema: ${issues}` };
  }
  return { ok: true, value: result.data };
}

export function deadLetterMessage(record: ConsumedRecord, verdict: UnreadableRecord, maxValueBytes: number, now: Date): DeadLetterMessage {
  const raw = record.value ?? Buffer.alloc(0);
  const kept = raw.length > maxValueBytes ? raw.subarray(0, maxValueBytes) : raw;
  const text = decodedOrNull(kept);
  const value = JSON.stringify({
    code: verdict.code,
    reason: verdict.reason,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key?.toString('utf8') ?? null,
    ...(text !== null ? { value: text } : { value_base64: kept.toString('base64') }),
    ...(kept.length < raw.length ? { value_truncated_from: raw.length } : {}),
    dead_lettered_at: now.toISOString(),
  });
  return { key: record.key, value, headers: { 'pkgstream-dead-letter-code': verdict.code, 'pkgstream-source-topic': record.topic } };
}

function decodedOrNull(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
