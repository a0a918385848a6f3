/**
 * Types for the parts of kafkajs's protocol layer the test broker uses as a library
 * (kafkajs ships no declarations for its internals). Only what the broker calls.
 */
declare module 'kafkajs/src/protocol/encoder.js' {
  class Encoder {
    constructor(initialSize?: number);
    readonly buffer: Buffer;
    writeInt8(value: number): this;
    writeInt16(value: number): this;
    writeInt32(value: number): this;
    writeInt64(value: number | string | bigint): this;
    writeBoolean(value: boolean): this;
    writeString(value: string | null): this;
    writeBytes(value: Buffer | null): this;
    writeBuffer(value: Buffer): this;
    writeEncoder(value: Encoder): this;
    writeArray(array: readonly Encoder[] | readonly number[] | readonly string[], type?: 'int32' | 'string' | 'object', length?: number): this;
    size(): number;
  }
  export = Encoder;
}

declare module 'kafkajs/src/protocol/decoder.js' {
  class Decoder {
    constructor(buffer: Buffer);
    buffer: Buffer;
    offset: number;
    readInt8(): number;
    readInt16(): number;
    readInt32(): number;
    readInt64(): bigint;
    readBoolean(): boolean;
    readString(): string | null;
    readBytes(byteLength?: number): Buffer | null;
    readArray<T>(reader: (decoder: Decoder) => T): T[];
    canReadBytes(length: number): boolean;
    canReadInt32(): boolean;
  }
  export = Decoder;
}

declare module 'kafkajs/src/protocol/recordBatch/v0/decoder.js' {
  import type Decoder from 'kafkajs/src/protocol/decoder.js';
  interface DecodedRecord {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[] | undefined>;
    isControlRecord: boolean;
  }
  interface DecodedRecordBatch {
    firstOffset: string;
    lastOffsetDelta: number;
    producerId: string;
    isControlBatch: boolean;
    inTransaction: boolean;
    records: DecodedRecord[];
  }
  function decodeRecordBatch(decoder: Decoder): Promise<DecodedRecordBatch>;
  export = decodeRecordBatch;
}

declare module 'kafkajs/src/protocol/recordBatch/crc32C/index.js' {
  function crc32C(buffer: Buffer): number;
  export = crc32C;
}
