// A failure that repeats on every tick (a first schema no table can be made
// from, a catalog that is down) is logged when it starts or changes, then
// once an interval with how often it recurred, and once more when it ends:
// an operator reads one line a minute, not one a second. Counting every
// occurrence is the metrics' and the status endpoint's job, not this one's.

import type { Logger } from 'pino';

export class RepeatedFailureLog {
  /** The failure being repeated: its message, when it was last logged, and how often it recurred since. */
  private current: { message: string; loggedAt: number; since: number } | null = null;

  constructor(
    private readonly log: Logger,
    /** Fields every line carries (the topic). */
    private readonly fields: Record<string, unknown>,
    private readonly what: string,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  failed(err: unknown): void {
    const message = (err as Error).message;
    const now = this.now();
    const f = this.current;
    if (f === null || f.message !== message) {
      this.current = { message, loggedAt: now, since: 0 };
      this.log.warn({ err, ...this.fields }, `${this.what} failed; retrying next interval`);
    } else if (now - f.loggedAt >= this.intervalMs) {
      this.log.warn({ err, ...this.fields, repeats: f.since + 1 }, `${this.what} still failing; retrying next interval`);
      f.loggedAt = now;
      f.since = 0;
    } else {
      f.since++;
    }
  }

  succeeded(): void {
    if (this.current === null) return;
    this.log.info({ ...this.fields, failure: this.current.message }, `${this.what} works again`);
    this.current = null;
  }
}
