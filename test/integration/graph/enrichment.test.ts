/**
 * Enrichment of a Graph mailbox's events, end to end without AWS: the receiver's Graph route (on
 * the in-memory ports) publishes a change with the enrichment hints; the processor reads the item
 * through the real Graph client from the Graph stand-in (`GET /users/{id}/messages/{id}` or
 * `/events/{id}`, `$select`, immutable ids) and publishes the event with `data.item`, valid
 * against the event schema. A deleted item is `notFound`, as with EWS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectConnections } from '../../../functions/adapters/connections-source.ts';
import { exchangeClients } from '../../../functions/adapters/exchange-clients.ts';
import { exchangeItemReader } from '../../../functions/adapters/exchange-item-reader.ts';
import { graphClients } from '../../../functions/adapters/graph-clients.ts';
import { graphItemReader, sourceItemReader } from '../../../functions/adapters/graph-item-reader.ts';
import { silentLog } from '../../../functions/core/telemetry.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { clientStateFor } from '../../../functions/graph/client-state.ts';
import { DEFAULT_ENRICHMENT_SETTINGS } from '../../../functions/processor/enrich.ts';
import { createEnrichingProcessor } from '../../../functions/processor/enrich-batch.ts';
import { createReceiverHandler } from '../../../functions/receiver/http.ts';
import { type GraphSimulator, startGraphSimulator } from '../../../graph-simulator/server.ts';
import { CALLBACK_KEY, FakeEventTopic, fakeWorld } from '../../support/fakes/index.ts';
import { graphConnectionTo } from '../../support/graph-connection.ts';
import { changeItem, graphRequest } from '../../support/graph-push.ts';
import { type SteppedClock, steppedClock } from '../../support/stepped-clock.ts';

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validateEvent = ajv.compile<unknown>(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'events', 'bridge-event.schema.json'), 'utf8'),
  ),
);

const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);

let clock: SteppedClock;
let graph: GraphSimulator;
beforeEach(async () => {
  clock = steppedClock();
  graph = await startGraphSimulator({ clock, mailboxes: [mailbox] });
});
afterEach(() => graph.stop());

async function bridge(options: { enrich?: 'default' | 'full' } = {}) {
  const world = fakeWorld({ graphConnections: ['contoso-graph'] });
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: 'contoso-graph',
    source: 'graph',
    graph: {
      userId: mailbox,
      messages: { generation: 2, subscriptionId: 'SM2' },
      events: { generation: 3, subscriptionId: 'SE3' },
    },
    folders: 'all',
    eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
    ...(options.enrich === undefined ? {} : { enrich: options.enrich }),
    statusFrequency: 0,
    state: 'active',
    generation: 3,
    attempts: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  world.table.put(record);
  const receiver = createReceiverHandler({
    ...world.receiveDeps,
    graphWork: world.table,
    callbackKey: async () => CALLBACK_KEY,
    logger: silentLog,
    metrics: { count: () => {}, flush: () => {} },
  });
  const connections = objectConnections(graphConnectionTo(graph));
  const urls: string[] = [];
  const prefer: string[] = [];
  const counting: typeof fetch = (input, init) => {
    urls.push(String(input));
    const headers = new Headers(init?.headers);
    if (headers.has('prefer')) prefer.push(headers.get('prefer') ?? '');
    return fetch(input, init);
  };
  const settings = { ...DEFAULT_ENRICHMENT_SETTINGS };
  const topic = new FakeEventTopic(world.clock);
  const processor = createEnrichingProcessor({
    topic,
    logger: silentLog,
    enrichment: {
      reader: sourceItemReader({
        ews: exchangeItemReader(exchangeClients(connections), settings),
        graph: graphItemReader(graphClients(connections, { fetch: counting, clock }), { ...settings, clock }),
      }),
      clock,
      settings,
    },
  });
  /** Graph notifies the receiver; what it published goes through the processor; what reaches the topic. */
  const notify = async (items: Record<string, unknown>[]) => {
    const before = world.publisher.messages().length;
    const answer = await receiver(graphRequest({ body: JSON.stringify({ value: items }) }));
    expect(answer.statusCode).toBe(202);
    const records = world.publisher
      .messages()
      .slice(before)
      .map(
        (m, i): SQSRecord => ({
          messageId: `m${before + i}`,
          receiptHandle: 'r',
          body: JSON.stringify(m.body),
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: '0',
            SenderId: 'x',
            ApproximateFirstReceiveTimestamp: '0',
            MessageGroupId: m.groupId,
          },
          messageAttributes: Object.fromEntries(
            Object.entries(m.attributes ?? {}).map(([k, v]) => [k, { stringValue: v, dataType: 'String' }]),
          ),
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:0:ingest.fifo',
          awsRegion: 'us-east-1',
        }),
      );
    expect(await processor({ Records: records })).toEqual({ batchItemFailures: [] });
    return topic.drain().map((m) => JSON.parse(m.body.body));
  };
  return { notify, urls, prefer };
}

