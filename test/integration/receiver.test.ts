/**
 * The receiver against emulated DynamoDB and SQS (real SDK, real HTTP), with the tables and queues
 * the CDK app defines: every decision, the store-before-ack order, concurrency and failures.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoPushedItemList } from '../../functions/adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../../functions/adapters/subscription-table.ts';
import { MemoryMetrics } from '../../functions/core/telemetry.ts';
import { callbackKeyFrom, callbackPath } from '../../functions/domain/callback.ts';
import { type MailboxKey, mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../functions/domain/subscription.ts';
import { createReceiverHandler, type ReceiverHandler } from '../../functions/receiver/http.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators.ts';
import { itWithSchema, validateEnvelope } from '../support/ews-schema.ts';
import { type CallTap, drain, type LocalAws, startLocalAws, tap } from '../support/local-aws.ts';
import { manualClock } from '../support/manual-clock.ts';
import {
  created,
  deleted,
  errorPush,
  moved,
  type PushEvent,
  sendNotification,
  status,
} from '../support/pushes.ts';

const schemaText = readFileSync(
  join(import.meta.dirname, '..', '..', 'events', 'bridge-event.schema.json'),
  'utf8',
);
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validateEvent = ajv.compile<unknown>(JSON.parse(schemaText));

const key = callbackKeyFrom(randomBytes(32));
const clock = manualClock();
let aws: LocalAws;
let tableName: string;
let queueUrl: string;
let pushedItemList: DynamoPushedItemList;
let dynamoTap: CallTap;
let sqsTap: CallTap;
let handler: ReceiverHandler;
let doc: ReturnType<typeof documentClient>;
let store: DynamoSubscriptionStore;

beforeAll(async () => {
  // Metrics are asserted through decisions; their EMF output would only clutter the test log.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  aws = await startLocalAws();
  const env = aws.environment('receiver');
  tableName = env.TABLE_NAME ?? '';
  queueUrl = env.INGEST_QUEUE_URL ?? '';
  // Separate clients for the handler, so taps count only what the receiver does.
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: aws.emulators.dynamodbEndpoint });
  const sqs = new SQSClient({ ...common, endpoint: aws.emulators.sqsEndpoint });
  dynamoTap = tap(dynamodb);
  sqsTap = tap(sqs);
  store = new DynamoSubscriptionStore(documentClient(dynamodb), tableName);
  doc = documentClient(aws.emulators.dynamodb);
  pushedItemList = new DynamoPushedItemList(doc, env.SYNC_STATE_TABLE_NAME ?? '');
  handler = createReceiverHandler({
    store,
    pushedItemList: new DynamoPushedItemList(documentClient(dynamodb), env.SYNC_STATE_TABLE_NAME ?? ''),
    publisher: new SqsEventPublisher(sqs, queueUrl),
    clock,
    callbackKey: async () => key,
    logger: new Logger({ serviceName: 'receiver', logLevel: 'SILENT' }),
    metrics: new MemoryMetrics(),
  });
});

afterAll(async () => {
  await aws?.stop();
});

beforeEach(async () => {
  dynamoTap.calls.length = 0;
  sqsTap.calls.length = 0;
  dynamoTap.heal();
  sqsTap.heal();
  await drain(aws.emulators.sqs, queueUrl);
});

let mailboxCounter = 0;
/** A fresh mailbox with an active subscription: generation 2, SubscriptionId S2, watermark W10. */
async function givenMailbox(
  overrides: Partial<Record<keyof SubscriptionRecord, unknown>> = {},
): Promise<MailboxKey> {
  const mailbox = `user${++mailboxCounter}-${randomBytes(2).toString('hex')}@contoso.test`;
  const mailboxKey = mailboxKeyOf(mailbox);
  const item: Record<string, unknown> = {
    pk: mailboxKey,
    sk: SUBSCRIPTION_SK,
    mailbox,
    connection: 'default',
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent', 'ModifiedEvent'],
    statusFrequency: 5,
    state: 'active',
    generation: 2,
    subscriptionId: 'S2',
    watermark: 'W10',
    lastContactAt: clock.now() - 60_000,
    attempts: 0,
    createdAt: clock.now() - 3_600_000,
    updatedAt: clock.now() - 60_000,
    ...overrides,
  };
  for (const [name, value] of Object.entries(item)) if (value === undefined) delete item[name];
  await doc.send(new PutCommand({ TableName: tableName, Item: item }));
  return mailboxKey;
}

