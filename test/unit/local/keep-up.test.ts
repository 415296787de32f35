import { describe, expect, it } from 'vitest';
import { KeepUpMonitor, pushTimeoutRealMs } from '../../../local/keep-up.ts';
import type { DeliveryRecord } from '../../../simulator/push-engine.ts';

const SCALE = 48;
function attempt(realMs: number, outcome: DeliveryRecord['outcome'] = 'OK'): DeliveryRecord {
  return {
    seq: 1,
    subscriptionId: 'S',
    mailbox: 'm',
    url: '',
    notification: 1,
    attempt: 0,
    kind: 'status',
    duplicate: false,
    eventCount: 0,
    moreEvents: false,
    previousWatermark: null,
    watermark: null,
    scheduledAt: 0,
    startedAt: 0,
    finishedAt: realMs * SCALE,
    outcome,
    httpStatus: 200,
    detail: null,
  };
}

describe('whether the local run keeps up', () => {
  it('knows the simulator push timeout in real time: 10 simulated seconds, at least 1 real second', () => {
    expect(pushTimeoutRealMs(48)).toBe(1000);
    expect(pushTimeoutRealMs(6)).toBeCloseTo(1666.7, 0);
  });

  it('keeps quiet while pushes are answered well within the timeout and the backlog does not grow', () => {
    const monitor = new KeepUpMonitor(SCALE);
    const reading = monitor.read(1000, [attempt(20), attempt(60)], 5);
    expect(reading).toMatchObject({ pushP95Ms: 60, pushTimeoutMs: 1000, warning: undefined });
    expect(monitor.summary()).toMatchObject({ warnings: 0, worstPushP95Ms: 60 });
  });

  it('warns when the push answer p95 passes half the timeout, and louder on a timeout', () => {
    const monitor = new KeepUpMonitor(SCALE);
    const late = monitor.read(
      1000,
      Array.from({ length: 20 }, () => attempt(600)),
      0,
    );
    expect(late.warning).toMatch(
      /cannot keep up: push answers p95 600 ms, over half the 1000 ms push timeout/,
    );
    const timedOut = monitor.read(2000, [attempt(1000, 'timeout')], 0);
    expect(timedOut.warning).toMatch(/1 pushes got no answer within the 1000 ms push timeout/);
    // Ten seconds later the window has moved on.
    expect(monitor.read(13_000, [attempt(10)], 0).warning).toBeUndefined();
    expect(monitor.summary()).toMatchObject({ warnings: 2, pushTimeouts: 1, worstPushP95Ms: 600 });
    expect(monitor.summary().firstWarning).toMatch(/p95 600 ms/);
  });

  it('warns when the ingest backlog has grown ten readings in a row (counting the first rise from empty)', () => {
    const monitor = new KeepUpMonitor(SCALE);
    let reading = monitor.read(0, [], 100);
    for (let i = 1; i <= 10; i++) reading = monitor.read(i * 1000, [], 100 + i * 50);
    expect(reading.warning).toMatch(
      /the ingest backlog has grown for 11 s \(600 events\): the processor is behind/,
    );
    expect(monitor.read(11_000, [], 550).warning).toBeUndefined();
    expect(monitor.summary().maxIngestBacklog).toBe(600);
  });
});
