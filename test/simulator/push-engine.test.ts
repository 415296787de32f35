/**
 * The push engine against ews-protocol.md §1–2: heartbeat cadence under time scaling, the
 * unbroken watermark chain, MoreEvents batching, the retry schedule and silent drop, Unsubscribe,
 * and how replies are classified. Times are asserted on the simulated clock: the schedule the
 * engine computed exactly, and what the receiver observed within the clock's jitter.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { type Clock, createScaledClock } from '../../functions/core/clock.ts';
import type { SubscribableEventType } from '../../functions/ews/subscribe.ts';
import type { Simulator } from '../../simulator/server.ts';
import {
  defined,
  elapse,
  jitterTolerance,
  type ReceivedPush,
  type Receiver,
  startWithReceiver,
  subscribe,
  value,
  waitFor,
} from './support.ts';

const ADA = 'ada@contoso.test';
/** Starts a simulator, a receiver and one subscription; both stop when the test ends. */
async function setUp(
  context: TestContext,
  timeScale: number,
  options: {
    statusFrequency?: number;
    eventTypes?: SubscribableEventType[];
    allFolders?: boolean;
    minPushTimeoutRealMs?: number;
  } = {},
): Promise<{ clock: Clock; sim: Simulator; receiver: Receiver; subscriptionId: string; watermark: string }> {
  const clock = createScaledClock({ timeScale });
  // Cleaned up per test, not in afterEach: the retry-schedule tests run concurrently.
  const { sim, receiver } = await startWithReceiver(context.onTestFinished, {
    clock,
    mailboxes: [ADA],
    ...(options.minPushTimeoutRealMs === undefined
      ? {}
      : { minPushTimeoutRealMs: options.minPushTimeoutRealMs }),
  });
  const { subscriptionId, watermark } = value(
    await subscribe(sim, ADA, {
      folders: options.allFolders
        ? 'all'
        : [{ distinguishedFolderId: 'inbox' }, { distinguishedFolderId: 'calendar' }],
      eventTypes: options.eventTypes ?? [
        'NewMailEvent',
        'CreatedEvent',
        'ModifiedEvent',
        'MovedEvent',
        'DeletedEvent',
      ],
      statusFrequency: options.statusFrequency ?? 1,
      url: receiver.url,
    }),
  );
  return { clock, sim, receiver, subscriptionId, watermark };
}

const eventTypes = (push: ReceivedPush) => push.decoded?.notifications[0]?.events.map((e) => e.type) ?? [];
const notification = (push: ReceivedPush) => {
  const n = push.decoded?.notifications[0];
  if (n === undefined) throw new Error(`push is not a decodable notification: ${push.body.slice(0, 200)}`);
  return n;
};