async function recordOf(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined> {
  return store.get(mailboxKey);
}

function push(
  mailboxKey: MailboxKey,
  generation: number,
  body: string,
  path = callbackPath(key, mailboxKey, generation),
) {
  const [, , mk, gen, token] = path.split('/');
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'POST /ews/{mailboxKey}/{generation}/{token}',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'ExchangeServicesClient/15.20',
      },
      requestId: randomBytes(8).toString('hex'),
      routeKey: 'POST /ews/{mailboxKey}/{generation}/{token}',
      stage: '$default',
      time: new Date(clock.now()).toUTCString(),
      timeEpoch: clock.now(),
    },
    pathParameters: { mailboxKey: mk ?? '', generation: gen ?? '', token: token ?? '' },
    body,
    isBase64Encoded: false,
  };
  return handler(event);
}

/** A notification from the mailbox's current subscription (generation 2, S2), as givenMailbox sets it up. */
function pushFromCurrent(
  mailboxKey: MailboxKey,
  previousWatermark: string,
  events: PushEvent[],
  moreEvents = false,
) {
  return push(
    mailboxKey,
    2,
    sendNotification({ subscriptionId: 'S2', previousWatermark, events, moreEvents }),
  );
}

function statusOf(result: APIGatewayProxyStructuredResultV2): string | undefined {
  return /<m:SubscriptionStatus>(\w+)<\/m:SubscriptionStatus>/.exec(result.body ?? '')?.[1];
}

function bodies(
  messages: Awaited<ReturnType<typeof drain>>,
): Array<{ id: string; data: { watermark: string } }> {
  return messages.map((m) => JSON.parse(m.Body ?? '{}'));
}

