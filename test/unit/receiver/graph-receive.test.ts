/**
 * The receiver's Graph routes, through the HTTP handler Lambda runs, on the in-memory ports:
 * validation without any read, forgeries refused without any read, verified changes published as
 * the bridge's events with stable ids, lifecycle notifications noted as renewer work in the
 * record, 202 only after both are durable, 500 when they are not.
 */
import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { clientStateFor } from '../../../functions/graph/client-state.ts';
import { createReceiverHandler } from '../../../functions/receiver/http.ts';
import { CALLBACK_KEY, fakeWorld } from '../../support/fakes/index.ts';
import { changeItem, graphRequest, lifecycleItem } from '../../support/graph-push.ts';

const mailbox = 'ada@contoso.com';
const mailboxKey = mailboxKeyOf(mailbox);
const state = (generation: number, key = mailboxKey) => clientStateFor(CALLBACK_KEY, key, generation);

function given(overrides: Partial<SubscriptionRecord> = {}, options: { graphWired?: boolean } = {}) {
  const world = fakeWorld({ graphConnections: ['contoso-graph'] });
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: 'contoso-graph',
    source: 'graph',
    graph: {
      userId: mailbox,
      messages: { generation: 2, subscriptionId: 'SM2', expiresAt: world.clock.now() + 86_400_000 },
      events: { generation: 3, subscriptionId: 'SE3', expiresAt: world.clock.now() + 86_400_000 },
    },
    folders: 'all',
    eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
    statusFrequency: 0,
    state: 'active',
    generation: 3,
    attempts: 0,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
  world.table.put(record);
  let reads = 0;
  const store = {
    ...world.receiveDeps.store,
    get: (key: Parameters<typeof world.table.get>[0]) => {
      reads++;
      return world.table.get(key);
    },
    advance: world.table.advance.bind(world.table),
  };
  const metrics = new Map<string, number>();
  const handler = createReceiverHandler({
    ...world.receiveDeps,
    store,
    ...(options.graphWired === false ? {} : { graphWork: world.table }),
    callbackKey: async () => CALLBACK_KEY,
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    metrics: {
      count: (name, value = 1) => metrics.set(name, (metrics.get(name) ?? 0) + value),
      flush: () => {},
    },
  });
  const post = async (items: unknown[], path?: string) => {
    const response = await handler(
      graphRequest({ body: JSON.stringify({ value: items }), ...(path === undefined ? {} : { path }) }),
    );
    return { status: response.statusCode, body: response.body };
  };
  return { world, handler, post, metrics, reads: () => reads };
}

