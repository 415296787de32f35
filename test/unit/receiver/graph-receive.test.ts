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
import type { GraphWorkStore } from '../../../functions/receiver/graph-receive.ts';
import { createReceiverHandler } from '../../../functions/receiver/http.ts';
import { CALLBACK_KEY, type FakeSubscriptionTable, fakeWorld } from '../../support/fakes/index.ts';
import { changeItem, GRAPH_TEST_USER_ID, graphRequest, lifecycleItem } from '../../support/graph-push.ts';

const mailbox = 'ada@contoso.com';
const mailboxKey = mailboxKeyOf(mailbox);
const state = (generation: number, key = mailboxKey) => clientStateFor(CALLBACK_KEY, key, generation);

function given(
  overrides: Partial<SubscriptionRecord> = {},
  options: { graphWired?: boolean; graphWork?: (table: FakeSubscriptionTable) => GraphWorkStore } = {},
) {
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
  const warnings: Array<{ message: string; fields: unknown }> = [];
  const handler = createReceiverHandler({
    ...world.receiveDeps,
    store,
    ...(options.graphWired === false ? {} : { graphWork: options.graphWork?.(world.table) ?? world.table }),
    callbackKey: async () => CALLBACK_KEY,
    logger: {
      debug: () => {},
      info: () => {},
      warn: (message, fields) => warnings.push({ message, fields }),
      error: () => {},
    },
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
  return { world, handler, post, metrics, warnings, reads: () => reads };
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
      changeItem({
        subscriptionId: 'SE3',
        clientState: state(3),
        changeType: 'updated',
        itemId: 'E1',
        kind: 'event',
      }),
      changeItem({ subscriptionId: 'SM2', clientState: state(2), changeType: 'deleted', itemId: 'M0' }),
    ];
    expect(await post(items)).toMatchObject({ status: 202 });
    expect(reads()).toBe(1);
    expect(world.publisher.types(mailboxKey)).toEqual([
      'notification.CreatedEvent',
      'notification.ModifiedEvent',
      'notification.DeletedEvent',
    ]);
    // The enrichment hints say which Graph read each item needs; one publish per run of a kind,
    // in Graph's order.
    const hints = (graphItem: string) => ({
      'bridge.connection': 'contoso-graph',
      'bridge.graphItem': graphItem,
    });
    expect(world.publisher.messages().map((m) => m.attributes)).toEqual([
      hints('message'),
      hints('event'),
      hints('message'),
    ]);
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
    expect(metrics.get('GraphClientStateRejections')).toBe(1);
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

  describe("the notification's user must be the mailbox's", () => {
    const other = '0b0e0000-0000-4000-8000-00000000beef';
    const pinned = (world: ReturnType<typeof given>['world']) =>
      world.table.peek(mailboxKey)?.graph?.objectId;

    it('the first verified change pins the object id it names; a later one naming another user is refused, logged, not published', async () => {
      const { post, world, metrics, warnings } = given();
      expect(pinned(world)).toBeUndefined();
      expect(
        await post([changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M1' })]),
      ).toMatchObject({ status: 202 });
      expect(pinned(world)).toBe(GRAPH_TEST_USER_ID);
      expect(world.publisher.events(mailboxKey)).toHaveLength(1);

      expect(
        await post([
          changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M2', userId: other }),
          changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M3' }),
        ]),
      ).toMatchObject({ status: 202 });
      expect(world.publisher.events(mailboxKey).map((e) => e.subject)).toEqual(['M1', 'M3']);
      expect(metrics.get('GraphNotificationsRefused')).toBe(1);
      expect(warnings).toEqual([
        {
          message: expect.stringMatching(/refused: its resource does not name the user/),
          fields: expect.objectContaining({
            mailboxKey,
            subscriptionId: 'SM2',
            decision: 'foreignResource',
            resource: `Users/${other}/Messages/M2`,
          }),
        },
      ]);
      expect(pinned(world)).toBe(GRAPH_TEST_USER_ID);
    });

    it('with an object id pinned: the same id in another case and the address are the mailbox; an unreadable resource is refused', async () => {
      const { post, world, metrics } = given({
        graph: {
          userId: mailbox,
          objectId: GRAPH_TEST_USER_ID,
          messages: { generation: 2, subscriptionId: 'SM2' },
        },
      });
      const unreadable = {
        ...changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M9' }),
        resource: 'Users/x/mailFolders/y/Messages/M9',
      };
      expect(
        await post([
          changeItem({
            subscriptionId: 'SM2',
            clientState: state(2),
            itemId: 'M1',
            userId: GRAPH_TEST_USER_ID.toUpperCase(),
          }),
          changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M2', userId: mailbox }),
          unreadable,
        ]),
      ).toMatchObject({ status: 202 });
      expect(world.publisher.events(mailboxKey).map((e) => e.subject)).toEqual(['M1', 'M2']);
      expect(metrics.get('GraphNotificationsRefused')).toBe(1);
    });

    it('two users in the first batch: the first pins, the other is refused', async () => {
      const { post, world } = given();
      await post([
        changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M1', userId: other }),
        changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M2' }),
      ]);
      expect(pinned(world)).toBe(other);
      expect(world.publisher.events(mailboxKey).map((e) => e.subject)).toEqual(['M1']);
    });

    it('a pin lost to a concurrent batch that pinned another id: nothing is published on its strength', async () => {
      // Another batch of the same mailbox pins another id between this one's read and its pin.
      const again = given(
        {},
        {
          graphWork: (table) => ({
            requestGraphWork: (key, request) => table.requestGraphWork(key, request),
            pinGraphUser: async (key, objectId) => {
              await table.pinGraphUser(key, other);
              return table.pinGraphUser(key, objectId);
            },
          }),
        },
      );
      expect(
        await again.post([changeItem({ subscriptionId: 'SM2', clientState: state(2), itemId: 'M1' })]),
      ).toMatchObject({ status: 202 });
      expect(again.world.publisher.events(mailboxKey)).toEqual([]);
      expect(again.metrics.get('GraphNotificationsRefused')).toBe(1);
    });

    it('lifecycle notifications name no user and are not checked; a pin that cannot be written answers 500', async () => {
      const { post, world } = given();
      world.table.failures.failOn('pinGraphUser', 1);
      expect(await post([changeItem({ subscriptionId: 'SM2', clientState: state(2) })])).toMatchObject({
        status: 500,
      });
      expect(world.publisher.events()).toEqual([]);
      expect(await post([changeItem({ subscriptionId: 'SM2', clientState: state(2) })])).toMatchObject({
        status: 202,
      });
      expect(world.publisher.events(mailboxKey)).toHaveLength(1);
    });
  });
});
