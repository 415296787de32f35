/**
 * The receiver's Graph routes against emulated DynamoDB and SQS (real SDK, real HTTP), with the
 * table and queue the CDK app defines: validation with no AWS call, a forgery with no AWS call,
 * events in the ingest queue that validate against the published schema, lifecycle work stored
 * as string sets that the record parser reads back, and 500 when SQS fails.
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
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoPushedItemList } from '../../functions/adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../../functions/adapters/subscription-table.ts';
import { MemoryMetrics } from '../../functions/core/telemetry.ts';
import { callbackKeyFrom } from '../../functions/domain/callback.ts';
import { type MailboxKey, mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { clientStateFor } from '../../functions/graph/client-state.ts';
import { createReceiverHandler, type ReceiverHandler } from '../../functions/receiver/http.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators.ts';
import { changeItem, GRAPH_TEST_USER_ID, graphRequest, lifecycleItem } from '../support/graph-push.ts';
import { type CallTap, drain, type LocalAws, startLocalAws, tap } from '../support/local-aws.ts';
import { manualClock } from '../support/manual-clock.ts';

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validateEvent = ajv.compile<unknown>(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'events', 'bridge-event.schema.json'), 'utf8'),
  ),
);

const key = callbackKeyFrom(randomBytes(32));
const clock = manualClock();
let aws: LocalAws;
let tableName: string;
let queueUrl: string;
let dynamoTap: CallTap;
let sqsTap: CallTap;
let handler: ReceiverHandler;
let doc: ReturnType<typeof documentClient>;
let store: DynamoSubscriptionStore;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  aws = await startLocalAws();
  const env = aws.environment('receiver');
  tableName = env.TABLE_NAME ?? '';
  queueUrl = env.INGEST_QUEUE_URL ?? '';
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: aws.emulators.dynamodbEndpoint });
  const sqs = new SQSClient({ ...common, endpoint: aws.emulators.sqsEndpoint });
  dynamoTap = tap(dynamodb);
  sqsTap = tap(sqs);
  store = new DynamoSubscriptionStore(documentClient(dynamodb), tableName);
  doc = documentClient(aws.emulators.dynamodb);
  handler = createReceiverHandler({
    store,
    graphWork: store,
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

let counter = 0;
/** A watched Graph mailbox; `pinned`: its user's object id is known (every notification after its first). */
async function givenGraphMailbox(options: { pinned?: boolean } = {}): Promise<MailboxKey> {
  const mailbox = `graph${++counter}-${randomBytes(2).toString('hex')}@contoso.com`;
  const mailboxKey = mailboxKeyOf(mailbox);
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        pk: mailboxKey,
        sk: SUBSCRIPTION_SK,
        mailbox,
        connection: 'contoso-graph',
        source: 'graph',
        graph: {
          userId: mailbox,
          ...(options.pinned === false ? {} : { objectId: GRAPH_TEST_USER_ID }),
          messages: { generation: 1, subscriptionId: 'SM1', expiresAt: clock.now() + 86_400_000 },
          events: { generation: 2, subscriptionId: 'SE2', expiresAt: clock.now() + 86_400_000 },
        },
        folders: 'all',
        eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
        statusFrequency: 0,
        state: 'active',
        generation: 2,
        attempts: 0,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      },
    }),
  );
  return mailboxKey;
}

const post = async (items: unknown[]) => handler(graphRequest({ body: JSON.stringify({ value: items }) }));

