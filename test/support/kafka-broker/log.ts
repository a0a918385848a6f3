/**
 * The broker's storage: per topic, per partition, an append-only list of v2 record batches
 * exactly as produced (base offset rewritten, compression kept), plus their decoded records
 * for inspection and for old fetchers. Lives outside the server so that a stop/start keeps it.
 */
import { randomBytes } from 'node:crypto';
import { messageSetRecords, toMessageSet } from './legacy-format.js';
import { ErrorCode, type ErrorCodeValue } from './protocol.js';
import { ATTRIBUTES_OFFSET, checkRecordSet, decodeBatch, encodeBatch, LAST_OFFSET_DELTA_OFFSET } from './record-batch.js';

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

  /** The compression codec of each stored batch (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  codecs(): number[] {
    return this.batches.map((b) => b.bytes.readInt16BE(ATTRIBUTES_OFFSET) & 0x07);
  }

  /** Validates one produce request's record set and appends it; the base offset on success. */
  async append(recordSet: Buffer): Promise<{ errorCode: ErrorCodeValue; baseOffset: number }> {
    let checked = checkRecordSet(recordSet);
    if ('legacy' in checked) {
      // Message format 0/1: up-converted to one uncompressed v2 batch, as Kafka 3.x stores it.
      try {
        checked = { batches: [encodeBatch(0, await messageSetRecords(recordSet))] };
      } catch {
        return { errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1 };
      }
    }
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
        decoded = await decodeBatch(bytes);
      } catch {
        return { errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1 };
      }
      const records = decoded.map((r) => ({ topic: this.topic, partition: this.partition, ...r }));
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
    const out: Buffer[] = [];
    let size = 0;
    for (let i = firstAtOrAfter(this.batches, fetchOffset, (b) => b.lastOffset); i < this.batches.length; i++) {
      const bytes = this.batches[i]!.bytes;
      if (out.length > 0 && size + bytes.length > maxBytes) break;
      out.push(bytes);
      size += bytes.length;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out, size);
  }

  /** Fetch v0–3: the records from `fetchOffset` as a message set of format 0 or 1. */
  readLegacy(fetchOffset: number, maxBytes: number, magic: 0 | 1): Buffer {
    return toMessageSet(this.records.slice(firstAtOrAfter(this.records, fetchOffset, (r) => r.offset)), magic, maxBytes);
  }

  /** ListOffsets: -1 latest, -2 earliest, -3 max timestamp, else the first offset at or after the timestamp. */
  offsetFor(timestamp: number): number {
    if (timestamp === -1) return this.next;
    if (timestamp === -2) return 0;
    if (timestamp === -3) {
      const latest = this.records.reduce<StoredRecord | null>((best, r) => (best === null || r.timestamp > best.timestamp ? r : best), null);
      return latest ? latest.offset : -1;
    }
    const found = this.records.find((r) => r.timestamp >= timestamp);
    return found ? found.offset : -1;
  }
}

/** Binary search: the first index whose `last(item)` is at or after `offset`. */
function firstAtOrAfter<T>(items: readonly T[], offset: number, last: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (last(items[mid]!) < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class TopicLog {
  readonly partitions: PartitionLog[];
  /** Topic id (KIP-516), 32 hex digits. */
  readonly id = randomBytes(16).toString('hex');

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, (_, p) => new PartitionLog(name, p));
  }
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

  byId(id: string): TopicLog | undefined {
    return [...this.topics.values()].find((t) => t.id === id);
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
