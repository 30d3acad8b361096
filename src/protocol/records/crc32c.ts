// CRC32C (Castagnoli), as Kafka's record batch v2 uses it. A library, not our
// core. Every produced batch and every block read back is checksummed, so its
// speed shows in the broker's CPU per GB. AWS's Common Runtime (aws-crt, an
// optional dependency that ships its binaries) folds with carry-less
// multiplies (PCLMULQDQ): 25-30 GB/s on this project's machines, against
// 5.6-8 GB/s for @node-rs/crc32, which stays as the fallback wherever
// aws-crt has no binary. Its loader runs `ldd --version` once per thread
// that loads it (about 30 ms, at start-up) to tell glibc from musl.
import { createRequire } from 'node:module';
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';

export interface Crc32cImplementation {
  readonly name: string;
  /** CRC32C of `data`, continuing from `previous`; may return a signed int. */
  readonly crc32c: (data: Buffer, previous?: number) => number;
}

/** RFC 3720's check value, to refuse a library that loads but computes something else. */
const CHECK_INPUT = Buffer.from('123456789');
const CHECK_VALUE = 0xe3069283;

function awsCrt(): Crc32cImplementation | undefined {
  try {
    // The checksums module alone: aws-crt's index loads its HTTP and MQTT clients too.
    const { crc32c } = createRequire(import.meta.url)('aws-crt/dist/native/checksums.js') as { crc32c: (data: Buffer, previous?: number) => number };
    if (crc32c(CHECK_INPUT) >>> 0 !== CHECK_VALUE) return undefined;
    return { name: 'aws-crt', crc32c };
  } catch {
    return undefined;
  }
}

const nodeRs: Crc32cImplementation = { name: '@node-rs/crc32', crc32c: (data, previous) => (previous === undefined ? nodeRsCrc32c(data) : nodeRsCrc32c(data, previous)) };

/** Every implementation that loaded here, the one in use first (the tests check each). */
export const crc32cImplementations: readonly Crc32cImplementation[] = [awsCrt(), nodeRs].filter((i): i is Crc32cImplementation => i !== undefined);

const impl = crc32cImplementations[0].crc32c;

/** Which library computes `crc32c` in this process. */
export const crc32cImplementation = crc32cImplementations[0].name;

/** CRC32C of `data`, continuing from `previous` when checksumming in pieces. */
export function crc32c(data: Buffer, previous?: number): number {
  return impl(data, previous) >>> 0;
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
