// Setup file of both vitest configs: when a test fails, print what the broker
// processes it started wrote, which the test's own error does not carry.
import { afterEach } from 'vitest';
import { takeSpawnedOutputs } from './spawned.js';

afterEach(({ task }) => {
  const outputs = takeSpawnedOutputs();
  // A failure is recorded on the task before the afterEach hooks run.
  if (task.result?.state !== 'fail') return;
  for (const { label, text } of outputs) console.error(`--- ${label} (${task.name}) ---\n${text.slice(-20_000)}--- end of ${label} ---`);
});
