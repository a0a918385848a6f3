/**
 * Record batches (message format v2): the checks Kafka makes on a produced record set
 * (magic, size, CRC-32C; any of Kafka's codecs), decoding for inspection (kafkajs's decoder,
 * with pkgstream's codecs), and encoding an uncompressed batch (for up-converted messages).
 */
import decodeRecordBatch from 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
import crc32C from 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
import Decoder from 'kafkajs/src/protocol/decoder.js';
import { decompress } from '../../../src/kafka/codecs.js';
import { ErrorCode, type ErrorCodeValue } from './protocol.js';
import { Writer } from './wire.js';

/** Fixed part of a v2 record batch, up to and including the record count. */
const BATCH_HEADER_SIZE = 61;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
const COMPRESSION_MASK = 0x07;
/** none, gzip, snappy, lz4, zstd. */
const KAFKA_CODECS = 4;

export interface PlainRecord {
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | readonly Buffer[] | undefined>>;
}

export type CheckedRecordSet =
  | { readonly batches: Buffer[] }
  | { readonly legacy: true }
  | { readonly errorCode: ErrorCodeValue };

/** Splits a record set into v2 batches and checks each; message format 0/1 is `legacy`. */
export function checkRecordSet(recordSet: Buffer): CheckedRecordSet {
  if (recordSet.length > MAGIC_OFFSET && recordSet.readInt8(MAGIC_OFFSET) < 2) return { legacy: true };
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < recordSet.length) {
    if (recordSet.length - pos < BATCH_HEADER_SIZE) return { errorCode: ErrorCode.CORRUPT_MESSAGE };
    const size = 12 + recordSet.readInt32BE(pos + 8);
    if (size < BATCH_HEADER_SIZE || pos + size > recordSet.length) return { errorCode: ErrorCode.CORRUPT_MESSAGE };
    const batch = recordSet.subarray(pos, pos + size);
    if (batch.readInt8(MAGIC_OFFSET) !== 2) return { errorCode: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT };
    if (crc32C(batch.subarray(ATTRIBUTES_OFFSET)) !== batch.readUInt32BE(CRC_OFFSET)) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE };
    }
    if ((batch.readInt16BE(ATTRIBUTES_OFFSET) & COMPRESSION_MASK) > KAFKA_CODECS) {
      return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE };
    }
    batches.push(batch);
    pos += size;
  }
  return batches.length === 0 ? { errorCode: ErrorCode.CORRUPT_MESSAGE } : { batches };
}

/**
 * Every record of one batch, with absolute offsets; throws on a batch it cannot read (as
 * Kafka's log validator does for a compressed batch). The payload is decompressed here, not
 * by kafkajs's codec table, which a client in the same process may have changed.
 */
export async function decodeBatch(bytes: Buffer): Promise<(PlainRecord & { readonly offset: number })[]> {
  const attributes = bytes.readInt16BE(ATTRIBUTES_OFFSET);
  const codec = attributes & COMPRESSION_MASK;
  let plain = bytes;
  if (codec !== 0) {
    plain = Buffer.concat([bytes.subarray(0, BATCH_HEADER_SIZE), await decompress(codec, bytes.subarray(BATCH_HEADER_SIZE))]);
    plain.writeInt16BE(attributes & ~COMPRESSION_MASK, ATTRIBUTES_OFFSET);
    plain.writeInt32BE(plain.length - 12, 8);
  }
  const decoded = await decodeRecordBatch(new Decoder(plain));
  return decoded.records.map((r) => ({ offset: Number(r.offset), timestamp: Number(r.timestamp), key: r.key, value: r.value, headers: r.headers }));
}

function writeVarBytes(w: Writer, value: Buffer | null): void {
  if (value === null) w.varint(-1);
  else w.varint(value.length).raw(value);
}

/** An uncompressed v2 batch of `records` at `baseOffset`, without producer id. */
export function encodeBatch(baseOffset: number, records: readonly PlainRecord[]): Buffer {
  const baseTimestamp = records[0]?.timestamp ?? -1;
  const body = new Writer();
  records.forEach((record, i) => {
    const r = new Writer().int8(0).varint(record.timestamp - baseTimestamp).varint(i);
    writeVarBytes(r, record.key);
    writeVarBytes(r, record.value);
    const headers = Object.entries(record.headers).flatMap(([k, v]) => (v === undefined ? [] : [v].flat().map((x) => [k, x] as const)));
    r.varint(headers.length);
    for (const [k, v] of headers) writeVarBytes(r.varint(Buffer.byteLength(k)).raw(Buffer.from(k)), v);
    const bytes = r.toBuffer();
    body.varint(bytes.length).raw(bytes);
  });
  const maxTimestamp = Math.max(baseTimestamp, ...records.map((r) => r.timestamp));
  const tail = new Writer().int16(0).int32(records.length - 1).int64(baseTimestamp).int64(maxTimestamp);
  tail.int64(-1).int16(-1).int32(-1).int32(records.length).raw(body.toBuffer());
  const crcPart = tail.toBuffer();
  const head = new Writer().int64(baseOffset).int32(crcPart.length + 9).int32(0).int8(2);
  head.raw(Buffer.from(new Uint32Array([0]).buffer));
  const batch = Buffer.concat([head.toBuffer(), crcPart]);
  batch.writeUInt32BE(crc32C(crcPart), CRC_OFFSET);
  return batch;
}
