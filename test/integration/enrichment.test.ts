/**
 * Enrichment end to end: changes made in the EWS simulator become bridge events on the ingest
 * queue (with the hints the receiver adds), the processor reads their items with GetItem and
 * publishes them through the SNS FIFO topic to the Events queue, on the emulators provisioned
 * from the CDK template. Each item is read once per batch; a deleted item, throttling and a
 * control character in a subject all end in a published event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeEvent, NotificationCloudEvent, ResyncCloudEvent } from '../../events/bridge-event.ts';
import { objectConnections } from '../../functions/adapters/connections-source.ts';
import { exchangeClients } from '../../functions/adapters/exchange-clients.ts';
import { exchangeItemReader } from '../../functions/adapters/exchange-item-reader.ts';
import { SnsEventTopic } from '../../functions/adapters/sns-event-topic.ts';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { createScaledClock } from '../../functions/core/clock.ts';
import { MemoryMetrics } from '../../functions/core/telemetry.ts';
import { type EnrichMode, hintAttributes } from '../../functions/domain/enrichment.ts';
import { toNotificationCloudEvent, toResyncCloudEvent } from '../../functions/domain/events.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { REPLACEMENT_CHARACTER } from '../../functions/ews/xml.ts';
import { createProcessorHandler } from '../../functions/processor/batch.ts';
import { DEFAULT_ENRICHMENT_SETTINGS, type ItemReader } from '../../functions/processor/enrich.ts';
import { SqsPoller } from '../../local/sqs-poller.ts';
import type { ChangeRecord } from '../../simulator/mailbox-store.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { drain, type LocalAws, startLocalAws } from '../support/local-aws.ts';

const ADA = 'ada@contoso.test';
const BOB = 'bob@contoso.test';
const clock = createScaledClock({ timeScale: 600 });
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validateEvent = ajv.compile<unknown>(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'events', 'bridge-event.schema.json'), 'utf8'),
  ),
);

let aws: LocalAws;
let sim: Simulator;
let queues: { ingest: { url: string; arn: string }; events: { url: string } };
beforeAll(async () => {
  aws = await startLocalAws();
  sim = await startSimulator({ clock, auth: 'oauth', mailboxes: [ADA, BOB], initialItems: 0 });
  const ingest = aws.resources.queues.get(aws.resources.resourceId('AWS::SQS::Queue', 'QueuesIngest'));
  const events = aws.resources.queues.get(aws.resources.resourceId('AWS::SQS::Queue', 'FanoutEvents'));
  if (ingest === undefined || events === undefined) throw new Error('queues not provisioned');
  queues = { ingest, events };
});
afterAll(async () => {
  await sim?.stop();
  await aws?.stop();
});

function clients() {
  const [client] = sim.credentials.oauth;
  if (client === undefined) throw new Error('no OAuth client');
  return exchangeClients(
    objectConnections(
      {
        local: {
          ewsUrl: sim.ewsUrl,
          auth: {
            kind: 'oauth2',
            tenantId: 'contoso.test',
            clientId: client.clientId,
            clientSecret: client.clientSecret,
            tokenUrl: sim.tokenUrl,
          },
          timeoutMs: 600_000,
        },
      },
      'the test',
    ),
    { clock },
  );
}

let watermark = 0;
/** The bridge events a change's notification would carry. */
function eventsOf(mailbox: string, changes: readonly ChangeRecord[]): NotificationCloudEvent[] {
  const mailboxKey = mailboxKeyOf(mailbox);
  return changes
    .flatMap((c) => c.events)
    .map((e, index) =>
      toNotificationCloudEvent({
        mailbox,
        mailboxKey,
        subscriptionId: 'S1',
        notification: { previousWatermark: null },
        event: {
          type: e.type,
          watermark: `W${++watermark}`,
          timeStamp: '2026-11-21T10:00:00Z',
          itemId: e.itemId === null ? null : { id: e.itemId, changeKey: null },
          folderId: e.folderId === null ? null : { id: e.folderId, changeKey: null },
          parentFolderId: { id: e.parentFolderId, changeKey: null },
          oldItemId: null,
          oldFolderId: null,
          oldParentFolderId:
            e.oldParentFolderId === null ? null : { id: e.oldParentFolderId, changeKey: null },
          unreadCount: null,
        },
        index,
        receivedAt: 0,
      }),
    );
}

