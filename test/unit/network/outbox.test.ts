import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/network/outbox.js';

const part = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('Outbox', () => {
  it('hands parts out in order, each slice within its bytes, and every byte exactly once', () => {
    const box = new Outbox();
    const sizes = [100, 300, 50, 600, 1, 999, 250, 250, 250, 4000, 7];
    sizes.forEach((n, i) => box.push([part(n, i)], null));
    expect(box.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    const seen: number[] = [];
    const slices: number[] = [];
    while (box.length > 0) {
      const slice = box.take(1000);
      const bytes = slice.reduce((n, p) => n + p.part.length, 0);
      // Only a part larger than a slice goes over it, and then alone.
      if (bytes > 1000) expect(slice).toHaveLength(1);
      slices.push(bytes);
      for (const p of slice) seen.push(p.part[0] ?? -1);
    }
    expect(seen).toEqual(sizes.map((_, i) => i));
    expect(slices).toEqual([450, 601, 999, 750, 4000, 7]);
    expect(box.bytes).toBe(0);
    expect(box.take(1000)).toEqual([]);
  });

  it("puts a response's callback on its last part only", () => {
    const box = new Outbox();
    const calls: string[] = [];
    box.push([part(10, 1), part(10, 2), part(10, 3)], () => calls.push('first'));
    box.push([part(10, 4)], () => calls.push('second'));
    box.push([part(10, 5)], null);
    const all = box.take(1 << 20);
    expect(all.map((p) => p.done !== null)).toEqual([false, false, true, true, false]);
    for (const p of all) p.done?.();
    expect(calls).toEqual(['first', 'second']);
  });

  it('keeps order across thousands of parts taken a few at a time, with parts pushed in between', () => {
    const box = new Outbox();
    let next = 0;
    const out: number[] = [];
    for (let round = 0; round < 50; round++) {
      const parts: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(next++);
        parts.push(b);
      }
      box.push(parts, null);
      for (const p of box.take(4 * 150)) out.push(p.part.readUInt32BE());
    }
    while (box.length > 0) for (const p of box.take(4 * 150)) out.push(p.part.readUInt32BE());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
