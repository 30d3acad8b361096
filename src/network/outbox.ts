// Response bytes waiting for their turn on a connection's socket, handed
// out a slice at a time. Sans-IO: the connection decides when a slice is
// written; this only keeps the order, the byte count and the callbacks.

export interface OutboxPart {
  readonly part: Buffer;
  /** Runs once the socket has written this part (set on a response's last part only). */
  readonly done: (() => void) | null;
}

export class Outbox {
  private parts: OutboxPart[] = [];
  private head = 0;
  /** Bytes queued and not yet taken. */
  bytes = 0;

  get length(): number {
    return this.parts.length - this.head;
  }

  /** One response's parts, in order; `done` goes with the last of them. */
  push(parts: readonly Buffer[], done: (() => void) | null): void {
    for (let i = 0; i < parts.length; i++) {
      this.parts.push({ part: parts[i], done: i === parts.length - 1 ? done : null });
      this.bytes += parts[i].length;
    }
  }

  /**
   * Parts from the front while their total stays within maxBytes; always at
   * least one, so a part larger than a slice goes out on its own rather
   * than never.
   */
  take(maxBytes: number): OutboxPart[] {
    const out: OutboxPart[] = [];
    let bytes = 0;
    while (this.head < this.parts.length) {
      const p = this.parts[this.head];
      if (out.length > 0 && bytes + p.part.length > maxBytes) break;
      out.push(p);
      bytes += p.part.length;
      this.head++;
    }
    this.bytes -= bytes;
    // A fetch response can be thousands of parts: the taken ones are dropped in bulk, not shifted off one by one.
    if (this.head === this.parts.length) {
      this.parts = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.parts.length) {
      this.parts = this.parts.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