/** Publishes as the receiver does, runs the processor until the queue is empty, drains Events. */
async function run(
  batches: readonly { mailbox: string; events: readonly BridgeEvent[]; enrich?: EnrichMode }[],
  options: { reader?: (inner: ItemReader) => ItemReader; maxWaitMs?: number } = {},
) {
  const publisher = new SqsEventPublisher(aws.emulators.sqs, queues.ingest.url);
  for (const b of batches)
    await publisher.publish(
      mailboxKeyOf(b.mailbox),
      b.events,
      hintAttributes({ connection: 'local', ...(b.enrich === undefined ? {} : { enrich: b.enrich }) }),
    );
  const calls: { mailbox: string; ids: number }[] = [];
  const inner = exchangeItemReader(clients(), { maxBodyChars: 100 });
  const counted: ItemReader = {
    read: (connection, mailbox, request) => {
      calls.push({ mailbox, ids: request.itemIds.length });
      return inner.read(connection, mailbox, request);
    },
  };
  const metrics = new MemoryMetrics();
  const handler = createProcessorHandler({
    topic: new SnsEventTopic(aws.emulators.sns, aws.environment('processor').EVENTS_TOPIC_ARN ?? ''),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics,
    enrichment: {
      reader: options.reader ? options.reader(counted) : counted,
      clock,
      settings: {
        ...DEFAULT_ENRICHMENT_SETTINGS,
        maxBodyChars: 100,
        ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
      },
    },
  });
  const poller = new SqsPoller(aws.emulators.sqs, handler, {
    queueUrl: queues.ingest.url,
    queueArn: queues.ingest.arn,
    waitSeconds: 0,
    batchSize: 10,
  });
  for (let idle = 0; idle < 2; ) idle = (await poller.pollOnce()) === 0 ? idle + 1 : 0;
  const delivered = (await drain(aws.emulators.sqs, queues.events.url)).map(
    (m) => JSON.parse(m.Body ?? '') as NotificationCloudEvent,
  );
  for (const event of delivered)
    expect(validateEvent(event), JSON.stringify(validateEvent.errors)).toBe(true);
  return { delivered, calls, metrics };
}

