/**
 * The receiver's decision table (docs/how-it-works.md, "Every decision"), row by row, through the
 * HTTP handler Lambda runs, on the in-memory ports: given a stored record, when Exchange pushes,
 * then the answer, what is published and what is stored.
 */
import { describe, expect, it } from 'vitest';
import { callbackPath } from '../../../functions/domain/callback.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { decodeSendNotification } from '../../../functions/ews/notification.ts';
import { createReceiverHandler } from '../../../functions/receiver/http.ts';
import { receive } from '../../../functions/receiver/receive.ts';
import { callbackPush } from '../../support/callback-push.ts';
import { CALLBACK_KEY, fakeWorld } from '../../support/fakes/index.ts';
import { created, deleted, errorPush, moved, sendNotification, status } from '../../support/pushes.ts';

const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);

function given(overrides: Partial<SubscriptionRecord> = {}) {
  const world = fakeWorld();
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: 'default',
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent', 'DeletedEvent', 'MovedEvent'],
    statusFrequency: 1,
    state: 'active',
    generation: 3,
    subscriptionId: 'S3',
    watermark: 'W10',
    lastContactAt: world.clock.now() - 60_000,
    attempts: 0,
    drainedAt: world.clock.now() - 120_000,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
  world.table.put(record);
  const metrics = new Map<string, number>();
  const handler = createReceiverHandler({
    ...world.receiveDeps,
    callbackKey: async () => CALLBACK_KEY,
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    metrics: {
      count: (name, value = 1) => metrics.set(name, (metrics.get(name) ?? 0) + value),
      flush: () => {},
    },
  });
  /** When Exchange pushes `body` to the callback of `generation`. */
  const push = async (body: string, generation = 3) => {
    const response = await handler(callbackPush(callbackPath(CALLBACK_KEY, mailboxKey, generation), body));
    const answer = /<m:SubscriptionStatus>(\w+)</.exec(String(response.body))?.[1];
    return { status: response.statusCode, answer, body: String(response.body) };
  };
  const stored = () => world.table.peek(mailboxKey);
  return { world, record, push, stored, metrics };
}

const notification = (
  previousWatermark: string | null,
  events: Parameters<typeof sendNotification>[0]['events'],
  subscriptionId = 'S3',
  moreEvents = false,
) => sendNotification({ subscriptionId, previousWatermark, events, moreEvents });

