// A failure repeated every second is logged when it starts, then once a
// minute with its count, and once when it ends: the lines a real pino logger
// writes, with the clock moved by hand.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { RepeatedFailureLog } from '../../../src/table/failure-log.js';

test('a failure repeating every second: one line when it starts, one a minute with its count, a new one when it changes, one when it ends', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let now = 1_000_000;
  const failures = new RepeatedFailureLog(pino({ level: 'info' }, sink), { topic: 'orders' }, 'table topic commit', 60_000, () => now);
  const tick = (err: Error | null) => {
    if (err === null) failures.succeeded();
    else failures.failed(err);
    now += 1000;
  };
  const seen = () => lines.map((l) => [l.level, l.msg, l.topic, l.repeats ?? null, (l.err as { message?: string } | undefined)?.message ?? l.failure]);

  for (let i = 0; i < 150; i++) tick(new Error('schema 1 cannot be converted'));
  // At 0 s, then at 60 s and at 120 s, each with the 60 failures since the line before.
  expect(seen()).toEqual([
    [40, 'table topic commit failed; retrying next interval', 'orders', null, 'schema 1 cannot be converted'],
    [40, 'table topic commit still failing; retrying next interval', 'orders', 60, 'schema 1 cannot be converted'],
    [40, 'table topic commit still failing; retrying next interval', 'orders', 60, 'schema 1 cannot be converted'],
  ]);
  lines.length = 0;
  // Another failure is news at once; its own minute starts then.
  for (let i = 0; i < 30; i++) tick(new Error('catalog unreachable'));
  tick(null);
  tick(null);
  expect(seen()).toEqual([
    [40, 'table topic commit failed; retrying next interval', 'orders', null, 'catalog unreachable'],
    [30, 'table topic commit works again', 'orders', null, 'catalog unreachable'],
  ]);
  lines.length = 0;
  // After recovery, the same failure as before is new again.
  tick(new Error('catalog unreachable'));
  expect(seen()).toEqual([[40, 'table topic commit failed; retrying next interval', 'orders', null, 'catalog unreachable']]);
});