describe('receiver: decisions', () => {
  it('takes a heartbeat with one conditional write and no read, publishing nothing', async () => {
    const mailboxKey = await givenMailbox();
    clock.advance(1000);
    const result = await pushFromCurrent(mailboxKey, 'W10', [status('W11')]);
    expect(result.statusCode).toBe(200);
    expect(statusOf(result)).toBe('OK');
    expect(dynamoTap.calls).toEqual(['UpdateItemCommand']);
    expect(sqsTap.calls).toEqual([]);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W11', lastContactAt: clock.now() });
  });

  it('publishes events in order, one message each, grouped by mailbox, before advancing the watermark', async () => {
    const mailboxKey = await givenMailbox();
    const events = Array.from({ length: 23 }, (_, i) => created(`W${11 + i}`));
    const result = await pushFromCurrent(mailboxKey, 'W10', events);
    expect(statusOf(result)).toBe('OK');
    // The created items are noted (one batch, alongside the publish) before the watermark moves.
    expect(dynamoTap.calls).toEqual(['GetItemCommand', 'BatchWriteItemCommand', 'UpdateItemCommand']);
    expect(sqsTap.calls).toEqual([
      'SendMessageBatchCommand',
      'SendMessageBatchCommand',
      'SendMessageBatchCommand',
    ]);
    const messages = await drain(aws.emulators.sqs, queueUrl);
    expect(bodies(messages).map((b) => b.data.watermark)).toEqual(events.map((e) => e.watermark));
    for (const message of messages) {
      expect(message.Attributes?.MessageGroupId).toBe(mailboxKey);
      expect(message.Attributes?.MessageDeduplicationId).toBe(JSON.parse(message.Body ?? '{}').id);
      expect(message.MessageAttributes?.type?.StringValue).toBe(
        'exchange-push-bridge.notification.CreatedEvent',
      );
    }
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W33' });
  });

  it('notes the items pushes say exist and forgets those they say are gone (the pushed-item list)', async () => {
    const mailboxKey = await givenMailbox();
    await pushFromCurrent(mailboxKey, 'W10', [created('W11', 'A'), created('W12', 'B'), created('W13', 'C')]);
    clock.advance(1000);
    // B moves (and gets a new id, B2); A is deleted; C is modified and stays.
    await pushFromCurrent(mailboxKey, 'W13', [
      moved('W14', 'B', 'B2'),
      deleted('W15', 'A'),
      { type: 'ModifiedEvent', watermark: 'W16', itemId: 'C' },
    ]);
    const listed = [];
    for await (const item of pushedItemList.list(mailboxKey)) listed.push(item);
    expect(listed.sort((a, b) => a.itemId.localeCompare(b.itemId))).toEqual([
      { itemId: 'B2', folderId: 'inbox-id', notedAt: clock.now() },
      { itemId: 'C', folderId: 'inbox-id', notedAt: clock.now() - 1000 },
    ]);
  });

  it('notes when a push said Exchange had nothing more queued, in the one write it makes anyway', async () => {
    const mailboxKey = await givenMailbox();
    const send = (previousWatermark: string, events: PushEvent[], moreEvents = false) =>
      pushFromCurrent(mailboxKey, previousWatermark, events, moreEvents);
    const first = clock.now();
    await send('W10', [status('W11')]);
    expect(dynamoTap.calls).toEqual(['UpdateItemCommand']);
    expect((await recordOf(mailboxKey))?.drainedAt).toBe(first);
    // More queued behind it: proves nothing yet.
    clock.advance(1000);
    await send('W11', [created('W12')], true);
    expect((await recordOf(mailboxKey))?.drainedAt).toBe(first);
    clock.advance(1000);
    await send('W12', [created('W13')]);
    const drained = clock.now();
    expect((await recordOf(mailboxKey))?.drainedAt).toBe(drained);
    // A retry of a push already taken, and a push after a missed one, note nothing.
    clock.advance(1000);
    await send('W12', [created('W13')]);
    await send('W77', [created('W78')]);
    expect(await recordOf(mailboxKey)).toMatchObject({ drainedAt: drained, recovery: 'gap' });
  });

  it('writes nothing to the pushed-item list for heartbeats or modifications', async () => {
    const mailboxKey = await givenMailbox();
    await pushFromCurrent(mailboxKey, 'W10', [{ type: 'ModifiedEvent', watermark: 'W11', itemId: 'X' }]);
    await pushFromCurrent(mailboxKey, 'W11', [status('W12')]);
    expect(dynamoTap.calls).not.toContain('BatchWriteItemCommand');
  });

  it('publishes CloudEvents that validate against the published JSON Schema', async () => {
    const mailboxKey = await givenMailbox();
    await pushFromCurrent(mailboxKey, 'W10', [created('W11'), status('W12')]);
    const [message, ...rest] = await drain(aws.emulators.sqs, queueUrl);
    expect(rest).toEqual([]);
    const event: unknown = JSON.parse(message?.Body ?? '{}');
    expect(validateEvent(event), JSON.stringify(validateEvent.errors)).toBe(true);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: `/exchange-push-bridge/mailboxes/${mailboxKey}`,
      type: 'exchange-push-bridge.notification.CreatedEvent',
      time: '2026-11-21T10:00:00.000Z',
      subject: 'item-W11',
      data: {
        subscriptionId: 'S2',
        watermark: 'W11',
        previousWatermark: 'W10',
        eventType: 'CreatedEvent',
        itemId: { id: 'item-W11', changeKey: 'CK' },
      },
    });
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W12' });
  });

  it('answers a retry of a notification already taken with OK, publishing nothing', async () => {
    const mailboxKey = await givenMailbox();
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11'), created('W12')],
    });
    await push(mailboxKey, 2, body);
    const first = await drain(aws.emulators.sqs, queueUrl);
    sqsTap.calls.length = 0;
    // Exchange never saw our OK and sends the same notification again, minutes later.
    clock.advance(120_000);
    const retry = await push(mailboxKey, 2, body);
    expect(statusOf(retry)).toBe('OK');
    expect(sqsTap.calls).toEqual([]);
    expect(await drain(aws.emulators.sqs, queueUrl)).toEqual([]);
    expect(first).toHaveLength(2);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W12' });
  });

  it('publishes once and advances once when one notification is delivered twice at the same time', async () => {
    const mailboxKey = await givenMailbox();
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11'), created('W12'), created('W13')],
    });
    const results = await Promise.all([
      push(mailboxKey, 2, body),
      push(mailboxKey, 2, body),
      push(mailboxKey, 2, body),
    ]);
    expect(results.map(statusOf)).toEqual(['OK', 'OK', 'OK']);
    const messages = await drain(aws.emulators.sqs, queueUrl);
    expect(bodies(messages).map((b) => b.data.watermark)).toEqual(['W11', 'W12', 'W13']);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W13' });
  });

  it('publishes what arrived after a missed notification and asks for recovery from the last good watermark', async () => {
    const mailboxKey = await givenMailbox();
    const result = await pushFromCurrent(mailboxKey, 'W15', [created('W16')]);
    expect(statusOf(result)).toBe('OK');
    const published = (await drain(aws.emulators.sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '{}'));
    // First the gap itself (a lifecycle event, valid against the schema), then what arrived.
    expect(published.map((e) => e.type)).toEqual([
      'exchange-push-bridge.subscription.gap-detected',
      'exchange-push-bridge.notification.CreatedEvent',
    ]);
    expect(validateEvent(published[0]), JSON.stringify(validateEvent.errors)).toBe(true);
    expect(published[0]).toMatchObject({
      data: {
        kind: 'gap-detected',
        generation: 2,
        subscriptionId: 'S2',
        detail: expect.stringContaining('W15'),
      },
    });
    expect(published[1]?.data.watermark).toBe('W16');
    expect(await recordOf(mailboxKey)).toMatchObject({
      watermark: 'W16',
      recovery: 'gap',
      recoveryWatermark: 'W10',
      recoveryAt: clock.now(),
    });
    // A second gap keeps the first recovery point.
    await pushFromCurrent(mailboxKey, 'W20', [status('W21')]);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W21', recoveryWatermark: 'W10' });
  });

  it('marks the subscription dead on an error push (ErrorReadEventsFailed) and answers OK', async () => {
    const mailboxKey = await givenMailbox();
    const result = await push(mailboxKey, 2, errorPush('S2'));
    expect(statusOf(result)).toBe('OK');
    expect(await recordOf(mailboxKey)).toMatchObject({
      recovery: 'dead',
      recoveryWatermark: 'W10',
      watermark: 'W10',
    });
  });

  it('adopts a new subscription that speaks before its id is stored (the renewal race)', async () => {
    const mailboxKey = await givenMailbox({ generation: 3, subscriptionId: undefined, state: 'renewing' });
    const result = await push(
      mailboxKey,
      3,
      sendNotification({ subscriptionId: 'S3', previousWatermark: 'N0', events: [created('N1')] }),
    );
    expect(statusOf(result)).toBe('OK');
    expect(bodies(await drain(aws.emulators.sqs, queueUrl)).map((b) => b.data.watermark)).toEqual(['N1']);
    expect(await recordOf(mailboxKey)).toMatchObject({
      subscriptionId: 'S3',
      watermark: 'N1',
      generation: 3,
    });
    // The renewer then stores Subscribe's answer: the adopted chain is newer than its watermark.
    expect(
      await store.completeRenewal({
        mailboxKey,
        generation: 3,
        subscriptionId: 'S3',
        watermark: 'N0',
        now: clock.now(),
        syncWork: undefined,
        syncReason: undefined,
      }),
    ).toBe(true);
    expect(await recordOf(mailboxKey)).toMatchObject({
      subscriptionId: 'S3',
      watermark: 'N1',
      state: 'active',
    });
  });

  it('answers Unsubscribe, publishing nothing, to a superseded generation, a stray subscription, a removed or unknown mailbox', async () => {
    const current = await givenMailbox({ generation: 3, subscriptionId: 'S3' });
    const removed = await givenMailbox({ state: 'removed' });
    const unknown = mailboxKeyOf('nobody@contoso.test');
    const cases: Array<[MailboxKey, number, string]> = [
      [current, 2, 'S2'],
      [current, 3, 'S-other'],
      [removed, 2, 'S2'],
      [unknown, 1, 'S1'],
    ];
    for (const [mailboxKey, generation, subscriptionId] of cases) {
      const heartbeat = await push(
        mailboxKey,
        generation,
        sendNotification({ subscriptionId, previousWatermark: 'W10', events: [status('W10')] }),
      );
      const withEvents = await push(
        mailboxKey,
        generation,
        sendNotification({ subscriptionId, previousWatermark: 'W10', events: [created('W11')] }),
      );
      expect([statusOf(heartbeat), statusOf(withEvents)]).toEqual(['Unsubscribe', 'Unsubscribe']);
    }
    expect(sqsTap.calls).toEqual([]);
    expect(await recordOf(current)).toMatchObject({ watermark: 'W10', subscriptionId: 'S3' });
  });
});