describe('receiver: Graph routes', () => {
  it('answers the validation request with the decoded token as text/plain, with no read', async () => {
    const { handler, reads } = given();
    for (const path of ['/graph/notify', '/graph/lifecycle']) {
      const response = await handler(
        graphRequest({ path, query: 'validationToken=Validation%3A+Testing+client+application%25' }),
      );
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('Validation: Testing client application%');
      expect(response.headers?.['Content-Type']).toMatch(/^text\/plain/);
    }
    expect(reads()).toBe(0);
  });

  it('refuses a batch where nothing verifies with 403, before any read', async () => {
    const { post, reads, world } = given();
    const forged = `${state(3).slice(0, -1)}A`;
    expect(await post([changeItem({ subscriptionId: 'SE3', clientState: forged })])).toMatchObject({
      status: 403,
    });
    expect(
      await post([
        changeItem({
          subscriptionId: 'SE3',
          clientState: state(3, mailboxKeyOf('eve@x.com')).replace(/.$/, 'Q'),
        }),
      ]),
    ).toMatchObject({ status: 403 });
    expect(reads()).toBe(0);
    expect(world.publisher.events()).toEqual([]);
  });

  it('notes created items in the pushed-item list and forgets deleted ones, before the 202; 500 when it cannot', async () => {
    const { post, world } = given();
    const items = [
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'created', itemId: 'M1' }),
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'created', itemId: 'M2' }),
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'updated', itemId: 'M3' }),
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'deleted', itemId: 'M2' }),
    ];
    expect(await post(items)).toMatchObject({ status: 202 });
    const listed = async () => {
      const out = [];
      for await (const item of world.pushedItems.list(mailboxKey)) out.push(item);
      return out;
    };
    // Filed under the collection a catch-up asks Graph about (messages, not an EWS folder id).
    expect(await listed()).toEqual([{ itemId: 'M1', folderId: 'messages', notedAt: world.clock.now() }]);
    // An updated event is noted too (a series may be known to consumers from a catch-up only).
    const event = changeItem({
      subscriptionId: 'SE3',
      clientState: state(3),
      changeType: 'updated',
      itemId: 'E7',
    });
    event.resource = 'Users/6f1c2b7e-0000-4000-8000-000000000001/Events/E7';
    expect(await post([event])).toMatchObject({ status: 202 });
    expect((await listed()).map((i) => [i.itemId, i.folderId])).toEqual([
      ['E7', 'events'],
      ['M1', 'messages'],
    ]);
    await world.pushedItems.forget(mailboxKey, ['E7']);

    world.pushedItems.failures.failOn('record');
    expect(
      await post([
        changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'deleted', itemId: 'M1' }),
      ]),
    ).toMatchObject({ status: 500 });
    world.pushedItems.failures.heal();
    expect(
      await post([
        changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'deleted', itemId: 'M1' }),
      ]),
    ).toMatchObject({ status: 202 });
    expect(await listed()).toEqual([]);
  });

  it('publishes verified changes as bridge events with stable ids; a redelivery is de-duplicated', async () => {
    const { post, world, reads } = given();
    const items = [
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'created', itemId: 'M1' }),
      changeItem({ subscriptionId: 'SE3', clientState: state(3), changeType: 'updated', itemId: 'E1' }),
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'deleted', itemId: 'M0' }),
    ];
    expect(await post(items)).toMatchObject({ status: 202 });
    expect(reads()).toBe(1);
    expect(world.publisher.types(mailboxKey)).toEqual([
      'notification.CreatedEvent',
      'notification.ModifiedEvent',
      'notification.DeletedEvent',
    ]);
    // No enrichment hints: the processor's reads are EWS GetItem, which a Graph connection cannot serve.
    expect(world.publisher.messages().map((m) => m.attributes)).toEqual([undefined, undefined, undefined]);
    const [first] = world.publisher.events(mailboxKey);
    expect(first?.data).toMatchObject({
      mailbox,
      subscriptionId: 'SM2',
      eventType: 'CreatedEvent',
      itemId: { id: 'M1', changeKey: null },
      watermark: null,
    });
    // Graph resends what it did not see acknowledged: same ids, nothing new reaches consumers.
    expect(await post(items)).toMatchObject({ status: 202 });
    expect(world.publisher.events(mailboxKey)).toHaveLength(3);
  });

  it('a forged item next to verified ones is dropped; the verified ones are taken', async () => {
    const { post, world, metrics } = given();
    expect(
      await post([
        changeItem({ subscriptionId: 'SM2', clientState: 'v1.nope' }),
        changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M2' }),
      ]),
    ).toMatchObject({ status: 202 });
    expect(world.publisher.events(mailboxKey)).toHaveLength(1);
    expect(metrics.get('Rejections')).toBe(1);
  });

  it('notes lifecycle notifications as renewer work for that subscription, idempotently', async () => {
    const { post, world } = given();
    expect(
      await post(
        [
          lifecycleItem({
            subscriptionId: 'SM2',
            clientState: state(2),
            lifecycleEvent: 'subscriptionRemoved',
          }),
          lifecycleItem({
            subscriptionId: 'SE3',
            clientState: state(3),
            lifecycleEvent: 'reauthorizationRequired',
          }),
        ],
        '/graph/lifecycle',
      ),
    ).toMatchObject({ status: 202 });
    expect(world.publisher.events()).toEqual([]);
    expect(world.table.peek(mailboxKey)?.graphWork).toEqual({
      messages: ['recreate'],
      events: ['reauthorize'],
    });
    // Redelivered, and a missed next to it: a set, so nothing doubles.
    await post([
      lifecycleItem({ subscriptionId: 'SM2', clientState: state(2), lifecycleEvent: 'subscriptionRemoved' }),
      lifecycleItem({ subscriptionId: 'SM2', clientState: state(2), lifecycleEvent: 'missed' }),
    ]);
    expect(world.table.peek(mailboxKey)?.graphWork).toEqual({
      messages: ['recreate', 'catchUp'],
      events: ['reauthorize'],
    });
  });

  it('an older generation is a replaced subscription: nothing published, its deletion noted', async () => {
    const { post, world } = given();
    expect(await post([changeItem({ subscriptionId: 'SM1', clientState: state(1) })])).toMatchObject({
      status: 202,
    });
    expect(world.publisher.events()).toEqual([]);
    expect(world.table.peek(mailboxKey)?.graphObsolete).toEqual(['SM1']);
  });

  it('a change of the subscription being created (id not stored yet) is taken', async () => {
    const { post, world } = given({
      generation: 4,
      graph: {
        userId: mailbox,
        messages: { generation: 4 },
        events: { generation: 3, subscriptionId: 'SE3' },
      },
    });
    expect(await post([changeItem({ subscriptionId: 'SM4', clientState: state(4) })])).toMatchObject({
      status: 202,
    });
    expect(world.publisher.events(mailboxKey)).toHaveLength(1);
  });

  it('drops notifications for a removed mailbox, an EWS mailbox or a stray subscription', async () => {
    for (const overrides of [{ state: 'removed' as const }, { source: 'ews' as const }]) {
      const { post, world } = given(overrides);
      expect(await post([changeItem({ subscriptionId: 'SM2', clientState: state(2) })])).toMatchObject({
        status: 202,
      });
      expect(world.publisher.events()).toEqual([]);
      expect(world.table.peek(mailboxKey)?.graphWork).toBeUndefined();
    }
    const { post, world } = given();
    expect(await post([changeItem({ subscriptionId: 'OTHER', clientState: state(3) })])).toMatchObject({
      status: 202,
    });
    expect(world.publisher.events()).toEqual([]);
  });

  it('answers 500 when the events cannot be stored, and when the lifecycle work cannot be queued', async () => {
    const published = given();
    published.world.publisher.failures.failOn('publish', 1);
    expect(
      await published.post([changeItem({ subscriptionId: 'SM2', clientState: state(2) })]),
    ).toMatchObject({
      status: 500,
    });
    const queued = given();
    queued.world.table.failures.failOn('requestGraphWork', 1);
    expect(
      await queued.post([
        lifecycleItem({ subscriptionId: 'SM2', clientState: state(2), lifecycleEvent: 'missed' }),
      ]),
    ).toMatchObject({ status: 500 });
  });

  it('a damaged item whose clientState verifies becomes a catch-up (missed) for its mailbox', async () => {
    const { post, world } = given();
    expect(
      await post([{ subscriptionId: 'SM2', clientState: state(2), changeType: 'renamed', resource: 'x' }]),
    ).toMatchObject({ status: 202 });
    expect(world.table.peek(mailboxKey)?.graphWork).toEqual({ messages: ['catchUp'] });
  });

  it('without Graph wired (no work store) the Graph routes answer 404', async () => {
    const { post } = given({}, { graphWired: false });
    expect(await post([changeItem({ subscriptionId: 'SM2', clientState: state(2) })])).toMatchObject({
      status: 404,
    });
  });
});