describe('the push request', () => {
  it('POSTs to the callback URL exactly as given, as SOAP 1.1 with the SendNotification SOAPAction', async (context) => {
    const { clock, receiver, subscriptionId } = await setUp(context, 600);
    await waitFor(clock, () => receiver.pushes.length >= 1, 'the first push', 60_000);
    const [push] = receiver.pushes;
    expect(push?.method).toBe('POST');
    expect(push?.url).toBe('/callback/abc?token=t0k%2B');
    expect(push?.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(push?.headers.soapaction).toBe(
      '"http://schemas.microsoft.com/exchange/services/2006/messages/SendNotification"',
    );
    expect(push?.decoded?.notifications[0]?.subscriptionId).toBe(subscriptionId);
  });
});

describe('heartbeats', () => {
  // Two time scales, so the cadence is shown to follow StatusFrequency in simulated time.
  it.for([
    [300, 1],
    [900, 2],
  ] as const)(
    'at time scale %i, StatusEvents come every StatusFrequency (%i min) when nothing happens',
    async ([scale, minutes], context) => {
      const { clock, sim, receiver, subscriptionId, watermark } = await setUp(context, scale, {
        statusFrequency: minutes,
      });
      await waitFor(
        clock,
        () => sim.deliveries({ subscriptionId }).length >= 5,
        '5 heartbeats',
        6 * minutes * 60_000,
      );
      const period = minutes * 60_000;
      const tolerance = jitterTolerance(clock);
      // The first comes straight after Subscribe, the others StatusFrequency after the one before.
      const heartbeats = sim.deliveries({ subscriptionId }).slice(0, 5);
      expect(heartbeats.map((d) => d.kind)).toEqual(['status', 'status', 'status', 'status', 'status']);
      for (let i = 1; i < heartbeats.length; i++) {
        const previous = defined(heartbeats[i - 1]);
        const current = defined(heartbeats[i]);
        expect(current.scheduledAt - previous.startedAt).toBe(period);
        // Exact in simulated time; on a loaded machine timers fire late, never early.
        expect(current.startedAt).toBeGreaterThanOrEqual(current.scheduledAt);
        const observed = (receiver.pushes[i]?.at ?? 0) - (receiver.pushes[i - 1]?.at ?? 0);
        expect(observed).toBeGreaterThanOrEqual(period - tolerance);
      }
      // Nothing happened, so every heartbeat carries the subscription's starting watermark.
      for (const push of receiver.pushes.slice(0, 5)) {
        const n = notification(push);
        expect(n.events.map((e) => [e.type, e.watermark])).toEqual([['StatusEvent', watermark]]);
        expect(n.previousWatermark).toBe(watermark);
        expect(n.moreEvents).toBe(false);
      }
    },
  );

  it('pushes events as they happen and restarts the heartbeat period after each push', async (context) => {
    const { clock, sim, receiver, subscriptionId } = await setUp(context, 600, { statusFrequency: 2 });
    await waitFor(clock, () => receiver.pushes.length >= 1, 'the first heartbeat', 60_000);
    await elapse(clock, 20_000);
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(
      clock,
      () => sim.deliveries({ subscriptionId }).length >= 3,
      'the event push and the next heartbeat',
      240_000,
    );
    const [, eventPush, heartbeat] = sim.deliveries({ subscriptionId });
    expect(eventPush?.kind).toBe('events');
    // Scheduled when the change happened, not at the next heartbeat (when it starts depends on
    // the machine's load, which no assertion here may depend on).
    expect((eventPush?.scheduledAt ?? 0) - change.at).toBeLessThanOrEqual(jitterTolerance(clock));
    expect(heartbeat?.kind).toBe('status');
    expect((heartbeat?.scheduledAt ?? 0) - (eventPush?.startedAt ?? 0)).toBe(120_000);
  });
});

describe('the watermark chain', () => {
  it('is unbroken across event pushes and heartbeats, and carries every event of the ground truth once, in order', async (context) => {
    const { clock, sim, receiver, watermark } = await setUp(context, 600, {
      allFolders: true,
      eventTypes: [
        'NewMailEvent',
        'CreatedEvent',
        'ModifiedEvent',
        'MovedEvent',
        'CopiedEvent',
        'DeletedEvent',
        'FreeBusyChangedEvent',
      ],
    });
    const initialChanges = sim.changes({ mailbox: ADA }).length;
    const plan = [
      ['create', 'inbox'],
      ['modify', 'inbox'],
      ['readFlag', 'inbox'],
      ['create', 'calendar'],
      ['copy', 'inbox'],
      ['move', 'inbox'],
      ['modify', 'calendar'],
      ['delete', 'inbox'],
      ['move', 'deleteditems'],
      ['delete', 'calendar'],
    ] as const;
    for (const [i, [kind, folder]] of plan.entries()) {
      sim.makeChange({ mailbox: ADA, kind, folder });
      // Now and then long enough for a heartbeat in between.
      await elapse(clock, i % 3 === 2 ? 70_000 : 15_000);
    }
    const changes = sim.changes({ mailbox: ADA }).slice(initialChanges);
    expect(changes.map((c) => c.kind)).toEqual(plan.map(([kind]) => kind));
    const expected = changes.flatMap((c) => c.events.map((e) => e.watermark));
    await waitFor(
      clock,
      () => receiver.pushes.some((p) => notification(p).events.some((e) => e.watermark === expected.at(-1))),
      'the last change to be pushed',
      60_000,
    );
    let last = watermark;
    const received: string[] = [];
    let heartbeats = 0;
    for (const push of receiver.pushes) {
      const n = notification(push);
      expect(n.previousWatermark).toBe(last);
      for (const event of n.events) {
        if (event.type === 'StatusEvent') heartbeats++;
        else received.push(event.watermark ?? '');
        last = event.watermark ?? last;
      }
    }
    expect(heartbeats).toBeGreaterThanOrEqual(3);
    expect(received).toEqual(expected);
    expect(new Set(received).size).toBe(received.length);
  });
});

describe('MoreEvents', () => {
  it('splits more than 50 queued events into notifications of 50, sent back to back', async (context) => {
    // StatusFrequency 30: a push that waited for the heartbeat would come half an hour later.
    const { clock, sim, receiver, subscriptionId } = await setUp(context, 600, {
      eventTypes: ['CreatedEvent'],
      statusFrequency: 30,
    });
    await waitFor(clock, () => sim.deliveries().length >= 1, 'the first heartbeat', 60_000);
    for (let i = 0; i < 120; i++) sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(clock, () => sim.deliveries().length >= 4, 'three event pushes', 600_000);
    const pushes = receiver.pushes.slice(1, 4).map(notification);
    expect(pushes.map((n) => n.events.length)).toEqual([50, 50, 20]);
    expect(pushes.map((n) => n.moreEvents)).toEqual([true, true, false]);
    expect(pushes.every((n) => n.events.every((e) => e.type === 'CreatedEvent'))).toBe(true);
    // Back to back: each follows the acknowledgement of the one before, not the heartbeat period.
    const deliveries = sim.deliveries({ subscriptionId }).slice(1, 4);
    for (let i = 1; i < deliveries.length; i++) {
      expect((deliveries[i]?.startedAt ?? 0) - (deliveries[i - 1]?.finishedAt ?? 0)).toBeLessThan(5 * 60_000);
    }
    const created = sim
      .changes({ mailbox: ADA })
      .slice(-120)
      .map((c) => c.itemId);
    expect(pushes.flatMap((n) => n.events.map((e) => e.itemId?.id))).toEqual(created);
  });
});

describe('the retry schedule and the silent drop (ews-protocol.md §2)', () => {
  // Retries 30 s, 60 s, 120 s … apart while the interval does not exceed StatusFrequency.
  describe.concurrent.each([
    [1, 300, [30, 60]],
    [5, 300, [30, 60, 120, 240]],
    [30, 600, [30, 60, 120, 240, 480, 960]],
  ])('StatusFrequency %i min (time scale %i)', (minutes, scale, intervals) => {
    it(`retries ${intervals.length} times, then drops the subscription without a word`, async (context) => {
      const { clock, sim, receiver, subscriptionId } = await setUp(context, scale, {
        statusFrequency: minutes,
      });
      receiver.answerWith(() => ({ status: 500, body: 'down for maintenance' }));
      const total = intervals.reduce((a, b) => a + b, 0) * 1000;
      await waitFor(
        clock,
        () => sim.subscriptions()[0]?.state === 'expired',
        'the subscription to be dropped',
        total + 120_000,
      );
      const attempts = sim.deliveries({ subscriptionId });
      expect(attempts).toHaveLength(intervals.length + 1);
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i));
      expect(new Set(attempts.map((a) => a.notification)).size).toBe(1);
      expect(attempts.every((a) => a.outcome === 500)).toBe(true);
      // The schedule is exact in simulated time. What the receiver observes may come late on a
      // loaded machine (timers fire late), never early: a lower bound only, no timing threshold.
      const tolerance = jitterTolerance(clock);
      for (let k = 1; k < attempts.length; k++) {
        const previous = defined(attempts[k - 1]);
        const current = defined(attempts[k]);
        expect(current.scheduledAt - previous.startedAt).toBe((intervals[k - 1] ?? 0) * 1000);
        expect(current.startedAt).toBeGreaterThanOrEqual(current.scheduledAt);
        const observed = (receiver.pushes[k]?.at ?? 0) - (receiver.pushes[k - 1]?.at ?? 0);
        expect(observed).toBeGreaterThanOrEqual((intervals[k - 1] ?? 0) * 1000 - tolerance);
      }
      // The retries resend the same notification, byte for byte.
      expect(new Set(receiver.pushes.map((p) => p.body)).size).toBe(1);
      const dropped = sim.subscriptions()[0];
      expect(dropped?.endReason).toMatch(/exceeds StatusFrequency/);
      // Dropped means silent: no push, no heartbeat, whatever happens in the mailbox.
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
      await elapse(clock, Math.min(2 * minutes, 10) * 60_000);
      expect(receiver.pushes).toHaveLength(intervals.length + 1);
      const elapsed = (attempts.at(-1)?.startedAt ?? 0) - (attempts[0]?.startedAt ?? 0);
      expect(elapsed).toBeGreaterThanOrEqual(total);
    });
  });

  it('delivers the same notification on a retry after failures, and the chain goes on', async (context) => {
    const { clock, sim, receiver, subscriptionId, watermark } = await setUp(context, 300, {
      statusFrequency: 5,
    });
    await waitFor(clock, () => receiver.pushes.length >= 1, 'the first heartbeat', 60_000);
    receiver.answerWith((_push, index) => (index <= 2 ? { status: 200, body: 'not soap' } : 'OK'));
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(
      clock,
      () => sim.deliveries({ subscriptionId }).length >= 4,
      'two failures and the retry that succeeds',
      200_000,
    );
    const eventPushes = receiver.pushes.slice(1, 4);
    expect(new Set(eventPushes.map((p) => p.body)).size).toBe(1);
    expect(notification(defined(eventPushes[0])).previousWatermark).toBe(watermark);
    expect(
      sim
        .deliveries({ subscriptionId })
        .slice(1, 4)
        .map((d) => d.outcome),
    ).toEqual(['invalid', 'invalid', 'OK']);
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(clock, () => receiver.pushes.length >= 5, 'the next event push', 60_000);
    expect(notification(defined(receiver.pushes[4])).previousWatermark).toBe(change.events.at(-1)?.watermark);
    expect(sim.subscriptions()[0]?.state).toBe('active');
  });
});