describe('receiver: refusals', () => {
  it('answers a forged or malformed path with a bare 403 without touching DynamoDB or SQS', async () => {
    const mailboxKey = await givenMailbox();
    dynamoTap.calls.length = 0;
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11')],
    });
    const good = callbackPath(key, mailboxKey, 2);
    const forged = callbackPath(callbackKeyFrom(randomBytes(32)), mailboxKey, 2);
    for (const path of [
      forged,
      good.replace('/2/', '/3/'),
      `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`,
      '/ews/x/1/y',
    ]) {
      const result = await push(mailboxKey, 2, body, path);
      expect(result).toMatchObject({ statusCode: 403, body: 'forbidden' });
    }
    expect(dynamoTap.calls).toEqual([]);
    expect(sqsTap.calls).toEqual([]);
  });

  it('answers a body that is not a SendNotification with 400 and a one-line reason, touching nothing', async () => {
    const mailboxKey = await givenMailbox();
    dynamoTap.calls.length = 0;
    for (const body of [
      '',
      '<html/>',
      '<!DOCTYPE x><x/>',
      sendNotification({ subscriptionId: 'S2', previousWatermark: 'W10', events: [] }).slice(0, 300),
    ]) {
      const result = await push(mailboxKey, 2, body);
      expect(result.statusCode).toBe(400);
      expect(result.body).toMatch(/^\w+: [^\n]+$/);
    }
    expect([...dynamoTap.calls, ...sqsTap.calls]).toEqual([]);
  });
});

