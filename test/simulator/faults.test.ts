/**
 * Every fault knob does what FaultSettings says it does, and `chaos` turns them all on.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { EwsProtocolError } from '../../functions/ews/errors.ts';
import {
  decodeGetItemResponse,
  decodeSyncFolderItemsResponse,
  ENRICHMENT_SHAPE,
  encodeGetItem,
  encodeSyncFolderItems,
} from '../../functions/ews/items.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
} from '../../functions/ews/subscribe.ts';
import { CHAOS_FAULTS, type FaultSettings, NO_FAULTS } from '../../simulator/faults.ts';
import { encodeErrorPush } from '../../simulator/notification-codec.ts';
import { type Simulator, SimulatorInputError, startSimulator } from '../../simulator/server.ts';
import { itWithSchema, validateEnvelope } from '../support/ews-schema.ts';
import {
  as,
  elapse,
  failure,
  post,
  type Receiver,
  startWithReceiver,
  subscribe,
  value,
  waitFor,
} from './support.ts';

const ADA = 'ada@contoso.test';

async function setUp(
  faults: Partial<FaultSettings> = {},
): Promise<{ sim: Simulator; receiver: Receiver; request: PushSubscriptionRequest }> {
  const clock = createScaledClock({ timeScale: 600 });
  const { sim, receiver } = await startWithReceiver(onTestFinished, {
    clock,
    mailboxes: [ADA],
    faults,
    seed: 42,
  });
  const request: PushSubscriptionRequest = {
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent'],
    // Half an hour: no heartbeat comes between the pushes these tests look at.
    statusFrequency: 30,
    url: receiver.url,
  };
  return { sim, receiver, request };
}

describe('request faults', () => {
  it('serverBusyRate answers ErrorServerBusy SOAP Faults with the configured BackOffMilliseconds, on every operation', async () => {
    const { sim, request } = await setUp({ serverBusyRate: 1, serverBusyBackOffMs: 12_345 });
    const reply = await post(sim.ewsUrl, encodeSubscribe(request, as(ADA)));
    expect(reply.status).toBe(500);
    expect(reply.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(failure(decodeSubscribeResponse(reply.body))).toMatchObject({
      responseCode: 'ErrorServerBusy',
      category: 'ServerBusy',
      backOffMilliseconds: 12_345,
      via: 'soapFault',
    });
    const getItem = encodeGetItem(
      { itemShape: ENRICHMENT_SHAPE, itemIds: [{ id: 'AAAAAAAAAAAA' }] },
      as(ADA),
    );
    expect(failure(decodeGetItemResponse((await post(sim.ewsUrl, getItem)).body))).toMatchObject({
      responseCode: 'ErrorServerBusy',
    });
    const syncItems = encodeSyncFolderItems(
      {
        itemShape: ENRICHMENT_SHAPE,
        syncFolderId: { distinguishedFolderId: 'inbox' },
        maxChangesReturned: 5,
      },
      as(ADA),
    );
    expect(failure(decodeSyncFolderItemsResponse((await post(sim.ewsUrl, syncItems)).body))).toMatchObject({
      responseCode: 'ErrorServerBusy',
    });
    sim.setFaults({ serverBusyRate: 0 });
    value(await subscribe(sim, ADA, request));
  });

  it('serverBusyRate is a probability per request', async () => {
    const { sim, request } = await setUp({ serverBusyRate: 0.25 });
    let busy = 0;
    for (let i = 0; i < 200; i++) {
      const result = await subscribe(sim, ADA, { ...request, eventTypes: ['DeletedEvent'] });
      if (!result.ok && 'responseCode' in result.error && result.error.responseCode === 'ErrorServerBusy')
        busy++;
      else value(result);
      if (result.ok) sim.dropSubscription(result.value.subscriptionId); // stay under the 20-subscription limit
    }
    expect(busy).toBeGreaterThan(25);
    expect(busy).toBeLessThan(75);
  });

  it('unavailableRate answers HTTP 503 with no SOAP at all', async () => {
    const { sim, request } = await setUp({ unavailableRate: 1 });
    const reply = await post(sim.ewsUrl, encodeSubscribe(request, as(ADA)));
    expect(reply.status).toBe(503);
    expect(failure(decodeSubscribeResponse(reply.body))).toBeInstanceOf(EwsProtocolError);
  });
});

describe('push faults', () => {
  it('skipNotificationRate never sends a notification but counts it delivered: the next one reveals the gap', async () => {
    const { sim, receiver, request } = await setUp({ skipNotificationRate: 1 });
    value(await subscribe(sim, ADA, request));
    await waitFor(
      sim.clock,
      () => receiver.pushes.length >= 1,
      'the first heartbeat (never skipped)',
      60_000,
    );
    const skipped = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(sim.clock, () => sim.deliveries().some((d) => d.outcome === 'skipped'), 'the skip', 60_000);
    await elapse(sim.clock, 30_000);
    expect(receiver.pushes).toHaveLength(1);
    sim.setFaults({ skipNotificationRate: 0 });
    const next = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(sim.clock, () => receiver.pushes.length >= 2, 'the next push', 60_000);
    const lastSeen = receiver.pushes[0]?.decoded?.notifications[0]?.events.at(-1)?.watermark;
    const gap = receiver.pushes[1]?.decoded?.notifications[0];
    expect(gap?.previousWatermark).not.toBe(lastSeen);
    expect(gap?.previousWatermark).toBe(skipped.events.find((e) => e.type === 'CreatedEvent')?.watermark);
    expect(gap?.events.map((e) => e.itemId?.id)).toEqual([next.itemId]);
  });

  it('duplicatePushRate sends an acknowledged notification once more, unchanged, before anything newer', async () => {
    const { sim, receiver, request } = await setUp({ duplicatePushRate: 1 });
    value(await subscribe(sim, ADA, request));
    await waitFor(
      sim.clock,
      () => sim.deliveries().length >= 2,
      'the first heartbeat and its duplicate',
      60_000,
    );
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(sim.clock, () => sim.deliveries().length >= 4, 'the event push and its duplicate', 60_000);
    expect(sim.deliveries().map((d) => d.duplicate)).toEqual([false, true, false, true]);
    expect(receiver.pushes[2]?.body).toBe(receiver.pushes[3]?.body);
    expect(receiver.pushes[2]?.decoded?.notifications[0]?.events[0]?.itemId?.id).toBe(change.itemId);
  });

  it('subscriptionLossPerHour loses subscriptions silently', async () => {
    const { sim, receiver, request } = await setUp({ subscriptionLossPerHour: 3600 });
    const { subscriptionId } = value(await subscribe(sim, ADA, request));
    await waitFor(sim.clock, () => sim.subscriptions()[0]?.state === 'lost', 'the loss', 180_000);
    expect(sim.subscriptions()[0]).toMatchObject({
      subscriptionId,
      endReason: expect.stringMatching(/subscriptionLossPerHour/),
    });
    const pushes = receiver.pushes.length;
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await elapse(sim.clock, 150_000);
    expect(receiver.pushes).toHaveLength(pushes);
  });

  it('errorPushPerHour sends the real ErrorReadEventsFailed error push, then deletes the subscription', async () => {
    const { sim, receiver, request } = await setUp({ errorPushPerHour: 3600 });
    const { subscriptionId } = value(await subscribe(sim, ADA, request));
    await waitFor(sim.clock, () => sim.subscriptions()[0]?.state === 'deleted', 'the error push', 180_000);
    const push = receiver.pushes.at(-1);
    expect(push?.body).toBe(encodeErrorPush(subscriptionId, 'Exchange2013'));
    // The project's decoder reads it as the real error push: no Notification, the id in MessageXml.
    expect(push?.decoded?.notifications).toEqual([
      {
        responseClass: 'Error',
        responseCode: 'ErrorReadEventsFailed',
        subscriptionId,
        previousWatermark: null,
        moreEvents: null,
        events: [],
        messageText: expect.any(String),
      },
    ]);
    expect(sim.deliveries().at(-1)).toMatchObject({ kind: 'error', outcome: 'OK' });
    const count = receiver.pushes.length;
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await elapse(sim.clock, 150_000);
    expect(receiver.pushes).toHaveLength(count);
  });

  itWithSchema('the error push is deliberately schema-invalid, exactly as the real one is', async () => {
    const verdict = await validateEnvelope(encodeErrorPush('JABlcnJvci1wdXNoLXN1Yi0wMDE=', 'Exchange2013'));
    expect(verdict.exitCode, verdict.output).toBe(1);
    expect(verdict.output).toMatch(/Notification/);
  });

  it('mailboxMovePerHour moves mailboxes: subscriptions lost, ErrorMailboxMoveInProgress for mailboxMoveDurationMs', async () => {
    const { sim, receiver, request } = await setUp({
      mailboxMovePerHour: 3600,
      mailboxMoveDurationMs: 90_000,
    });
    value(await subscribe(sim, ADA, request));
    await waitFor(sim.clock, () => sim.mailboxes()[0]?.database === 2, 'the move', 180_000);
    sim.setFaults({ mailboxMovePerHour: 0 });
    expect(sim.subscriptions()[0]).toMatchObject({
      state: 'lost',
      endReason: expect.stringMatching(/moved/),
    });
    expect(failure(await subscribe(sim, ADA, request))).toMatchObject({
      responseCode: 'ErrorMailboxMoveInProgress',
    });
    await elapse(sim.clock, 100_000);
    expect(sim.mailboxes()[0]?.moving).toBe(false);
    value(await subscribe(sim, ADA, request));
    expect(receiver.pushes.length).toBeGreaterThan(0);
  });
});

describe('settings', () => {
  it('chaos turns every fault on; single knobs still override it', async () => {
    const clock = createScaledClock({ timeScale: 60 });
    const sim = await startSimulator({ clock, chaos: true, faults: { serverBusyRate: 0.5 } });
    onTestFinished(() => sim.stop());
    expect(sim.faults()).toEqual({ ...CHAOS_FAULTS, serverBusyRate: 0.5 });
    for (const [key, value] of Object.entries(CHAOS_FAULTS)) {
      expect(value, key).toBeGreaterThan(0);
      if (key !== 'serverBusyBackOffMs' && key !== 'mailboxMoveDurationMs' && key !== 'massLossFraction') {
        expect(Reflect.get(NO_FAULTS, key), key).toBe(0);
      }
    }
  });

  it('refuses unknown knobs and values out of range, saying which', async () => {
    const { sim } = await setUp();
    expect(() => sim.setFaults({ serverBusyRate: 2 })).toThrow(
      /serverBusyRate is 2; it is a probability, from 0 to 1/,
    );
    expect(() => sim.setFaults({ mailboxMovePerHour: -1 })).toThrow(SimulatorInputError);
    expect(() => sim.setFaults(JSON.parse('{"serverBusy": 1}'))).toThrow(
      /unknown fault "serverBusy"; the faults are/,
    );
    expect(sim.faults()).toEqual(NO_FAULTS);
  });
});
