/**
 * Kafka's primitive types on a buffer: fixed-width integers, (unsigned) varints, classic and
 * compact ("flexible version") strings, bytes and array lengths, UUIDs, and tagged-field
 * sections. The schema layer (schema.ts) builds messages out of these.
 */
export class Reader {
  offset = 0;

  constructor(readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private take(length: number): Buffer {
    if (length < 0 || this.offset + length > this.buffer.length) {
      throw new RangeError(`truncated message: need ${length} bytes at ${this.offset} of ${this.buffer.length}`);
    }
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  bytesOf = (length: number): Buffer => this.take(length);
  int8 = (): number => this.take(1).readInt8(0);
  int16 = (): number => this.take(2).readInt16BE(0);
  int32 = (): number => this.take(4).readInt32BE(0);
  int64 = (): bigint => this.take(8).readBigInt64BE(0);
  bool = (): boolean => this.int8() !== 0;
  uuid = (): string => this.take(16).toString('hex');

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.take(1)[0]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new RangeError('varint too long');
  }

  /** A length: int16/int32 classic, uvarint(n+1) compact; -1 is null. */
  length(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint() - 1;
    return wide ? this.int32() : this.int16();
  }

  string(compact: boolean): string | null {
    const length = this.length(compact, false);
    return length < 0 ? null : this.take(length).toString('utf8');
  }

  bytes(compact: boolean): Buffer | null {
    const length = this.length(compact, true);
    return length < 0 ? null : Buffer.from(this.take(length));
  }

  /** Skips a tagged-field section (the broker knows no tag it must act on). */
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }
}

export class Writer {
  private readonly chunks: Buffer[] = [];

  private push(buffer: Buffer): this {
    this.chunks.push(buffer);
    return this;
  }

  private fixed(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(size);
    write(b);
    return this.push(b);
  }

  int8 = (v: number): this => this.fixed(1, (b) => b.writeInt8(v));
  int16 = (v: number): this => this.fixed(2, (b) => b.writeInt16BE(v));
  int32 = (v: number): this => this.fixed(4, (b) => b.writeInt32BE(v));
  int64 = (v: number | bigint): this => this.fixed(8, (b) => b.writeBigInt64BE(BigInt(v)));
  bool = (v: boolean): this => this.int8(v ? 1 : 0);
  uuid = (v: string): this => this.push(Buffer.from(v.padStart(32, '0'), 'hex'));
  raw = (v: Buffer): this => this.push(v);

  uvarint(value: number): this {
    const bytes: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
    return this.push(Buffer.from(bytes));
  }

  /** Zigzag varint, as in record batches. */
  varint(value: number): this {
    return this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  length(value: number, compact: boolean, wide: boolean): this {
    if (compact) return this.uvarint(value + 1);
    return wide ? this.int32(value) : this.int16(value);
  }

  string(value: string | null, compact: boolean): this {
    if (value === null) return this.length(-1, compact, false);
    const bytes = Buffer.from(value, 'utf8');
    return this.length(bytes.length, compact, false).push(bytes);
  }

  bytes(value: Buffer | null, compact: boolean): this {
    if (value === null) return this.length(-1, compact, true);
    return this.length(value.length, compact, true).push(value);
  }

  /** An empty tagged-field section. */
  noTags = (): this => this.uvarint(0);

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
