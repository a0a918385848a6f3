/**
 * Snappy, LZ4 and zstd for kafkajs, which ships only gzip: without them a consumer stops at
 * the first batch another producer (librdkafka, the Java client) compressed with one of
 * them. Registered once, by every client this folder makes. zstd decompresses only (the
 * pure-JS decoder); pkgstream's own producers do not compress.
 */
import { gunzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { decompress as zstdDecompress } from 'fzstd';
import { PkgstreamError } from '../domain/errors.js';

// CommonJS exports that Node's named-export detection misses.
const { CompressionCodecs, CompressionTypes } = kafkajs;

interface CodecEncoder {
  readonly buffer: Buffer;
}

/** The xerial snappy-java stream header the Java client writes before its chunks. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

/** Raw snappy, or xerial framing: the header, then (int32 length, raw snappy) chunks. */
export function snappyDecompress(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_SIZE || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyUncompress(data) as Buffer;
  const chunks: Buffer[] = [];
  for (let pos = XERIAL_HEADER_SIZE; pos < data.length; ) {
    const size = data.readInt32BE(pos);
    chunks.push(snappyUncompress(data.subarray(pos + 4, pos + 4 + size)) as Buffer);
    pos += 4 + size;
  }
  return Buffer.concat(chunks);
}

/** Decompresses a record batch's payload by its codec (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export async function decompress(codec: number, data: Buffer): Promise<Buffer> {
  // kafkajs's numeric codec ids: 1 gzip, 2 snappy, 3 lz4, 4 zstd.
  switch (codec as (typeof CompressionTypes)[keyof typeof CompressionTypes]) {
    case CompressionTypes.GZIP:
      return gunzipSync(data);
    case CompressionTypes.Snappy:
      return snappyDecompress(data);
    case CompressionTypes.LZ4:
      return decompressFrame(data);
    case CompressionTypes.ZSTD:
      return Buffer.from(zstdDecompress(data));
    default:
      throw new PkgstreamError('KAFKA_UNKNOWN_CODEC', `unknown compression codec ${codec}`);
  }
}

let registered = false;

export function registerCompressionCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as Record<number, () => unknown>;
  codecs[CompressionTypes.Snappy] = () => ({
    compress: (encoder: CodecEncoder) => snappyCompress(encoder.buffer),
    decompress: (data: Buffer) => Promise.resolve(snappyDecompress(data)),
  });
  codecs[CompressionTypes.LZ4] = () => ({
    compress: (encoder: CodecEncoder) => compressFrame(encoder.buffer),
    decompress: (data: Buffer) => decompressFrame(data),
  });
  codecs[CompressionTypes.ZSTD] = () => ({
    // programming error: pkgstream produces without compression; zstd is registered to read it.
    compress: () => Promise.reject(new Error('zstd compression is not supported by pkgstream (decompression is)')),
    decompress: (data: Buffer) => Promise.resolve(Buffer.from(zstdDecompress(data))),
  });
}
