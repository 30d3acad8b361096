// Iceberg's single-value binary serialization (spec Appendix D), used for
// lower/upper bounds in manifests and partition summaries in manifest lists.
// Values arrive as the converter holds them: numbers for int/float/double/
// date, bigint or number for long and the micros-based temporal types,
// strings, Buffers for binary/fixed/uuid, bigint unscaled values for decimal.

import { minimalTwosComplement } from './transforms.js';
import type { PrimitiveType } from './types.js';

export type PrimitiveValue = boolean | number | bigint | string | Buffer;

export function encodeSingleValue(type: PrimitiveType, v: PrimitiveValue): Buffer {
  switch (type) {
    case 'boolean':
      return Buffer.of(v ? 1 : 0);
    case 'int':
    case 'date': {
      const b = Buffer.allocUnsafe(4);
      b.writeInt32LE(Number(v));
      return b;
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64LE(BigInt(v as number | bigint));
      return b;
    }
    case 'float': {
      const b = Buffer.allocUnsafe(4);
      b.writeFloatLE(Number(v));
      return b;
    }
    case 'double': {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleLE(Number(v));
      return b;
    }
    case 'string':
      return Buffer.from(v as string, 'utf8');
    case 'uuid':
      return typeof v === 'string' ? Buffer.from(v.replace(/-/g, ''), 'hex') : (v as Buffer);
    case 'binary':
      return v as Buffer;
    default:
      if (type.startsWith('fixed[')) return v as Buffer;
      if (type.startsWith('decimal(')) return minimalTwosComplement(BigInt(v as bigint | number));
      throw new Error(`no single-value encoding for ${type}`);
  }
}

/** Iceberg's order of values of one type: strings by UTF-8 bytes (code points, not UTF-16 units), binaries bytewise. */
export function compareSingleValues(a: PrimitiveValue, b: PrimitiveValue): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if (typeof a === 'boolean') return Number(a) - Number(b as boolean);
  return a < b ? -1 : a > b ? 1 : 0;
}