describe('enrichment', () => {
  it('says what changed: messages and calendar items in Exchange terms, in order, ids unchanged', async () => {
    const message = sim.makeChange({
      mailbox: ADA,
      kind: 'create',
      folder: 'inbox',
      item: { subject: 'Budget', categories: ['Project X'], importance: 'High' },
    });
    const modified = sim.makeChange({ mailbox: ADA, kind: 'modify', itemId: message.itemId });
    const meeting = sim.makeChange({
      mailbox: ADA,
      calendarActivity: 'singleMeeting',
      item: {
        subject: 'Design review',
        start: Date.parse('2026-12-01T09:00:00Z'),
        end: Date.parse('2026-12-01T10:00:00Z'),
        organizer: { name: 'Ada', emailAddress: ADA },
        requiredAttendees: [
          {
            mailbox: { name: 'Alan', emailAddress: 'alan@contoso.test' },
            responseType: 'Accept',
            lastResponseTime: null,
          },
        ],
      },
    });
    const series = sim.makeChange({
      mailbox: BOB,
      calendarActivity: 'recurringSeries',
      item: {
        subject: 'Weekly sync',
        start: Date.parse('2026-12-02T14:00:00Z'),
        end: Date.parse('2026-12-02T14:30:00Z'),
        recurrence: { pattern: 'Weekly', interval: 1, occurrences: 8, range: 'EndDate' },
      },
    });
    const doomed = sim.makeChange({
      mailbox: BOB,
      kind: 'create',
      folder: 'inbox',
      item: { subject: 'gone soon' },
    });
    const bobEvents = eventsOf(BOB, [series, doomed]);
    sim.makeChange({ mailbox: BOB, kind: 'delete', itemId: doomed.itemId });

    const adaEvents = eventsOf(ADA, [message, modified, meeting]);
    const { delivered, calls } = await run([
      { mailbox: ADA, events: adaEvents },
      { mailbox: BOB, events: bobEvents, enrich: 'full' },
    ]);

    // Every event, in order per mailbox, ids unchanged.
    const ids = (key: string) => delivered.filter((e) => e.data.mailboxKey === key).map((e) => e.id);
    expect(ids(mailboxKeyOf(ADA))).toEqual(adaEvents.map((e) => e.id));
    expect(ids(mailboxKeyOf(BOB))).toEqual(bobEvents.map((e) => e.id));
    // fauxqs hands over one message per group per receive, so here each read is of one item
    // (once per batch is shown in test/unit/processor/enrich-batch.test.ts).
    expect(calls.every((c) => c.ids === 1)).toBe(true);

    const about = (id: string) => delivered.filter((e) => e.data.itemId?.id === id);
    for (const e of about(message.itemId)) {
      expect(e.data.enrichment).toEqual({ outcome: 'item', code: null, detail: null });
      expect(e.data.item).toMatchObject({
        kind: 'message',
        subject: 'Budget (rev 2)', // the latest state, for the Created event too
        categories: ['Project X'],
        importance: 'High',
      });
      expect(e.data.item?.body).toBeUndefined();
    }
    // Folder events and deletes are not read.
    for (const e of delivered.filter((x) => x.data.itemId === null || x.data.eventType === 'DeletedEvent'))
      expect(e.data.enrichment).toBeUndefined();
    const [meetingEvent] = about(meeting.itemId);
    expect(meetingEvent?.data.item).toMatchObject({
      kind: 'calendar',
      subject: 'Design review',
      start: '2026-12-01T09:00:00Z',
      end: '2026-12-01T10:00:00Z',
      calendarItemType: 'Single',
      organizer: { name: 'Ada', emailAddress: ADA },
      requiredAttendees: [
        { mailbox: { name: 'Alan', emailAddress: 'alan@contoso.test' }, responseType: 'Accept' },
      ],
    });
    expect(meetingEvent?.data.item?.kind === 'calendar' && meetingEvent.data.item.uid).toMatch(
      /^040000008200E000/,
    );
    const [master] = about(series.itemId);
    expect(master?.data.item).toMatchObject({
      kind: 'calendar',
      calendarItemType: 'RecurringMaster',
      recurrence: { weeklyRecurrence: { interval: '1' } },
    });
    // `full`: the body, cut at the cap.
    expect(master?.data.item?.body?.text.length).toBeLessThanOrEqual(100);
    // Deleted since the notification: published, saying so.
    const [gone] = about(doomed.itemId).filter((e) => e.data.eventType !== 'DeletedEvent');
    expect(gone?.data.enrichment).toMatchObject({ outcome: 'notFound', code: 'ErrorItemNotFound' });
    expect(gone?.data.item).toBeUndefined();
  });

  it('a character XML 1.0 forbids in a subject costs that character, not the response', async () => {
    sim.setFaults({ controlCharacterRate: 1 });
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    sim.setFaults({ controlCharacterRate: 0 });
    const { delivered } = await run([{ mailbox: ADA, events: eventsOf(ADA, [change]) }]);
    const [created] = delivered.filter((e) => e.data.itemId?.id === change.itemId);
    expect(created?.data.enrichment?.outcome).toBe('item');
    expect(created?.data.item?.subject).toContain(REPLACEMENT_CHARACTER);
  });

  it('throttling: waits what Exchange asks, then publishes without the item, saying why', async () => {
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    sim.setFaults({ getItemServerBusyRate: 1 });
    try {
      const { delivered, calls, metrics } = await run([{ mailbox: ADA, events: eventsOf(ADA, [change]) }], {
        maxWaitMs: 60_000,
      });
      expect(calls.length).toBeGreaterThan(1);
      const [created] = delivered.filter((e) => e.data.itemId?.id === change.itemId);
      expect(created?.data.enrichment).toMatchObject({ outcome: 'failed', code: 'ErrorServerBusy' });
      expect(created?.data.item).toBeUndefined();
      expect(metrics.get('EnrichmentFailed')).toBeGreaterThan(0);
    } finally {
      sim.setFaults({ getItemServerBusyRate: 0 });
    }
  });

  it('an unknown connection: the event goes out without the item, saying why', async () => {
    const change = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const { delivered } = await run([{ mailbox: ADA, events: eventsOf(ADA, [change]) }], {
      reader: (inner) => ({ read: (_c, mailbox, request) => inner.read('nowhere', mailbox, request) }),
    });
    const [created] = delivered.filter((e) => e.data.itemId?.id === change.itemId);
    expect(created?.data.enrichment).toMatchObject({ outcome: 'failed', code: 'UnknownConnection' });
  });
});

