// The output of every broker child a test file started, so a failing test can
// show what its brokers printed (a crash, a port taken) next to its error.
interface Spawned {
  readonly label: string;
  readonly output: () => string;
  readonly running: () => boolean;
}

let spawned: Spawned[] = [];

export function recordSpawned(label: string, output: () => string, running: () => boolean): void {
  spawned.push({ label, output, running });
}

/**
 * What the brokers printed that were started since the last call or are
 * still running (one a beforeAll started serves every test of its file);
 * the ones that have exited are then forgotten.
 */
export function takeSpawnedOutputs(): { label: string; text: string }[] {
  const out = spawned.map((s) => ({ label: s.label, text: s.output() }));
  spawned = spawned.filter((s) => s.running());
  return out;
}
