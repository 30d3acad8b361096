// A consumer-group member running as its own process (test/fixtures/*),
// reporting JSON lines: what it was assigned and what it consumed and committed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface MemberEvent {
  event: string;
  partitions?: number[];
  partition?: number;
  offsets?: number[];
  values?: string[];
  error?: string;
}

export class MemberProcess {
  readonly events: MemberEvent[] = [];
  /** The partitions of the latest assignment. */
  assigned: number[] = [];
  exited = false;
  private readonly proc: ChildProcess;
  private buffered = '';

  constructor(fixture: string, args: string[], command = process.execPath) {
    const script = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
    this.proc = spawn(command, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as MemberEvent;
        this.events.push(e);
        if (e.event === 'assigned') this.assigned = [...(e.partitions ?? [])].sort((a, b) => a - b);
        if (e.event === 'revoked') this.assigned = [];
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.once('exit', () => (this.exited = true));
  }

  stderr = '';

  consumed(): string[] {
    return this.events.filter((e) => e.event === 'consumed').flatMap((e) => e.values ?? []);
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** kill -9: the member vanishes without leaving the group. */
  async crash(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    await done;
  }

  async stop(timeoutMs = 15000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.send('stop');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
  }
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every partition 0..n-1 owned by exactly one of the members. */
export function ownsEachPartitionOnce(members: readonly MemberProcess[], n: number): boolean {
  const all = members.flatMap((m) => m.assigned).sort((a, b) => a - b);
  return all.length === n && all.every((p, i) => p === i);
}