describe('receiver, Graph routes, on the emulators', () => {
  it('answers validation with no AWS call at all', async () => {
    const response = await handler(
      graphRequest({ path: '/graph/lifecycle', query: 'validationToken=abc%2Bdef' }),
    );
    expect(response).toMatchObject({ statusCode: 200, body: 'abc+def' });
    expect([...dynamoTap.calls, ...sqsTap.calls]).toEqual([]);
  });

  it('refuses a forgery with 403 and no AWS call', async () => {
    const mailboxKey = await givenGraphMailbox();
    dynamoTap.calls.length = 0;
    const forged = `v1.${mailboxKey}.1.${'A'.repeat(43)}`;
    expect((await post([changeItem({ subscriptionId: 'SM1', clientState: forged })])).statusCode).toBe(403);
    expect([...dynamoTap.calls, ...sqsTap.calls]).toEqual([]);
  });

  it('publishes events that validate against the schema: one read, one send, one pushed-item list write, then 202', async () => {
    const mailboxKey = await givenGraphMailbox();
    dynamoTap.calls.length = 0;
    const response = await post([
      changeItem({ subscriptionId: 'SM1', clientState: clientStateFor(key, mailboxKey, 1), itemId: 'M1' }),
      changeItem({
        subscriptionId: 'SE2',
        clientState: clientStateFor(key, mailboxKey, 2),
        itemId: 'E1',
        changeType: 'deleted',
      }),
    ]);
    expect(response.statusCode).toBe(202);
    // The write notes M1 and forgets E1 (domain/pushed-item-list.ts), as an EWS push would.
    expect(dynamoTap.calls).toEqual(['GetItemCommand', 'BatchWriteItemCommand']);
    const messages = await drain(aws.emulators.sqs, queueUrl);
    const events = messages.map((m) => JSON.parse(m.Body ?? '{}'));
    expect(events.map((e) => e.type)).toEqual([
      'exchange-push-bridge.notification.CreatedEvent',
      'exchange-push-bridge.notification.DeletedEvent',
    ]);
    for (const event of events) expect(validateEvent(event), JSON.stringify(validateEvent.errors)).toBe(true);
    expect(messages[0]?.Attributes?.MessageGroupId ?? mailboxKey).toBe(mailboxKey);
  });

  it("the first change pins the user's object id (one more write, once); one naming another user is refused, not sent", async () => {
    const mailboxKey = await givenGraphMailbox({ pinned: false });
    const clientState = clientStateFor(key, mailboxKey, 1);
    dynamoTap.calls.length = 0;
    expect((await post([changeItem({ subscriptionId: 'SM1', clientState, itemId: 'M1' })])).statusCode).toBe(
      202,
    );
    // The record, the pin, then the pushed-item list's entry for the created item.
    expect(dynamoTap.calls).toEqual(['GetItemCommand', 'UpdateItemCommand', 'BatchWriteItemCommand']);
    expect((await store.get(mailboxKey))?.graph?.objectId).toBe(GRAPH_TEST_USER_ID);
    dynamoTap.calls.length = 0;
    const response = await post([
      changeItem({
        subscriptionId: 'SM1',
        clientState,
        itemId: 'M2',
        userId: '0b0e0000-0000-4000-8000-00000000beef',
      }),
      changeItem({ subscriptionId: 'SM1', clientState, itemId: 'M3' }),
    ]);
    expect(response.statusCode).toBe(202);
    // No second pin; the list notes M3 only (M2 was refused).
    expect(dynamoTap.calls).toEqual(['GetItemCommand', 'BatchWriteItemCommand']);
    const sent = (await drain(aws.emulators.sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '{}').subject);
    expect(sent).toEqual(['M1', 'M3']);
  });

  it('stores lifecycle work as string sets the record parser reads back; repeats add nothing', async () => {
    const mailboxKey = await givenGraphMailbox();
    const items = [
      lifecycleItem({
        subscriptionId: 'SM1',
        clientState: clientStateFor(key, mailboxKey, 1),
        lifecycleEvent: 'subscriptionRemoved',
      }),
      lifecycleItem({
        subscriptionId: 'SE2',
        clientState: clientStateFor(key, mailboxKey, 2),
        lifecycleEvent: 'missed',
      }),
    ];
    expect((await post(items)).statusCode).toBe(202);
    expect((await post(items)).statusCode).toBe(202);
    const record = await store.get(mailboxKey);
    expect(record?.graphWork).toEqual({ messages: ['recreate'], events: ['catchUp'] });
    expect(await drain(aws.emulators.sqs, queueUrl)).toEqual([]);
  });

  it('answers 500 when the ingest queue fails, so Graph retries', async () => {
    const mailboxKey = await givenGraphMailbox();
    sqsTap.failOn(/SendMessage/);
    const response = await post([
      changeItem({ subscriptionId: 'SM1', clientState: clientStateFor(key, mailboxKey, 1) }),
    ]);
    expect(response.statusCode).toBe(500);
  });
});
