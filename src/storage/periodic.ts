// A background job that runs one pass at a time, every interval, for
// retention and compaction: passes never overlap, runOnce() joins the pass in
// progress, and stop() waits for it.

export class PeriodicTask<R, A = void> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<R> | null = null;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    /** `arg` is what runOnce was given; undefined for the periodic passes. */
    private readonly pass: (arg?: A) => Promise<R>,
  ) {}

  start(): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.stopped) tick();
        });
      }, this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /** One pass now; concurrent callers share the pass in progress (and its `arg`). */
  runOnce(arg?: A): Promise<R> {
    this.running ??= this.pass(arg).finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
