/**
 * The receiver's own cost: the whole handler (authenticate, decode, classify, build CloudEvents,
 * publish, note created items, conditional write) for a notification with events, against the
 * bare SDK round trips it cannot avoid (GetItem, then SendMessageBatch alongside the pushed-item
 * BatchWriteItem, then UpdateItem) on the same emulators; a heartbeat against its one UpdateItem;
 * and what the pushed-item list adds, against the same handler without it.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DynamoPushedItemList } from '../functions/adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../functions/adapters/sqs-event-publisher.ts';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../functions/adapters/subscription-table.ts';
import { systemClock } from '../functions/core/clock.ts';
import { MemoryMetrics } from '../functions/core/telemetry.ts';
import { callbackKeyFrom, callbackPath } from '../functions/domain/callback.ts';
import { mailboxKeyOf } from '../functions/domain/mailbox-key.ts';
import { createReceiverHandler } from '../functions/receiver/http.ts';
import { ExchangePushBridgeStack } from '../infra/stack.ts';
import { startEmulators } from '../local/emulators.ts';
import { parseTemplate, provisionFromTemplate } from '../local/provision.ts';
import { callbackPush } from '../test/support/callback-push.ts';
import { type Comparison, compare, type Effort } from './harness.ts';

const EVENTS_PER_NOTIFICATION = 5;
const MESSAGES = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';

function push(subscriptionId: string, previous: number, events: number): string {
  const watermark = (n: number) => `AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQ${String(n).padStart(8, '0')}AAE=`;
  const body =
    events === 0
      ? `<t:StatusEvent><t:Watermark>${watermark(previous)}</t:Watermark></t:StatusEvent>`
      : Array.from(
          { length: events },
          (_, i) =>
            `<t:CreatedEvent><t:Watermark>${watermark(previous + i + 1)}</t:Watermark><t:TimeStamp>2026-11-21T10:00:00Z</t:TimeStamp>` +
            `<t:ItemId Id="AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgBGAAAAAAC+aOZ${previous + i}AAA=" ChangeKey="CQAAABYAAAB/ZqT+n3ytQIlGfUlUfn4a"/>` +
            '<t:ParentFolderId Id="AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgAuAAAAAAC+aOZ=" ChangeKey="AQAAAA=="/></t:CreatedEvent>',
        ).join('');
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SendNotification xmlns:m="${MESSAGES}" xmlns:t="${TYPES}">` +
    '<m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification>' +
    `<t:SubscriptionId>${subscriptionId}</t:SubscriptionId><t:PreviousWatermark>${watermark(previous)}</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>` +
    `${body}</m:Notification></m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></s:Body></s:Envelope>`
  );
}

export async function benchReceiver(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<Comparison[]> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = parseTemplate(Template.fromStack(new ExchangePushBridgeStack(app, 'Bench')).toJSON());
  const emulators = await startEmulators();
  try {
    const resources = await provisionFromTemplate(template, emulators, { prefix: 'bench' });
    const env = resources.environmentOf(resources.functionId('exchange-push-bridge receiver'));
    const tableName = env.TABLE_NAME ?? '';
    const queueUrl = env.INGEST_QUEUE_URL ?? '';
    const doc = documentClient(emulators.dynamodb);
    const key = callbackKeyFrom(randomBytes(32));
    const syncStateTable = env.SYNC_STATE_TABLE_NAME ?? '';
    const handlerDeps = {
      store: new DynamoSubscriptionStore(doc, tableName),
      pushedItemList: new DynamoPushedItemList(doc, syncStateTable),
      publisher: new SqsEventPublisher(emulators.sqs, queueUrl),
      clock: systemClock,
      callbackKey: async () => key,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      metrics: new MemoryMetrics(),
    };
    const handler = createReceiverHandler(handlerDeps);
    // Only to price the list: a receiver that notes nothing would lose deletions after a loss.
    const handlerWithoutList = createReceiverHandler({
      ...handlerDeps,
      pushedItemList: { record: async () => {} },
    });

    const mailbox = 'bench@contoso.test';
    const mailboxKey = mailboxKeyOf(mailbox);
    const watermarkOf = (n: number) => `AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQ${String(n).padStart(8, '0')}AAE=`;
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: mailboxKey,
          sk: SUBSCRIPTION_SK,
          mailbox,
          connection: 'default',
          folders: 'all',
          eventTypes: ['CreatedEvent'],
          statusFrequency: 5,
          state: 'active',
          generation: 1,
          subscriptionId: 'BENCH-SUB',
          watermark: watermarkOf(0),
          attempts: 0,
          createdAt: Date.now(),
          updatedAt: Date.now(),
        },
      }),
    );
    const path = callbackPath(key, mailboxKey, 1);
    const event = (body: string) => callbackPush(path, body);

    // The chain moves on with every call, so each handler call does the full work, never a duplicate.
    let position = 0;
    const withEvents = (receiver: typeof handler) => async () => {
      const result = await receiver(event(push('BENCH-SUB', position, EVENTS_PER_NOTIFICATION)));
      if (result.statusCode !== 200 || !result.body?.includes('>OK<'))
        throw new Error(`unexpected reply ${result.statusCode}`);
      position += EVENTS_PER_NOTIFICATION;
    };
    const handlerWithEvents = withEvents(handler);
    const handlerHeartbeat = async () => {
      const result = await handler(event(push('BENCH-SUB', position, 0)));
      if (result.statusCode !== 200) throw new Error(`unexpected reply ${result.statusCode}`);
    };
    // The same round trips, bare: the requests the handler sent for one notification, recorded
    // and replayed with fresh de-duplication ids and their own key, so the ratio is the cost of
    // the handler's own work (decode, classify, CloudEvents, expressions) on top of its I/O.
    const recorded = await recordRequests(emulators, tableName, queueUrl, () => handlerWithEvents());
    // The bare item is a copy of the real record, so DynamoDB reads and rewrites as much data.
    const { Item: real } = await doc.send(
      new GetCommand({ TableName: tableName, Key: { pk: mailboxKey, sk: SUBSCRIPTION_SK } }),
    );
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...real, pk: 'bare' } }));
    let bare = 0;
    const bareRoundTrips = async () => {
      bare++;
      await doc.send(new GetCommand({ ...recorded.get, Key: { pk: 'bare', sk: SUBSCRIPTION_SK } }));
      await Promise.all([
        emulators.sqs.send(
          new SendMessageBatchCommand({
            ...recorded.send,
            Entries: (recorded.send.Entries ?? []).map((e, i) => ({
              ...e,
              MessageGroupId: 'bare',
              MessageDeduplicationId: `bare-${bare}-${i}`,
            })),
          }),
        ),
        // The pushed-item entries the handler writes: one per created item, the same size.
        doc.send(
          new BatchWriteCommand({
            RequestItems: {
              [syncStateTable]: Array.from({ length: EVENTS_PER_NOTIFICATION }, (_, i) => ({
                PutRequest: {
                  Item: {
                    pk: 'bare',
                    sk: `item#AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgBGAAAAAAC+aOZ${bare * 10 + i}AAA=`,
                    itemId: `AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgBGAAAAAAC+aOZ${bare * 10 + i}AAA=`,
                    notedAt: Date.now(),
                    folderId: 'AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgAuAAAAAAC+aOZ=',
                  },
                },
              })),
            },
          }),
        ),
      ]);
      await bareUpdate();
    };
    const bareUpdate = () =>
      doc.send(
        new UpdateCommand({
          ...recorded.update,
          Key: { pk: 'bare', sk: SUBSCRIPTION_SK },
          // The same condition, made to hold on the bare item whatever it contains.
          ConditionExpression: `(${recorded.update.ConditionExpression}) OR attribute_exists(#lastContactAt) OR attribute_not_exists(#lastContactAt)`,
        }),
      );

    const results: Comparison[] = [];
    results.push(
      await compare({
        name: `receiver handler, notification with ${EVENTS_PER_NOTIFICATION} events`,
        baseline: 'bare GetItem + (SendMessageBatch | BatchWriteItem) + UpdateItem',
        target: 1.2,
        baselineWork: bareRoundTrips,
        candidateWork: handlerWithEvents,
        iterationsPerRound: 30,
        rounds: 21,
        effort,
        onProgress: (round, rounds) => onProgress(`  events: round ${round}/${rounds}`),
      }),
    );
    results.push(
      await compare({
        name: `receiver handler noting ${EVENTS_PER_NOTIFICATION} created items in the pushed-item list`,
        baseline: 'the same handler without the list',
        // The price of a correctness requirement, not a goal: one more DynamoDB request. On these
        // in-process emulators it cannot overlap the publish as it does against AWS.
        target: null,
        baselineWork: withEvents(handlerWithoutList),
        candidateWork: handlerWithEvents,
        iterationsPerRound: 30,
        rounds: 21,
        effort,
        onProgress: (round, rounds) => onProgress(`  pushed-item list: round ${round}/${rounds}`),
      }),
    );
    await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    results.push(
      await compare({
        name: 'receiver handler, heartbeat (StatusEvent)',
        baseline: 'bare UpdateItem',
        target: 1.2,
        baselineWork: bareUpdate,
        candidateWork: handlerHeartbeat,
        iterationsPerRound: 60,
        rounds: 21,
        effort,
        onProgress: (round, rounds) => onProgress(`  heartbeat: round ${round}/${rounds}`),
      }),
    );
    return results;
  } finally {
    await emulators.stop();
  }
}

/** Runs `work` once with SDK clients that record the input of each command the handler sends. */
async function recordRequests(
  emulators: Awaited<ReturnType<typeof startEmulators>>,
  _tableName: string,
  _queueUrl: string,
  work: () => Promise<void>,
): Promise<{
  get: GetCommand['input'];
  send: SendMessageBatchCommand['input'];
  update: UpdateCommand['input'];
}> {
  const inputs = new Map<string, unknown>();
  const record = (name: unknown, input: unknown) => inputs.set(String(name), structuredClone(input));
  const options = { step: 'initialize', name: 'bench-recorder' } as const;
  emulators.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      record(context.commandName, args.input);
      return next(args);
    },
    options,
  );
  emulators.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      record(context.commandName, args.input);
      return next(args);
    },
    options,
  );
  await work();
  emulators.dynamodb.middlewareStack.remove('bench-recorder');
  emulators.sqs.middlewareStack.remove('bench-recorder');
  const get = inputs.get('GetCommand') ?? inputs.get('GetItemCommand');
  const send = inputs.get('SendMessageBatchCommand');
  const update = inputs.get('UpdateCommand') ?? inputs.get('UpdateItemCommand');
  if (!isInput(get) || !isInput(send) || !isInput(update)) {
    throw new Error(`the handler did not make the expected calls: ${[...inputs.keys()].join(', ')}`);
  }
  return { get, send, update };
}

// biome-ignore lint/suspicious/noExplicitAny: recorded SDK inputs are replayed as they were sent
function isInput(value: unknown): value is any {
  return typeof value === 'object' && value !== null;
}