const user = (): string => graph.changes()[0]?.userId ?? '';

describe('enrichment of Graph events, against the stand-in', () => {
  it('a message and an event are read through Graph ($select, immutable ids) and carried as data.item', async () => {
    const { notify, urls, prefer } = await bridge();
    const message = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    const event = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: false });
    const published = await notify([
      changeItem({
        subscriptionId: 'SM2',
        clientState: clientStateFor(CALLBACK_KEY, mailboxKey, 2),
        itemId: message.immutableId,
        userId: user(),
      }),
      changeItem({
        subscriptionId: 'SE3',
        clientState: clientStateFor(CALLBACK_KEY, mailboxKey, 3),
        itemId: event.immutableId,
        userId: user(),
        kind: 'event',
      }),
    ]);
    expect(published.map((e) => e.data.enrichment)).toEqual([
      { outcome: 'item', code: null, detail: null },
      { outcome: 'item', code: null, detail: null },
    ]);
    const [m, e] = published;
    expect(m.data.item).toMatchObject({
      kind: 'message',
      itemType: 'Message',
      itemId: { id: message.immutableId },
      subject: message.subject,
      isRead: false,
      dateTimeReceived: expect.any(String),
    });
    expect(e.data.item).toMatchObject({
      kind: 'calendar',
      itemType: 'CalendarItem',
      itemId: { id: event.immutableId },
      subject: event.subject,
      calendarItemType: 'Single',
      start: expect.stringMatching(/Z$/),
    });
    for (const one of published) expect(validateEvent(one), JSON.stringify(validateEvent.errors)).toBe(true);
    const reads = urls.filter((u) => /\/(messages|events)\/[^/?]+\?/.test(u));
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatch(
      new RegExp(`/users/${mailbox}/messages/[^?]+\\?\\$select=id,changeKey,subject,`),
    );
    expect(reads[1]).toMatch(/\/events\/[^?]+\?\$select=.*iCalUId/);
    expect(prefer.filter((p) => p.includes('outlook.timezone'))).toEqual([
      'IdType="ImmutableId", outlook.timezone="UTC"',
      'IdType="ImmutableId", outlook.timezone="UTC"',
    ]);
  });

  it('an item deleted before the read: notFound, and the event still goes out', async () => {
    const { notify } = await bridge();
    const message = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    graph.makeChange({ mailbox, itemType: 'message', kind: 'deleted', itemId: message.immutableId });
    const [published] = await notify([
      changeItem({
        subscriptionId: 'SM2',
        clientState: clientStateFor(CALLBACK_KEY, mailboxKey, 2),
        itemId: message.immutableId,
        userId: user(),
      }),
    ]);
    expect(published?.data.item).toBeUndefined();
    expect(published?.data.enrichment).toMatchObject({ outcome: 'notFound', code: 'ErrorItemNotFound' });
  });
});
