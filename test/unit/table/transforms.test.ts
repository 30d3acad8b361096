// Iceberg partition transforms against the spec's published values
// (Appendix B's hash vectors and the transform examples).
import { describe, expect, test } from 'vitest';
import {
  applyTransform,
  bucketOf,
  hashDecimal,
  hashLong,
  hashString,
  hashUuid,
  minimalTwosComplement,
  murmur3x86_32,
  parseTransformName,
  temporal,
  transformName,
  truncateBinary,
  truncateInteger,
  truncateString,
} from '../../../src/table/iceberg/transforms.js';
import { parsePartitionBy } from '../../../src/table/partition-by.js';

const days = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('32-bit Murmur3 hashes (Iceberg spec, Appendix B)', () => {
  test.each([
    ['int 34', hashLong(34), 2017239379],
    ['long 34', hashLong(34n), 2017239379],
    ['decimal(9,2) 14.20', hashDecimal(1420n), -500754589],
    ['date 2017-11-16', hashLong(days('2017-11-16')), -653330422],
    ['time 22:31:08', hashLong((22n * 3600n + 31n * 60n + 8n) * 1_000_000n), -662762989],
    ['timestamp 2017-11-16T22:31:08', hashLong(micros('2017-11-16T22:31:08Z')), -2047944441],
    ['timestamptz 2017-11-16T14:31:08-08:00', hashLong(micros('2017-11-16T14:31:08-08:00')), -2047944441],
    ['string iceberg', hashString('iceberg'), 1210000089],
    ['uuid f79c3e09-677c-4bbd-a479-3f349cb785e7', hashUuid('f79c3e09-677c-4bbd-a479-3f349cb785e7'), 1488055340],
    ['fixed/binary 00 01 02 03', murmur3x86_32(Buffer.from([0, 1, 2, 3])), -188683207],
  ])('%s', (_label, got, want) => {
    expect(got).toBe(want);
  });

  test('bucket discards the sign bit before the modulo', () => {
    expect(bucketOf(hashLong(34), 16)).toBe(3);
    expect(bucketOf(-2047944441, 100)).toBe((-2047944441 & 0x7fffffff) % 100);
    expect(bucketOf(hashDecimal(1420n), 100)).toBe(59);
  });

  test('decimal bytes are minimal two\'s complement, as Java\'s BigInteger.toByteArray()', () => {
    expect(minimalTwosComplement(1420n)).toEqual(Buffer.from([0x05, 0x8c]));
    expect(minimalTwosComplement(0n)).toEqual(Buffer.from([0]));
    expect(minimalTwosComplement(127n)).toEqual(Buffer.from([0x7f]));
    expect(minimalTwosComplement(128n)).toEqual(Buffer.from([0x00, 0x80]));
    expect(minimalTwosComplement(-1n)).toEqual(Buffer.from([0xff]));
    expect(minimalTwosComplement(-129n)).toEqual(Buffer.from([0xff, 0x7f]));
  });
});

describe('truncate and temporal transforms (spec examples)', () => {
  test('truncate', () => {
    expect(truncateInteger(1n, 10)).toBe(0n);
    expect(truncateInteger(-1n, 10)).toBe(-10n);
    expect(truncateInteger(10n, 10)).toBe(10n);
    expect(truncateInteger(1065n, 50)).toBe(1050n); // decimal 10.65, width 50 -> 10.50
    expect(truncateString('iceberg', 3)).toBe('ice');
    expect(truncateString('😀😀😀', 2)).toBe('😀😀'); // code points, not UTF-16 units
    expect(truncateBinary(Buffer.from([1, 2, 3, 4]), 2)).toEqual(Buffer.from([1, 2]));
  });

  test('year, month, day, hour count from the epoch, flooring before it', () => {
    expect(temporal('year', days('2017-11-16'), false)).toBe(47);
    expect(temporal('month', days('2017-11-16'), false)).toBe(47 * 12 + 10);
    expect(temporal('day', micros('2017-11-16T22:31:08Z'), true)).toBe(days('2017-11-16'));
    expect(temporal('hour', micros('1970-01-01T01:59:59Z'), true)).toBe(1);
    expect(temporal('hour', micros('1969-12-31T23:59:59Z'), true)).toBe(-1);
    expect(temporal('day', micros('1969-12-31T23:59:59Z'), true)).toBe(-1);
    expect(temporal('month', days('1969-12-31'), false)).toBe(-1);
    expect(temporal('year', days('1969-12-31'), false)).toBe(-1);
  });

  test('transform names round-trip', () => {
    for (const name of ['identity', 'year', 'month', 'day', 'hour', 'void', 'bucket[16]', 'truncate[4]']) expect(transformName(parseTransformName(name))).toBe(name);
    expect(() => parseTransformName('bucket[0]')).toThrow();
    expect(() => parseTransformName('sideways')).toThrow();
  });
});

describe('automq.table.topic.partition.by', () => {
  test('AutoMQ\'s syntax', () => {
    expect(parsePartitionBy('[bucket(name, 16), month(ts), truncate(code,4), day(_kafka_metadata.timestamp), region]')).toEqual([
      { source: 'name', transform: { kind: 'bucket', n: 16 } },
      { source: 'ts', transform: { kind: 'month' } },
      { source: 'code', transform: { kind: 'truncate', width: 4 } },
      { source: '_kafka_metadata.timestamp', transform: { kind: 'day' } },
      { source: 'region', transform: { kind: 'identity' } },
    ]);
    expect(parsePartitionBy('[]')).toEqual([]);
  });

  test.each(['bucket(name, 16)', '[bucket(name)]', '[bucket(name, 0)]', '[month(ts, 3)]', '[spin(ts)]', '[a b]', '[day(ts)', '[((x))]', '[day(ts), day(ts)]', `[${Array.from({ length: 40 }, (_, i) => `c${i}`).join(',')}]`])(
    'refuses %s',
    (value) => {
      expect(() => parsePartitionBy(value)).toThrow();
    },
  );
});

describe('applyTransform on values as the converter holds them', () => {
  test('a string column holding UTF-8 bytes (a Kafka key) transforms as its text', () => {
    const bytes = Buffer.from('iceberg');
    expect(applyTransform({ kind: 'bucket', n: 16 }, 'string', bytes)).toBe(bucketOf(1210000089, 16));
    expect(applyTransform({ kind: 'identity' }, 'string', bytes)).toBe('iceberg');
    expect(applyTransform({ kind: 'truncate', width: 3 }, 'string', Buffer.from('ünïcode'))).toBe('ünï');
    expect(applyTransform({ kind: 'bucket', n: 16 }, 'string', null)).toBeNull();
  });
});
