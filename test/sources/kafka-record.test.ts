import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConsumedRecord } from '../../src/kafka/consumer.js';
import { deadLetterMessage, readRecord, type UnreadableRecord } from '../../src/sources/kafka-record.js';

const Release = z.object({ package_name: z.string(), package_version: z.string() });
const AT = new Date('2026-01-02T03:04:05.000Z');

function record(value: Buffer | string | null, key: string | null = 'k'): ConsumedRecord {
  return { topic: 't', partition: 2, offset: '17', key: key === null ? null : Buffer.from(key), value: typeof value === 'string' ? Buffer.from(value) : value };
}

function unreadable(value: Buffer | string | null, max = 100): UnreadableRecord {
  const verdict = readRecord(record(value), Release, max);
  if (verdict.ok) throw new Error('expected an unreadable record');
  return verdict;
}

describe('readRecord', () => {
  it('reads a value that is JSON of the schema', () => {
    expect(readRecord(record('{"package_name":"a","package_version":"1"}'), Release, 100)).toEqual({ ok: true, value: { package_name: 'a', package_version: '1' } });
  });

  it('names why a value cannot be read: empty, too large, not JSON, not the schema', () => {
    expect(unreadable(null)).toEqual({ ok: false, code: 'KAFKA_EMPTY_VALUE', reason: 'message has no value' });
    expect(unreadable('')).toMatchObject({ code: 'KAFKA_EMPTY_VALUE' });
    expect(unreadable('x'.repeat(101))).toEqual({ ok: false, code: 'KAFKA_VALUE_TOO_LARGE', reason: 'value of 101 bytes exceeds 100' });
    expect(unreadable('{oops')).toMatchObject({ code: 'KAFKA_BAD_JSON', reason: expect.stringMatching(/^not JSON: /) as string });
    expect(unreadable('[]').reason).toMatch(/^does not match the schema: \(root\): /);
    expect(unreadable('{"package_name":1}').reason).toMatch(/package_name: .*; package_version: /);
  });
});

describe('deadLetterMessage', () => {
  it('carries the reason, where the record was and its value as text, keyed as the record', () => {
    const bad = record('{oops');
    const message = deadLetterMessage(bad, unreadable('{oops'), 100, AT);
    expect(message.key?.toString()).toBe('k');
    expect(message.headers).toEqual({ 'pkgstream-dead-letter-code': 'KAFKA_BAD_JSON', 'pkgstream-source-topic': 't' });
    expect(JSON.parse(message.value)).toMatchObject({ code: 'KAFKA_BAD_JSON', topic: 't', partition: 2, offset: '17', key: 'k', value: '{oops', dead_lettered_at: AT.toISOString() });
  });

  it('keeps a value that is not UTF-8 as base64, and cuts one over the cap', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x7b]);
    const asBase64 = JSON.parse(deadLetterMessage(record(binary), unreadable(binary), 100, AT).value) as Record<string, unknown>;
    expect(asBase64).toMatchObject({ value_base64: binary.toString('base64') });
    expect(asBase64).not.toHaveProperty('value');
    const long = 'y'.repeat(150);
    const cut = JSON.parse(deadLetterMessage(record(long), unreadable(long), 100, AT).value) as Record<string, unknown>;
    expect(cut).toMatchObject({ value: 'y'.repeat(100), value_truncated_from: 150 });
  });

  it('writes a missing key and value as null and empty', () => {
    const empty = record(null, null);
    const message = deadLetterMessage(empty, unreadable(null), 100, AT);
    expect(message.key).toBeNull();
    expect(JSON.parse(message.value)).toMatchObject({ key: null, value: '', code: 'KAFKA_EMPTY_VALUE' });
  });
});
