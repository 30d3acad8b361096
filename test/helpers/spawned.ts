// The output of every broker child a test file started, so a failing test can
// show what its brokers printed (a crash, a port taken) next to its error.
const started: { label: string; output: () => string }[] = [];

export function recordSpawned(label: string, output: () => string): void {
  started.push({ label, output });
}

/** What the brokers started since the last call printed, oldest first; forgets them. */
export function takeSpawnedOutputs(): { label: string; text: string }[] {
  return started.splice(0).map((s) => ({ label: s.label, text: s.output() }));
}
