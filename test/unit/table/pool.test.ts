// The conversion worker yields the CPU to the broker's own threads: on Linux
// it lowers its thread's priority to nice 10 (threads have their own nice
// value there), which /proc shows per thread.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ConvertPool } from '../../../src/table/convert/pool.js';
import { rawSchema } from '../../../src/table/convert/layout.js';

/** Nice value of each thread of this process, from /proc/self/task/<tid>/stat (field 19). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

test('the conversion worker thread runs at nice 10 and the others keep their priority', async () => {
  const before = threadNices();
  expect([...before.values()].every((n) => n < 10)).toBe(true);
  const pool = new ConvertPool(1);
  try {
    const layout = { valueType: 'raw' as const, keyType: 'string' as const, flatten: false };
    const session = await pool.open({ partition: 0, layout, tableSchema: rawSchema(layout), spec: { 'spec-id': 0, fields: [] }, dlqSchema: rawSchema(layout, true), targetFileBytes: 1 << 20, errorsTolerance: 'none', startOffset: 0, dlqStartOffset: 0, latestSchemaId: null });
    await session.close();
    const after = threadNices();
    const lowered = [...after].filter(([tid, nice]) => !before.has(tid) && nice === 10);
    expect(lowered).toHaveLength(1);
    for (const [tid, nice] of before) if (after.has(tid)) expect(nice).toBe(after.get(tid));
  } finally {
    await pool.close();
  }
});