describe('enrichment of what a catch-up found', () => {
  it('resync Create and Update events carry their items like pushed ones; a Delete says nothing more', async () => {
    const calendar = { distinguishedFolderId: 'calendar' } as const;
    const kept = sim.makeChange({ mailbox: BOB, kind: 'create', folder: 'calendar' });
    const gone = sim.makeChange({ mailbox: BOB, kind: 'create', folder: 'calendar' });
    const exchange = await clients().client('local');
    if (exchange === undefined) throw new Error('no client for the local connection');
    const first = await exchange.syncFolderItems(BOB, {
      syncFolderId: calendar,
      itemShape: { baseShape: 'IdOnly' },
      maxChangesReturned: 100,
    });
    if (!first.ok) throw first.error;
    // While the subscription was gone: one item changed, one deleted; the catch-up finds both.
    sim.makeChange({ mailbox: BOB, kind: 'modify', itemId: kept.itemId, calendarActivity: 'reschedule' });
    sim.makeChange({ mailbox: BOB, kind: 'delete', itemId: gone.itemId });
    const caughtUp = await exchange.syncFolderItems(BOB, {
      syncFolderId: calendar,
      itemShape: { baseShape: 'IdOnly' },
      maxChangesReturned: 100,
      syncState: first.value.syncState,
    });
    if (!caughtUp.ok) throw caughtUp.error;
    const resync = (changes: typeof caughtUp.value.changes, basis: string) =>
      changes.map(
        (change): ResyncCloudEvent =>
          toResyncCloudEvent({
            mailbox: BOB,
            mailboxKey: mailboxKeyOf(BOB),
            folder: calendar,
            basis,
            change,
            reason: 'watermarkRejected',
            at: 0,
          }),
      );
    // Only this test's items (the calendar holds earlier tests' items too).
    const ours = new Set([kept.itemId, gone.itemId]);
    const events = [
      ...resync(first.value.changes, ''),
      ...resync(caughtUp.value.changes, first.value.syncState),
    ].filter((e) => ours.has(e.subject ?? ''));
    const { delivered, calls } = await run([{ mailbox: BOB, events }]);
    expect(delivered.map((e) => e.type)).toEqual([
      'exchange-push-bridge.resync.Create',
      'exchange-push-bridge.resync.Create',
      'exchange-push-bridge.resync.Update',
      'exchange-push-bridge.resync.Delete',
    ]);
    const outcomes = delivered.map((e) => [
      e.subject,
      e.data.enrichment?.outcome ?? null,
      e.data.item?.itemType ?? null,
    ]);
    expect(outcomes).toEqual([
      [kept.itemId, 'item', 'CalendarItem'],
      [gone.itemId, 'notFound', null],
      [kept.itemId, 'item', 'CalendarItem'],
      [gone.itemId, null, null],
    ]);
    // GetItem for the Creates and the Update, none for the Delete (fauxqs hands over one message
    // of a group per receive, so each is its own batch here; once per batch is a unit test).
    expect(calls.reduce((n, c) => n + c.ids, 0)).toBe(3);
  });
});