describe('receiver: failures of ours', () => {
  it('answers 500 when SQS fails, leaves the state unchanged, and loses nothing when Exchange retries', async () => {
    const mailboxKey = await givenMailbox();
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11'), created('W12')],
    });
    sqsTap.failOn(/SendMessageBatch/);
    const failed = await push(mailboxKey, 2, body);
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain('Unsubscribe');
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W10' });
    sqsTap.heal();
    const retried = await push(mailboxKey, 2, body);
    expect(statusOf(retried)).toBe('OK');
    expect(bodies(await drain(aws.emulators.sqs, queueUrl)).map((b) => b.data.watermark)).toEqual([
      'W11',
      'W12',
    ]);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W12' });
  });

  it('answers 500 when DynamoDB fails on the write after publishing, and the retry neither loses nor doubles events', async () => {
    const mailboxKey = await givenMailbox();
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11')],
    });
    dynamoTap.failOn(/UpdateItem/);
    expect((await push(mailboxKey, 2, body)).statusCode).toBe(500);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W10' });
    dynamoTap.heal();
    expect(statusOf(await push(mailboxKey, 2, body))).toBe('OK');
    // Within SQS's de-duplication window the second publish of the same event is dropped.
    expect(bodies(await drain(aws.emulators.sqs, queueUrl)).map((b) => b.data.watermark)).toEqual(['W11']);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W11' });
  });

  it('answers 500 when the pushed-item list cannot be written, leaving the watermark for the retry', async () => {
    const mailboxKey = await givenMailbox();
    const body = sendNotification({
      subscriptionId: 'S2',
      previousWatermark: 'W10',
      events: [created('W11', 'N1')],
    });
    dynamoTap.failOn(/BatchWriteItem/);
    const failed = await push(mailboxKey, 2, body);
    expect(failed.statusCode).toBe(500);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W10' });
    dynamoTap.heal();
    expect(statusOf(await push(mailboxKey, 2, body))).toBe('OK');
    const listed = [];
    for await (const item of pushedItemList.list(mailboxKey)) listed.push(item.itemId);
    expect(listed).toEqual(['N1']);
    expect(await recordOf(mailboxKey)).toMatchObject({ watermark: 'W11' });
  });

  it('answers 500 on a heartbeat when DynamoDB is down, never Unsubscribe', async () => {
    const mailboxKey = await givenMailbox();
    dynamoTap.failOn(/.*/);
    const result = await pushFromCurrent(mailboxKey, 'W10', [status('W11')]);
    expect(result.statusCode).toBe(500);
  });
});

describe('receiver: replies are valid against the official schema', () => {
  itWithSchema('OK and Unsubscribe replies as the handler sends them', async () => {
    const mailboxKey = await givenMailbox();
    const ok = await pushFromCurrent(mailboxKey, 'W10', [status('W10')]);
    const unsubscribe = await push(
      mailboxKey,
      1,
      sendNotification({ subscriptionId: 'S1', previousWatermark: 'W1', events: [status('W1')] }),
    );
    expect([statusOf(ok), statusOf(unsubscribe)]).toEqual(['OK', 'Unsubscribe']);
    for (const reply of [ok, unsubscribe]) {
      expect(reply.headers?.['content-type']).toBe('text/xml; charset=utf-8');
      const verdict = await validateEnvelope(reply.body ?? '');
      expect(verdict.exitCode, verdict.output).toBe(0);
    }
  });
});
