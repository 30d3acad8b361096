// V8 flags a broker process starts with: package.json's start script,
// bin/floe.js's shebang, docker-compose.yml, and the brokers the tests and
// benchmarks spawn all pass these (a unit test keeps them in step).
//
// A broker's JavaScript heap is small (about 12 MB live) while produce and
// fetch churn large buffers outside it. V8 then keeps the old generation's
// limit so close to the live size that, with the young generation at its
// 16 MB maximum, the limit always looks near: under load it ran incremental
// marking and a mark-compact every 60 ms (110 in 13 s at 80 MB/s). Starting
// the old generation at 256 MB leaves that garbage to the scavenger; the
// produce path's CPU per GB fell by a third (BENCHMARKS.md). V8 reads heap
// configuration only when the process starts, so these cannot be set later
// from inside the broker.
export const BROKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];

/** The flags of BROKER_NODE_FLAGS this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return BROKER_NODE_FLAGS.filter((f) => !execArgv.includes(f));
}
