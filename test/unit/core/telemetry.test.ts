import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { powertoolsMetrics } from '../../../functions/core/telemetry.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Powertools' Metrics as Lambda runs it, with its EMF lines and warnings captured. */
function recorder() {
  // Dev mode makes Powertools write EMF through the global console, where it can be read here
  // (and would turn metrics off, unless told otherwise).
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)));
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const metrics = new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'receiver', logger });
  return { logger, lines, metrics, recorder: powertoolsMetrics(metrics) };
}

describe('metrics through Powertools', () => {
  it('flushes a forged push (only a single metric) and a quiet batch (nothing) without a warning', () => {
    const { logger, lines, recorder: r } = recorder();
    r.count('Rejections', 1, { name: 'Reason', value: 'Forbidden' });
    r.flush();
    r.flush();
    expect(logger.warn).not.toHaveBeenCalled();
    expect(lines.filter((l) => l.includes('"Rejections"'))).toHaveLength(1);
  });

  it('publishes what was counted once, then has nothing stored', () => {
    const { logger, lines, metrics, recorder: r } = recorder();
    r.count('Heartbeats');
    r.count('Heartbeats');
    r.flush();
    expect(metrics.hasStoredMetrics()).toBe(false);
    const published = lines.filter((l) => l.includes('"Heartbeats"'));
    expect(published).toHaveLength(1);
    // Powertools sends repeated counts as a list of values; CloudWatch adds them up.
    expect([JSON.parse(published[0] ?? '{}').Heartbeats].flat()).toEqual([1, 1]);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
