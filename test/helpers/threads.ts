// Scheduling of this process's threads as Linux shows them per thread, for
// tests of the conversion worker's priority (table.topic.convert.priority).
import { readdirSync, readFileSync } from 'node:fs';

export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

/** Nice value (field 19) and scheduling policy (field 41) of each thread of this process, from /proc/self/task/<tid>/stat. */
export function threadSchedules(): Map<number, { nice: number; policy: number }> {
  const out = new Map<number, { nice: number; policy: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 on
    out.set(Number(tid), { nice: Number(fields[16]), policy: Number(fields[38]) });
  }
  return out;
}
