/**
 * The processor's batch with enrichment and PublishBatch: each item read once per batch, ids
 * chunked, only that mailbox waits for Exchange's back-off, PublishBatch 10 at a time in order
 * with the FIFO rule on refused entries, and the topic's size limit.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ExchangeItem } from '../../../events/bridge-event.ts';
import { MemoryMetrics, silentLog } from '../../../functions/core/telemetry.ts';
import { hintAttributes } from '../../../functions/domain/enrichment.ts';
import {
  DEFAULT_ENRICHMENT_SETTINGS,
  type ItemReader,
  type ReadAnswer,
} from '../../../functions/processor/enrich.ts';
import { createEnrichingProcessor, withItem } from '../../../functions/processor/enrich-batch.ts';
import type { EventTopic, PublishEntryResult, RoutedEvent } from '../../../functions/processor/forward.ts';
import { TOPIC_MESSAGE_LIMIT } from '../../../functions/processor/publish-batch.ts';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const id43 = (s: string) => s.padEnd(43, 'x');

function body(mailboxKey: string, id: string, eventType: string, itemId: string | null) {
  return JSON.stringify({
    specversion: '1.0',
    id: id43(id),
    source: `/exchange-push-bridge/mailboxes/${mailboxKey}`,
    type: `exchange-push-bridge.notification.${eventType}`,
    time: '2026-11-21T10:00:00Z',
    datacontenttype: 'application/json',
    data: {
      mailbox: `${mailboxKey}@x.test`,
      mailboxKey,
      eventType,
      itemId: itemId === null ? null : { id: itemId, changeKey: null },
    },
  });
}

function record(
  n: number,
  group: string,
  eventType: string,
  itemId: string | null,
  hints = true,
  graphItem?: 'message' | 'event',
): SQSRecord {
  const attributes = hints ? hintAttributes({ connection: 'c' }, graphItem) : {};
  return {
    messageId: `m${n}`,
    receiptHandle: `m${n}`,
    body: body(group, `e${n}`, eventType, itemId),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: group,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [k, { stringValue: v, dataType: 'String' }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:0:ingest.fifo',
    awsRegion: 'us-east-1',
  };
}

const item = (id: string, subject = id): ExchangeItem => ({
  kind: 'other',
  itemType: 'Item',
  itemId: { id, changeKey: 'ck' },
  itemClass: null,
  subject,
  sensitivity: null,
  importance: null,
  categories: [],
  hasAttachments: null,
  size: null,
  dateTimeReceived: null,
  dateTimeSent: null,
  lastModifiedTime: null,
  conversationId: null,
});

function recordingTopic(refuse: (e: RoutedEvent) => boolean = () => false) {
  const calls: RoutedEvent[][] = [];
  const topic: EventTopic = {
    publish: async () => {
      throw new Error('publishBatch expected');
    },
    publishBatch: async (events) => {
      calls.push([...events]);
      return events.map(
        (e): PublishEntryResult =>
          refuse(e) ? { ok: false, code: 'Throttled', message: 'slow down' } : { ok: true },
      );
    },
  };
  return { topic, calls };
}

function reader(answer: (mailbox: string, ids: readonly string[], call: number) => ReadAnswer) {
  const calls: { mailbox: string; ids: readonly string[]; graphItem?: string }[] = [];
  const r: ItemReader = {
    read: async (_connection, mailbox, request) => {
      calls.push({
        mailbox,
        ids: request.itemIds,
        ...(request.graphItem === undefined ? {} : { graphItem: request.graphItem }),
      });
      return answer(mailbox, request.itemIds, calls.length);
    },
  };
  return { reader: r, calls };
}

const sleeps: number[] = [];
const clock = { sleep: async (ms: number) => void sleeps.push(ms) };
const settings = { ...DEFAULT_ENRICHMENT_SETTINGS, idsPerCall: 2 };
const published = (calls: RoutedEvent[][]) => calls.flat().map((e) => JSON.parse(e.body));

describe('enriching processor', () => {
  it('reads each item once per batch, in chunks, not for deletes or folder events', async () => {
    const { topic, calls } = recordingTopic();
    const r = reader((_m, ids) => ({ ok: true, value: ids.map((id) => ({ ok: true, value: item(id) })) }));
    const handler = createEnrichingProcessor({
      topic,
      logger: silentLog,
      enrichment: { reader: r.reader, clock, settings },
    });
    const event: SQSEvent = {
      Records: [
        record(1, A, 'CreatedEvent', 'i1'),
        record(2, A, 'ModifiedEvent', 'i1'),
        record(3, A, 'ModifiedEvent', null),
        record(4, A, 'CreatedEvent', 'i2'),
        record(5, A, 'CreatedEvent', 'i3'),
        record(6, A, 'DeletedEvent', 'i4'),
        record(7, B, 'NewMailEvent', 'j1'),
        record(8, B, 'CreatedEvent', 'j2', false),
      ],
    };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    // Mailboxes go in parallel; within one, calls go one after another.
    expect([...r.calls].sort((x, y) => x.mailbox.localeCompare(y.mailbox))).toEqual([
      { mailbox: `${A}@x.test`, ids: ['i1', 'i2'] },
      { mailbox: `${A}@x.test`, ids: ['i3'] },
      { mailbox: `${B}@x.test`, ids: ['j1'] },
    ]);
    const events = published(calls);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => id43(`e${n}`)));
    expect(events.map((e) => e.data.item?.subject ?? null)).toEqual([
      'i1',
      'i1',
      null,
      'i2',
      'i3',
      null,
      'j1',
      null,
    ]);
    // Without hints (lifecycle, in flight across a deploy): the event as it was.
    expect(calls.flat()[7]?.body).toBe(event.Records[7]?.body);
  });

  it("a Graph mailbox's messages and events are separate reads, each told its kind; EWS reads are told none", async () => {
    const { topic, calls } = recordingTopic();
    const r = reader((_m, ids) => ({ ok: true, value: ids.map((id) => ({ ok: true, value: item(id) })) }));
    const handler = createEnrichingProcessor({
      topic,
      logger: silentLog,
      enrichment: { reader: r.reader, clock, settings: { ...settings, idsPerCall: 10 } },
    });
    const event: SQSEvent = {
      Records: [
        record(1, A, 'CreatedEvent', 'm1', true, 'message'),
        record(2, A, 'ModifiedEvent', 'e1', true, 'event'),
        record(3, A, 'CreatedEvent', 'm2', true, 'message'),
        record(4, B, 'CreatedEvent', 'x1'),
      ],
    };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(
      [...r.calls].sort((x, y) => `${x.mailbox}${x.graphItem}`.localeCompare(`${y.mailbox}${y.graphItem}`)),
    ).toEqual([
      { mailbox: `${A}@x.test`, ids: ['e1'], graphItem: 'event' },
      { mailbox: `${A}@x.test`, ids: ['m1', 'm2'], graphItem: 'message' },
      { mailbox: `${B}@x.test`, ids: ['x1'] },
    ]);
    expect(published(calls).map((e) => e.data.item?.subject)).toEqual(['m1', 'e1', 'm2', 'x1']);
  });

  it('reads the items of what a catch-up found (resync Create and Update), not of its Deletes or read-flag changes', async () => {
    const { topic, calls } = recordingTopic();
    const r = reader((_m, ids) => ({ ok: true, value: ids.map((id) => ({ ok: true, value: item(id) })) }));
    const handler = createEnrichingProcessor({
      topic,
      logger: silentLog,
      enrichment: { reader: r.reader, clock, settings: { ...settings, idsPerCall: 10 } },
    });
    const resync = (n: number, changeType: string, itemId: string): SQSRecord => {
      const base = record(n, A, 'CreatedEvent', itemId);
      const parsed = JSON.parse(base.body);
      return {
        ...base,
        body: JSON.stringify({
          ...parsed,
          type: `exchange-push-bridge.resync.${changeType}`,
          data: {
            mailbox: parsed.data.mailbox,
            mailboxKey: A,
            changeType,
            itemId: { id: itemId, changeKey: null },
          },
        }),
      };
    };
    await handler({
      Records: [
        resync(1, 'Create', 'r1'),
        resync(2, 'Update', 'r1'),
        resync(3, 'Delete', 'r2'),
        resync(4, 'ReadFlagChange', 'r3'),
      ],
    });
    expect(r.calls).toEqual([{ mailbox: `${A}@x.test`, ids: ['r1'] }]);
    expect(
      published(calls).map((e) => [e.data.item?.subject ?? null, e.data.enrichment?.outcome ?? null]),
    ).toEqual([
      ['r1', 'item'],
      ['r1', 'item'],
      [null, null],
      [null, null],
    ]);
  });

  it('waits the BackOffMilliseconds Exchange asks, then retries only what was refused', async () => {
    sleeps.length = 0;
    const { topic, calls } = recordingTopic();
    const r = reader((_m, ids, call) =>
      call === 1
        ? {
            ok: true,
            value: ids.map((id, i) =>
              i === 0
                ? { ok: true, value: item(id) }
                : {
                    ok: false,
                    error: {
                      code: 'ErrorServerBusy',
                      detail: 'busy',
                      notFound: false,
                      retryable: true,
                      backOffMs: 1234,
                    },
                  },
            ),
          }
        : { ok: true, value: ids.map((id) => ({ ok: true, value: item(id) })) },
    );
    const handler = createEnrichingProcessor({
      topic,
      logger: silentLog,
      enrichment: { reader: r.reader, clock, settings },
    });
    await handler({ Records: [record(1, A, 'CreatedEvent', 'i1'), record(2, A, 'CreatedEvent', 'i2')] });
    expect(sleeps).toEqual([1234]);
    expect(r.calls.map((c) => c.ids)).toEqual([['i1', 'i2'], ['i2']]);
    expect(published(calls).map((e) => e.data.enrichment.outcome)).toEqual(['item', 'item']);
  });

  it('access refused: published without the item, saying why, and counted', async () => {
    const metrics = new MemoryMetrics();
    const { topic, calls } = recordingTopic();
    const r = reader(() => ({
      ok: false,
      error: { code: 'EwsAuthError', detail: 'refused', notFound: false, retryable: false, backOffMs: null },
    }));
    const handler = createEnrichingProcessor({
      topic,
      logger: silentLog,
      metrics,
      enrichment: { reader: r.reader, clock, settings },
    });
    expect(await handler({ Records: [record(1, A, 'CreatedEvent', 'i1')] })).toEqual({
      batchItemFailures: [],
    });
    expect(published(calls)[0].data.enrichment).toEqual({
      outcome: 'failed',
      code: 'EwsAuthError',
      detail: 'refused',
    });
    expect(metrics.get('EnrichmentFailed')).toBe(1);
  });

  it('PublishBatch: 10 per call in order; a refused entry fails it and every later record of its mailbox only', async () => {
    const { topic, calls } = recordingTopic((e) => e.id === id43('e3'));
    const handler = createEnrichingProcessor({ topic, logger: silentLog });
    const records = Array.from({ length: 12 }, (_, i) =>
      record(i + 1, i % 2 === 0 ? A : B, 'CreatedEvent', `i${i}`),
    );
    const result = await handler({ Records: records });
    // e3 is A's second; A's later records (e5, e7, …) are not sent again and are retried.
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m3', 'm5', 'm7', 'm9', 'm11']);
    expect(calls[0]?.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => id43(`e${n}`)));
    expect(calls[1]?.map((e) => e.id)).toEqual([id43('e12')]);
  });

  it('a whole failed call fails every mailbox in it from its first entry on', async () => {
    const topic: EventTopic = {
      publish: async () => {},
      publishBatch: async () => {
        throw new Error('SNS down');
      },
    };
    const handler = createEnrichingProcessor({ topic, logger: silentLog });
    const result = await handler({
      Records: [record(1, A, 'CreatedEvent', 'x'), record(2, B, 'CreatedEvent', 'y')],
    });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m1', 'm2']);
  });

  it('keeps an event under the topic limit: cuts the body, then leaves the item out (never a dead letter)', () => {
    const event: RoutedEvent = {
      id: id43('e1'),
      type: 'exchange-push-bridge.notification.CreatedEvent',
      mailboxKey: A,
      body: body(A, 'e1', 'CreatedEvent', 'i1'),
    };
    const big = { ...item('i1'), body: { bodyType: 'Text', text: 'x'.repeat(300_000), truncated: false } };
    const cut = withItem(
      event,
      { item: big, enrichment: { outcome: 'item', code: null, detail: null } },
      { maxBodyChars: 300_000 },
    );
    expect(Buffer.byteLength(cut.body)).toBeLessThanOrEqual(TOPIC_MESSAGE_LIMIT);
    expect(JSON.parse(cut.body).data.item.body.truncated).toBe(true);
    const huge = { ...item('i1', 'y'.repeat(300_000)) };
    const left = JSON.parse(
      withItem(event, { item: huge, enrichment: { outcome: 'item', code: null, detail: null } }, undefined)
        .body,
    );
    expect(left.data.item).toBeUndefined();
    expect(left.data.enrichment.outcome).toBe('tooLarge');
  });
});
