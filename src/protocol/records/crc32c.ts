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
// already carry instead of reading every byte again. It runs twice per
// produced batch, so it is table-driven: a nibble at a time in the multiply,
// a byte of the length at a time in the power of x: about 0.12 us a call,
// against 1.2 us bit by bit, which at Kafka's default 16 KiB batches (62,500
// a GB, two calls each) came to about 0.14 CPU-s per GB of produce.

/** The Castagnoli polynomial, bit-reflected (bit 31 is x^0). */
const POLY = 0x82f63b78;

/** p * x modulo POLY. */
const timesX = (p: number): number => (p & 1 ? (p >>> 1) ^ POLY : p >>> 1);

/** REDUCE4[i] = i * x^4 modulo POLY for the low nibble i, so that p * x^4 = (p >>> 4) ^ REDUCE4[p & 15]. */
const REDUCE4 = Int32Array.from({ length: 16 }, (_, i) => timesX(timesX(timesX(timesX(i)))));

/** Scratch for multModP: MULTIPLES[n] = (nibble n as a polynomial, bit 3 is x^0) * b. */
const MULTIPLES = new Int32Array(16);

/** a * b modulo POLY: Horner's rule over a's nibbles, highest power first. */
function multModP(a: number, b: number): number {
  const m = MULTIPLES;
  m[8] = b;
  m[4] = timesX(b);
  m[2] = timesX(m[4]);
  m[1] = timesX(m[2]);
  for (let n = 3; n < 16; n++) if ((n & (n - 1)) !== 0) m[n] = m[n & (n - 1)] ^ m[n & -n];
  let p = 0;
  for (let shift = 0; shift < 32; shift += 4) p = (p >>> 4) ^ REDUCE4[p & 15] ^ m[(a >>> shift) & 15];
  return p >>> 0;
}

/** x^0 */
const ONE = 0x80000000;

/**
 * POWERS[j][v] = x^(8 * v * 256^j) modulo POLY: the operator for v * 256^j
 * zero bytes. Built on first use, one table per byte of the lengths seen.
 */
const POWERS: Int32Array[] = [];

function powers(j: number): Int32Array {
  let table = POWERS[j];
  if (table === undefined) {
    // x^(8 * 256^j) by squaring x (2^(3 + 8j) = 8 * 256^j).
    let base = ONE >>> 1; // x^1
    for (let k = 0; k < 3 + 8 * j; k++) base = multModP(base, base);
    table = new Int32Array(256);
    table[0] = ONE;
    for (let v = 1; v < 256; v++) table[v] = multModP(table[v - 1], base);
    POWERS[j] = table;
  }
  return table;
}

/** x^(8n) modulo POLY: the operator that appends n zero bytes. */
function zeroBytesOperator(n: number): number {
  let p = ONE;
  for (let j = 0; n > 0; j++) {
    const v = n % 256;
    if (v !== 0) p = p === ONE ? powers(j)[v] >>> 0 : multModP(powers(j)[v], p);
    n = Math.floor(n / 256);
  }
  return p;
}

/** CRC32C of A followed by B, from CRC32C(A), CRC32C(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(zeroBytesOperator(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}