describe('Unsubscribe', () => {
  it('answered to a heartbeat ends the subscription: no push ever again', async (context) => {
    const { clock, sim, receiver } = await setUp(context, 600);
    receiver.answerWith(() => 'Unsubscribe');
    await waitFor(
      clock,
      () => sim.subscriptions()[0]?.state === 'unsubscribed',
      'the subscription to end',
      60_000,
    );
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await elapse(clock, 180_000);
    expect(receiver.pushes).toHaveLength(1);
  });

  it('answered to an event push ends the subscription as well', async (context) => {
    // StatusFrequency 30: no heartbeat can take the Unsubscribe meant for the event push.
    const { clock, sim, receiver } = await setUp(context, 600, { statusFrequency: 30 });
    await waitFor(clock, () => receiver.pushes.length >= 1, 'the first heartbeat', 60_000);
    receiver.answerWith(() => 'Unsubscribe');
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(
      clock,
      () => sim.subscriptions()[0]?.state === 'unsubscribed',
      'the subscription to end',
      60_000,
    );
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await elapse(clock, 180_000);
    expect(eventTypes(defined(receiver.pushes.at(-1)))).toContain('CreatedEvent');
    expect(receiver.pushes).toHaveLength(2);
  });
});

describe('how a reply is classified', () => {
  const soap = (inner: string) =>
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;
  const M = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"';
  it.for<{ reply: string; body: string; outcome: 'OK' | 'invalid' }>([
    {
      reply: 'OK, any prefix',
      body: soap(
        `<x:SendNotificationResult xmlns:x="http://schemas.microsoft.com/exchange/services/2006/messages"><x:SubscriptionStatus>OK</x:SubscriptionStatus></x:SendNotificationResult>`,
      ),
      outcome: 'OK',
    },
    {
      reply: 'Ok (wrong case)',
      body: soap(
        `<m:SendNotificationResult ${M}><m:SubscriptionStatus>Ok</m:SubscriptionStatus></m:SendNotificationResult>`,
      ),
      outcome: 'invalid',
    },
    {
      reply: 'status in the types namespace',
      body: soap(
        `<m:SendNotificationResult ${M} xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:SubscriptionStatus>OK</t:SubscriptionStatus></m:SendNotificationResult>`,
      ),
      outcome: 'invalid',
    },
    { reply: 'no status', body: soap(`<m:SendNotificationResult ${M}/>`), outcome: 'invalid' },
    { reply: 'an HTML page', body: '<html><body>OK</body></html>', outcome: 'invalid' },
    { reply: 'an empty body', body: '', outcome: 'invalid' },
  ])('a 200 with $reply is $outcome', async ({ body, outcome }, context) => {
    const { clock, sim, receiver, subscriptionId } = await setUp(context, 600);
    receiver.answerWith(() => ({ status: 200, body }));
    await waitFor(clock, () => sim.deliveries({ subscriptionId }).length >= 1, 'the first attempt', 60_000);
    const [attempt] = sim.deliveries({ subscriptionId });
    expect(attempt?.outcome).toBe(outcome);
    expect(attempt?.httpStatus).toBe(200);
    if (outcome === 'invalid') expect(attempt?.detail).toBeTruthy();
  });

  it('a non-200 status is recorded as that status, a refused connection as unreachable', async (context) => {
    const { clock, sim, receiver, subscriptionId } = await setUp(context, 600);
    receiver.answerWith(() => ({ status: 503, body: 'busy' }));
    await waitFor(clock, () => sim.deliveries({ subscriptionId }).length >= 1, 'the first attempt', 60_000);
    expect(sim.deliveries({ subscriptionId })[0]).toMatchObject({ outcome: 503, httpStatus: 503 });
    await receiver.close();
    await waitFor(clock, () => sim.deliveries({ subscriptionId }).length >= 2, 'the retry', 60_000);
    expect(sim.deliveries({ subscriptionId })[1]).toMatchObject({
      outcome: 'unreachable',
      httpStatus: null,
      attempt: 1,
    });
  });

  it('no reply in time is a timeout, and the notification is retried', async (context) => {
    // The timeout is 10 simulated s but at least 200 real ms, so a slow connection is not mistaken
    // for the receiver's silence; the retry is then due at once.
    const { clock, sim, receiver, subscriptionId } = await setUp(context, 600, { minPushTimeoutRealMs: 200 });
    receiver.answerWith((_push, index) => (index === 0 ? 'hang' : 'OK'));
    await waitFor(
      clock,
      () => sim.deliveries({ subscriptionId }).length >= 2,
      'the timeout and the retry',
      120_000,
    );
    const [first, retry] = sim.deliveries({ subscriptionId });
    expect(first?.outcome).toBe('timeout');
    expect((first?.finishedAt ?? 0) - (first?.startedAt ?? 0)).toBeGreaterThanOrEqual(10_000);
    expect(retry).toMatchObject({ outcome: 'OK', attempt: 1, notification: first?.notification });
  });
});