describe('receive: every decision of the table', () => {
  it('heartbeat from the current subscription: OK, nothing published, one conditional write and no read', async () => {
    const { world, push, stored, record } = given();
    world.clock.advance(30_000);
    expect(await push(notification('W10', [status('W11')]))).toMatchObject({ status: 200, answer: 'OK' });
    expect(world.publisher.events()).toEqual([]);
    expect(world.table.writes).toEqual(['advance true']);
    expect(stored()).toEqual({
      ...record,
      watermark: 'W11',
      lastContactAt: world.clock.now(),
      updatedAt: world.clock.now(),
      drainedAt: world.clock.now(),
    });
  });

  it('events in order: OK, one message per event, watermark advanced, created/moved/deleted items noted in the pushed-item list', async () => {
    const { world, push, stored, record } = given();
    world.pushedItems.note(mailboxKey, { itemId: 'gone', folderId: null, notedAt: 1 });
    const body = notification('W10', [
      created('W11', 'new'),
      moved('W12', 'old', 'moved'),
      deleted('W13', 'gone'),
    ]);
    expect(await push(body)).toMatchObject({ status: 200, answer: 'OK' });
    expect(world.publisher.types(mailboxKey)).toEqual([
      'notification.CreatedEvent',
      'notification.MovedEvent',
      'notification.DeletedEvent',
    ]);
    expect(world.publisher.messages().every((m) => m.groupId === mailboxKey)).toBe(true);
    expect(stored()).toMatchObject({
      watermark: 'W13',
      lastContactAt: world.clock.now(),
      drainedAt: world.clock.now(),
    });
    expect(stored()?.recovery).toBeUndefined();
    expect(
      world.pushedItems
        .entries(mailboxKey)
        .map((e) => e.itemId)
        .sort(),
    ).toEqual(['moved', 'new']);
    expect(record.watermark).toBe('W10');
  });

  it('MoreEvents true is not counted as a drained push (the checkpoint needs an empty queue)', async () => {
    const { push, stored, record } = given();
    await push(notification('W10', [created('W11')], 'S3', true));
    expect(stored()).toMatchObject({ watermark: 'W11', drainedAt: record.drainedAt });
  });

  it('heartbeats and modifications write nothing to the pushed-item list', async () => {
    const { world, push } = given();
    world.pushedItems.failures.failOn('record');
    expect((await push(notification('W10', [status('W11')]))).answer).toBe('OK');
    expect(
      (await push(notification('W11', [{ type: 'ModifiedEvent', watermark: 'W12', itemId: 'i' }]))).answer,
    ).toBe('OK');
  });

  it('a retry of a notification already taken: OK, nothing published, state unchanged', async () => {
    const { world, push, stored } = given();
    const body = notification('W10', [created('W11')]);
    await push(body);
    const after = stored();
    world.clock.advance(10_000);
    expect(await push(body)).toMatchObject({ status: 200, answer: 'OK' });
    expect(world.publisher.events()).toHaveLength(1);
    expect(stored()).toEqual(after);
  });

  it('PreviousWatermark differs (a notification was missed): OK, gap-detected then what arrived, watermark advanced, recovery from the last good one', async () => {
    const { world, push, stored, metrics, record } = given();
    expect(await push(notification('W15', [created('W16')]))).toMatchObject({ status: 200, answer: 'OK' });
    expect(world.publisher.types()).toEqual(['subscription.gap-detected', 'notification.CreatedEvent']);
    expect(stored()).toMatchObject({
      watermark: 'W16',
      recovery: 'gap',
      recoveryWatermark: 'W10',
      recoveryAt: world.clock.now(),
      // Out of order, it proves nothing about what came before.
      drainedAt: record.drainedAt,
    });
    expect(metrics.get('Gaps')).toBe(1);
    // A second gap keeps the first recovery point.
    await push(notification('W20', [created('W21')]));
    expect(stored()).toMatchObject({ watermark: 'W21', recoveryWatermark: 'W10' });
  });

  it('error push (ErrorReadEventsFailed, no Notification): OK, nothing published, recovery requested', async () => {
    const { world, push, stored } = given();
    expect(await push(errorPush('S3'))).toMatchObject({ status: 200, answer: 'OK' });
    expect(world.publisher.events()).toEqual([]);
    expect(stored()).toMatchObject({ recovery: 'dead', recoveryWatermark: 'W10', watermark: 'W10' });
  });

  it('an error push for a subscription not current: Unsubscribe, state unchanged', async () => {
    const { push, stored, record } = given();
    expect((await push(errorPush('OTHER'))).answer).toBe('Unsubscribe');
    expect((await push(errorPush('S3'), 2)).answer).toBe('Unsubscribe');
    expect(stored()).toEqual(record);
  });

  it('current generation, unknown SubscriptionId, none stored yet: OK, the events published, the new subscription adopted', async () => {
    const { subscriptionId: _s, watermark: _w, ...renewing } = given().record;
    const { world, push, stored } = given();
    world.table.put({ ...renewing, state: 'renewing', generation: 4 });
    expect(await push(notification('WN0', [created('WN1')], 'S4'), 4)).toMatchObject({
      status: 200,
      answer: 'OK',
    });
    expect(world.publisher.types()).toEqual(['notification.CreatedEvent']);
    expect(stored()).toMatchObject({ subscriptionId: 'S4', watermark: 'WN1', generation: 4 });
  });

  it('a heartbeat is how a new subscription is usually adopted', async () => {
    const { subscriptionId: _s, watermark: _w, ...renewing } = given().record;
    const { world, push, stored } = given();
    world.table.put({ ...renewing, state: 'renewing', generation: 4 });
    expect((await push(notification('WN0', [status('WN1')], 'S4'), 4)).answer).toBe('OK');
    expect(stored()).toMatchObject({ subscriptionId: 'S4', watermark: 'WN1' });
  });

  describe('Unsubscribe, nothing published, state unchanged', () => {
    it.each([
      ['an older generation (a subscription we replaced)', {}, 'S2', 2],
      ['another subscription on the current generation', {}, 'S-stray', 3],
      ['a removed mailbox', { state: 'removed' as const }, 'S3', 3],
      ['a generation newer than any issued', {}, 'S3', 4],
    ])('%s', async (_case, overrides, subscriptionId, generation) => {
      const { world, push, stored } = given(overrides);
      const before = stored();
      expect(await push(notification('W10', [created('W11')], subscriptionId), generation)).toMatchObject({
        status: 200,
        answer: 'Unsubscribe',
      });
      expect(world.publisher.events()).toEqual([]);
      expect(stored()).toEqual(before);
    });

    it('an unknown mailbox (no record at all)', async () => {
      const other = fakeWorld();
      const handler = createReceiverHandler({
        ...other.receiveDeps,
        callbackKey: async () => CALLBACK_KEY,
        logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        metrics: { count: () => {}, flush: () => {} },
      });
      const response = await handler(
        callbackPush(callbackPath(CALLBACK_KEY, mailboxKey, 3), notification('W10', [status('W11')])),
      );
      expect(String(response.body)).toContain('Unsubscribe');
      expect(other.table.writes).toEqual(['advance false']);
      expect(other.publisher.events()).toEqual([]);
    });
  });

  it('a body that is not a SendNotification: 400 with a one-line reason, nothing read or written', async () => {
    const { world, push, stored, record } = given();
    world.table.failures.failOn('get');
    const response = await push('<html>login</html>');
    expect(response.status).toBe(400);
    expect(response.body).not.toContain('\n');
    expect(world.table.writes).toEqual([]);
    expect(stored()).toEqual(record);
  });

  it('a forged or malformed callback path: 403, nothing read', async () => {
    const { world, record } = given();
    world.table.failures.failOn('get');
    world.table.failures.failOn('update');
    world.table.failures.failOn('advance');
    const handler = createReceiverHandler({
      ...world.receiveDeps,
      callbackKey: async () => CALLBACK_KEY,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      metrics: { count: () => {}, flush: () => {} },
    });
    const body = notification('W10', [created('W11')]);
    const real = callbackPath(CALLBACK_KEY, mailboxKey, 3);
    for (const path of [
      `${real.slice(0, -2)}xx`,
      callbackPath(CALLBACK_KEY, mailboxKey, 3).replace('/3/', '/4/'),
      '/ews/x/1/y',
    ]) {
      expect((await handler(callbackPush(path, body))).statusCode).toBe(403);
    }
    expect(world.table.writes).toEqual([]);
    expect(world.table.peek(mailboxKey)).toEqual(record);
  });

  describe('store before acknowledge: any failure of ours answers 500, never Unsubscribe', () => {
    it.each([
      ['the ingest queue', (w: ReturnType<typeof fakeWorld>) => w.publisher.failures.failOn('publish')],
      ['the pushed-item list', (w: ReturnType<typeof fakeWorld>) => w.pushedItems.failures.failOn('record')],
      ['the state write', (w: ReturnType<typeof fakeWorld>) => w.table.failures.failOn('advance')],
      ['the state read', (w: ReturnType<typeof fakeWorld>) => w.table.failures.failOn('get')],
    ])('%s failing', async (_what, breakIt) => {
      const { world, push, stored, record } = given();
      breakIt(world);
      const body = notification('W10', [created('W11')]);
      expect(await push(body)).toMatchObject({ status: 500, answer: undefined });
      expect(stored()?.watermark).toBe(record.watermark);
      // Exchange delivers it again once we are healthy: taken once.
      world.publisher.failures.heal();
      world.pushedItems.failures.heal();
      world.table.failures.heal();
      expect((await push(body)).answer).toBe('OK');
      expect(world.publisher.types()).toEqual(['notification.CreatedEvent']);
      expect(stored()?.watermark).toBe('W11');
    });
  });

  it('two deliveries of the same notification at the same time publish once and advance the watermark once', async () => {
    const { world, stored } = given();
    const decoded = decodeSendNotification(notification('W10', [created('W11'), created('W12')]));
    if (!decoded.ok) throw decoded.error;
    const target = { mailboxKey, generation: 3 };
    const results = await Promise.all([
      receive(target, decoded.value.notifications, world.receiveDeps),
      receive(target, decoded.value.notifications, world.receiveDeps),
    ]);
    expect(results.map((r) => r.answer)).toEqual(['OK', 'OK']);
    expect(results.flatMap((r) => r.outcomes.map((o) => o.decision)).sort()).toEqual([
      'accepted',
      'duplicate',
    ]);
    expect(world.publisher.events()).toHaveLength(2);
    expect(stored()).toMatchObject({ watermark: 'W12', drainedAt: world.clock.now() });
  });
});
