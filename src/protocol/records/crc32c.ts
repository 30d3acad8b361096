// CRC32C (Castagnoli), as Kafka's record batch v2 uses it. A library, not our
// core: @node-rs/crc32 is SIMD-accelerated native code (~5 GB/s here).
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC32C of `data`, continuing from `previous` when checksumming in pieces. */
export function crc32c(data: Buffer, previous?: number): number {
  return (previous === undefined ? nativeCrc32c(data) : nativeCrc32c(data, previous)) >>> 0;
}
