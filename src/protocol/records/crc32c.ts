// CRC32C (Castagnoli), as Kafka's record batch v2 uses it. A library, not our
// core: @node-rs/crc32 is SIMD-accelerated native code (~5 GB/s here).
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC32C of `data`, continuing from `previous` when checksumming in pieces. */
export function crc32c(data: Buffer, previous?: number): number {
  return (previous === undefined ? nativeCrc32c(data) : nativeCrc32c(data, previous)) >>> 0;
}

// Combining two CRCs without the bytes (zlib's crc32_combine, for the
// Castagnoli polynomial): no CRC library on npm offers it for CRC32C, and it
// lets a block's or an object's checksum be built from the CRCs its batches
// already carry instead of reading every byte again.

/** The Castagnoli polynomial, bit-reflected. */
const POLY = 0x82f63b78;

/** a * b modulo POLY, both reflected polynomials (bit 31 is x^0). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo POLY. */
const X2N: number[] = (() => {
  const table = new Array<number>(32);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let k = 1; k < 32; k++) table[k] = p = multModP(p, p);
  return table;
})();

/** x^(n * 2^k) modulo POLY. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31], p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC32C of A followed by B, from CRC32C(A), CRC32C(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA >>> 0) ^ crcB) >>> 0;
}
