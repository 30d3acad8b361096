// The broker's own process series: the event loop's delay is sampled as
// often as metrics.event.loop.resolution.ms says, and each sample is the time
// between two wake-ups, so the smallest is about the setting (libuv's timers
// may fire a millisecond early: 9.2 ms was seen at 10).
import { describe, expect, it } from 'vitest';
import { startTestBroker } from '../helpers/broker.js';
import { metricValue, scrape } from '../helpers/metrics.js';

async function eventLoopLagMin(resolutionMs: string | undefined): Promise<number> {
  const broker = await startTestBroker(resolutionMs === undefined ? {} : { 'metrics.event.loop.resolution.ms': resolutionMs });
  try {
    const base = `http://127.0.0.1:${broker.metricsPort}`;
    await scrape(base); // prom-client starts the histogram over at every scrape
    await new Promise((r) => setTimeout(r, 400));
    return metricValue(await scrape(base), 'floe_nodejs_eventloop_lag_min_seconds');
  } finally {
    await broker.cleanup();
  }
}

describe('event-loop delay metrics', () => {
  it('samples every 10 ms by default, and as often as metrics.event.loop.resolution.ms says', async () => {
    const byDefault = await eventLoopLagMin(undefined);
    expect(byDefault).toBeGreaterThan(0.005);
    expect(byDefault).toBeLessThan(0.05);
    const every100 = await eventLoopLagMin('100');
    expect(every100).toBeGreaterThan(0.09);
  });
});
