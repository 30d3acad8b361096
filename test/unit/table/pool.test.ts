// The conversion worker yields the CPU to the broker's own threads: on Linux
// it lowers its own thread (threads have their own nice value and scheduling
// policy there) to SCHED_IDLE, or to nice 10 with table.topic.convert.priority
// =nice, which /proc shows per thread.
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { ConvertPool, type ConvertPriority } from '../../../src/table/convert/pool.js';
import { rawSchema } from '../../../src/table/convert/layout.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { SCHED_IDLE, SCHED_OTHER, threadSchedules } from '../../helpers/threads.js';

async function lowered(priority: ConvertPriority): Promise<{ nice: number; policy: number }[]> {
  const before = threadSchedules();
  expect([...before.values()].every((t) => t.nice < 10 && t.policy === SCHED_OTHER)).toBe(true);
  const pool = new ConvertPool(1, priority);
  try {
    const layout = { valueType: 'raw' as const, keyType: 'string' as const, flatten: false };
    const session = await pool.open({ partition: 0, layout, tableSchema: rawSchema(layout), spec: { 'spec-id': 0, fields: [] }, dlqSchema: rawSchema(layout, true), targetFileBytes: 1 << 20, errorsTolerance: 'none', startOffset: 0, dlqStartOffset: 0, latestSchemaId: null });
    await session.close();
    const after = threadSchedules();
    // The others keep theirs.
    for (const [tid, t] of before) if (after.has(tid)) expect(after.get(tid)).toEqual(t);
    return [...after].filter(([tid, t]) => !before.has(tid) && (t.nice === 10 || t.policy !== SCHED_OTHER)).map(([, t]) => t);
  } finally {
    await pool.close();
  }
}

test('the conversion worker thread runs at SCHED_IDLE by default and the others keep their priority', async () => {
  // Debian's util-linux always has chrt; without it the worker stays at nice 10.
  const chrt = spawnSync('chrt', ['--version']).status === 0;
  expect(await lowered('idle')).toEqual([{ nice: 10, policy: chrt ? SCHED_IDLE : SCHED_OTHER }]);
});

test('table.topic.convert.priority=nice: the conversion worker thread runs at nice 10, in the normal policy', async () => {
  expect(await lowered('nice')).toEqual([{ nice: 10, policy: SCHED_OTHER }]);
});

test("a data file comes back from the conversion thread in shared memory, whole, so the fs store's writer thread takes it without a copy", async () => {
  const pool = new ConvertPool(1, 'nice');
  try {
    const layout = { valueType: 'raw' as const, keyType: 'string' as const, flatten: false };
    const session = await pool.open({ partition: 0, layout, tableSchema: rawSchema(layout), spec: { 'spec-id': 0, fields: [] }, dlqSchema: rawSchema(layout, true), targetFileBytes: 1 << 20, errorsTolerance: 'none', startOffset: 0, dlqStartOffset: 0, latestSchemaId: null });
    const batch = await buildBatch(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`value ${i}`), timestamp: 1_700_000_000_000 + i })), { baseOffset: 0 });
    expect(await session.append([batch])).toMatchObject({ status: 'ok', nextOffset: 50 });
    const files = await session.flush();
    expect(files.map((f) => f.recordCount)).toEqual([50]);
    const bytes = files[0].bytes;
    expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([text.subarray(0, 4).toString(), text.subarray(-4).toString()]).toEqual(['PAR1', 'PAR1']);
    await session.close();
  } finally {
    await pool.close();
  }
});
