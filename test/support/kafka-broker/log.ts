/**
 * The broker's storage: per topic, per partition, an append-only list of v2 record batches
 * exactly as produced (base offset rewritten), plus their decoded records for inspection.
 * Lives outside the server so that a stop/start keeps it.
 */
import decodeRecordBatch from 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
import crc32C from 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
import { Decoder, ErrorCode, type ErrorCodeValue } from './protocol.js';

export interface StoredRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | readonly Buffer[] | undefined>>;
}

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Buffer;
}

/** Fixed part of a v2 record batch, up to and including the record count. */
const BATCH_HEADER_SIZE = 61;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const COMPRESSION_MASK = 0x07;
/** Compression codecs this broker accepts: none, and gzip (kafkajs decodes it natively). */
const ACCEPTED_CODECS = new Set([0, 1]);

export class PartitionLog {
  private readonly batches: StoredBatch[] = [];
  readonly records: StoredRecord[] = [];
  private next = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get endOffset(): number {
    return this.next;
  }

  /** Validates one produce request's record set and appends it; the base offset on success. */
  async append(recordSet: Buffer): Promise<{ errorCode: ErrorCodeValue; baseOffset: number }> {
    const checked = checkRecordSet(recordSet);
    if ('errorCode' in checked) return { errorCode: checked.errorCode, baseOffset: -1 };
    // Decode every batch before storing any, so a bad batch leaves the log untouched.
    let offset = this.next;
    const staged: { batch: StoredBatch; records: StoredRecord[] }[] = [];
    for (const raw of checked.batches) {
      const bytes = Buffer.from(raw);
      bytes.writeBigInt64BE(BigInt(offset), 0);
      const lastOffset = offset + bytes.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
      let decoded;
      try {
        decoded = await decodeRecordBatch(new Decoder(bytes));
      } catch {
        return { errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1 };
      }
      const records = decoded.records.map((r) => ({
        topic: this.topic,
        partition: this.partition,
        offset: Number(r.offset),
        timestamp: Number(r.timestamp),
        key: r.key,
        value: r.value,
        headers: r.headers,
      }));
      staged.push({ batch: { baseOffset: offset, lastOffset, bytes }, records });
      offset = lastOffset + 1;
    }
    const baseOffset = this.next;
    for (const { batch, records } of staged) {
      this.batches.push(batch);
      this.records.push(...records);
    }
    this.next = offset;
    return { errorCode: ErrorCode.NONE, baseOffset };
  }

  /**
   * Whole batches from the one holding `fetchOffset`, up to `maxBytes` (the first batch is
   * always returned whole, as Kafka does, so that a large batch cannot stall a consumer).
   */
  read(fetchOffset: number, maxBytes: number): Buffer {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    const out: Buffer[] = [];
    let size = 0;
    for (let i = lo; i < this.batches.length; i++) {
      const bytes = this.batches[i]!.bytes;
      if (out.length > 0 && size + bytes.length > maxBytes) break;
      out.push(bytes);
      size += bytes.length;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out, size);
  }

  /** ListOffsets: -1 latest, -2 earliest, else the first offset at or after the timestamp. */
  offsetFor(timestamp: number): number {
    if (timestamp === -1) return this.next;
    if (timestamp === -2) return 0;
    const found = this.records.find((r) => r.timestamp >= timestamp);
    return found ? found.offset : -1;
  }
}

export class TopicLog {
  readonly partitions: PartitionLog[];

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, (_, p) => new PartitionLog(name, p));
  }
}

/** Splits a record set into v2 batches and checks magic, CRC-32C and compression. */
function checkRecordSet(recordSet: Buffer): { batches: Buffer[] } | { errorCode: ErrorCodeValue } {
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
    if (!ACCEPTED_CODECS.has(batch.readInt16BE(ATTRIBUTES_OFFSET) & COMPRESSION_MASK)) {
      return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE };
    }
    batches.push(batch);
    pos += size;
  }
  return batches.length === 0 ? { errorCode: ErrorCode.CORRUPT_MESSAGE } : { batches };
}

/** All topics, with a signal for held fetches when anything is appended. */
export class LogStore {
  readonly topics = new Map<string, TopicLog>();
  private readonly waiters = new Set<() => void>();

  create(name: string, partitions: number): TopicLog {
    const topic = new TopicLog(name, partitions);
    this.topics.set(name, topic);
    return topic;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  /** Resolves at the next append (or `wakeAll`), or after `ms`. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
