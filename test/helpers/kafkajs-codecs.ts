// kafkajs ships gzip only; these register snappy, lz4 and zstd through the
// same libraries the broker uses, as the kafkajs-snappy/-lz4/zstd plugins do.
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { Compression } from '../../src/protocol/records/batch.js';
import { compress, decompress } from '../../src/protocol/records/compression.js';

const codec = (id: number) => () => ({
  compress: async (encoder: { buffer: Buffer }) => compress(id, encoder.buffer),
  decompress: async (buffer: Buffer) => decompress(id, buffer),
});

export function registerKafkajsCodecs(): void {
  CompressionCodecs[CompressionTypes.Snappy] = codec(Compression.SNAPPY);
  CompressionCodecs[CompressionTypes.LZ4] = codec(Compression.LZ4);
  CompressionCodecs[CompressionTypes.ZSTD] = codec(Compression.ZSTD);
}
