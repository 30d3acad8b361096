// Structured logs (pino): one JSON line per event on stdout. Nothing on a
// per-record path logs.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'floe', ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything (unit tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
