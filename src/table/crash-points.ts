// Named points in the table commit protocol where the crash tests kill the
// broker (FLOE_TABLE_CRASH_POINT=<name>): SIGKILL, as kill -9 would, so
// nothing after the point runs. Unset in production; a no-op then.

export type CrashPoint = 'after-data-files' | 'after-manifests' | 'after-metadata-file' | 'after-catalog-commit';

export function crashPoint(name: CrashPoint): void {
  if (process.env.FLOE_TABLE_CRASH_POINT === name) process.kill(process.pid, 'SIGKILL');
}
