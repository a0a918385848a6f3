/**
 * Message formats 0 and 1 (pre-0.11 message sets), which Kafka 3.x still speaks to old
 * clients: a produced message set is up-converted to records (compressed wrapper messages
 * unwrapped), and a Fetch below v4 gets the stored records down-converted, uncompressed
 * and without headers, as Kafka does.
 */
import { crc32 } from 'node:zlib';
import { decompress } from '../../../src/kafka/codecs.js';
import type { PlainRecord } from './record-batch.js';
import { Reader, Writer } from './wire.js';

const COMPRESSION_MASK = 0x07;

/** The records of a message set; throws on a message whose CRC or framing is wrong. */
export async function messageSetRecords(set: Buffer): Promise<PlainRecord[]> {
  const records: PlainRecord[] = [];
  const reader = new Reader(set);
  while (reader.remaining > 0) {
    reader.int64(); // offset: assigned by the broker
    const size = reader.int32();
    const message = reader.bytesOf(size);
    const m = new Reader(message);
    const crc = m.int32() >>> 0;
    if (crc32(message.subarray(4)) !== crc) throw new Error('message CRC mismatch');
    const magic = m.int8();
    const attributes = m.int8();
    const timestamp = magic >= 1 ? Number(m.int64()) : -1;
    const key = m.bytes(false);
    const value = m.bytes(false);
    const codec = attributes & COMPRESSION_MASK;
    if (codec === 0) records.push({ timestamp, key, value, headers: {} });
    else records.push(...(await messageSetRecords(await decompress(codec, value ?? Buffer.alloc(0)))));
  }
  return records;
}

/** One uncompressed message of format `magic` at `offset`. */
function message(offset: number, record: PlainRecord, magic: 0 | 1): Buffer {
  const body = new Writer().int8(magic).int8(0);
  if (magic === 1) body.int64(record.timestamp);
  body.bytes(record.key, false).bytes(record.value, false);
  const bytes = body.toBuffer();
  return new Writer().int64(offset).int32(bytes.length + 4).int32(crc32(bytes) | 0).raw(bytes).toBuffer();
}

/** A message set of `records`, up to `maxBytes` (the first message always). */
export function toMessageSet(records: readonly (PlainRecord & { readonly offset: number })[], magic: 0 | 1, maxBytes: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  for (const record of records) {
    const bytes = message(record.offset, record, magic);
    if (out.length > 0 && size + bytes.length > maxBytes) break;
    out.push(bytes);
    size += bytes.length;
  }
  return Buffer.concat(out, size);
}
