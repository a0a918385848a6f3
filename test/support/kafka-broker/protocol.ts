/**
 * Wire-protocol vocabulary of the test broker: API keys, the versions it implements (and so
 * advertises), error codes, and request-header framing. Encoding and decoding primitives
 * are kafkajs's own, used as a library.
 */
import Decoder from 'kafkajs/src/protocol/decoder.js';
import Encoder from 'kafkajs/src/protocol/encoder.js';

export { Decoder, Encoder };

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
} as const;

/**
 * One low, simple version per API (ApiVersions itself: 0–2). kafkajs picks
 * min(its best, our max), so these are exactly the versions it will send.
 */
export const SUPPORTED_VERSIONS: ReadonlyMap<number, { readonly min: number; readonly max: number }> = new Map([
  [ApiKey.Produce, { min: 3, max: 3 }], // first version carrying v2 record batches
  [ApiKey.Fetch, { min: 4, max: 4 }], // isolation level, last stable offset
  [ApiKey.ListOffsets, { min: 1, max: 1 }],
  [ApiKey.Metadata, { min: 4, max: 4 }], // allow_auto_topic_creation
  [ApiKey.OffsetCommit, { min: 2, max: 2 }],
  [ApiKey.OffsetFetch, { min: 1, max: 1 }],
  [ApiKey.FindCoordinator, { min: 0, max: 0 }],
  [ApiKey.JoinGroup, { min: 1, max: 1 }], // rebalance timeout
  [ApiKey.Heartbeat, { min: 0, max: 0 }],
  [ApiKey.LeaveGroup, { min: 0, max: 0 }],
  [ApiKey.SyncGroup, { min: 0, max: 0 }],
  [ApiKey.DescribeGroups, { min: 0, max: 0 }],
  [ApiKey.ListGroups, { min: 0, max: 0 }],
  [ApiKey.ApiVersions, { min: 0, max: 2 }],
  [ApiKey.CreateTopics, { min: 1, max: 1 }],
  [ApiKey.DeleteTopics, { min: 0, max: 0 }],
  [ApiKey.InitProducerId, { min: 0, max: 0 }],
]);

export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_REQUIRED_ACKS: 21,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Request header v1 (kafkajs sends no flexible versions, so never header v2). */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

export function readRequestHeader(decoder: Decoder): RequestHeader {
  return {
    apiKey: decoder.readInt16(),
    apiVersion: decoder.readInt16(),
    correlationId: decoder.readInt32(),
    clientId: decoder.readString(),
  };
}

/** Size-prefixed response frame: correlation id, then the body. */
export function responseFrame(correlationId: number, body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(8 + body.length);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  body.copy(frame, 8);
  return frame;
}

/** An array that may be null (-1): kafkajs's readArray folds null into []. */
export function readNullableArray<T>(decoder: Decoder, reader: (d: Decoder) => T): T[] | null {
  if (decoder.buffer.readInt32BE(decoder.offset) === -1) {
    decoder.offset += 4;
    return null;
  }
  return decoder.readArray(reader);
}

export function readStringArray(decoder: Decoder): string[] {
  return decoder.readArray((d) => d.readString() ?? '');
}

/** Encodes a list of items, each with its own small encoder. */
export function writeList<T>(encoder: Encoder, items: readonly T[], write: (e: Encoder, item: T) => void): Encoder {
  return encoder.writeArray(
    items.map((item) => {
      const e = new Encoder();
      write(e, item);
      return e;
    }),
    'object',
  );
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopicName(name: string): boolean {
  return LEGAL_TOPIC.test(name) && name !== '.' && name !== '..';
}
